// Built with -march=x86-64-v4, -v3 and plain x86-64 into namespaces of those names (SYMBREAK_ISA); the loops
// have no calls, so each build vectorises them at its width.
#include "xy_blocks.hpp"

namespace symbreak::cpu::SYMBREAK_ISA {
namespace {

// Restrict-qualified parameters: the arrays never overlap, and GCC honours restrict on parameters (not on
// local pointers), so the loop vectorises without runtime overlap tests.
template <class Real>
void baoa_loop(Real* __restrict__ th, Real* __restrict__ om, const Real* __restrict__ ta, Real* __restrict__ cb,
               Real* __restrict__ sb, Real* __restrict__ ao, const double* __restrict__ xi, std::int64_t len,
               XYStep c)
{
#pragma GCC ivdep  // the same promise for the double instantiation, where GCC drops the restrict information
    for (std::int64_t j = 0; j < len; ++j) {
        ao[j] = xy_baoa(th[j], om[j], ta[j], static_cast<Real>(xi[j]), c);
        double sn, cn;
        poly_sincos(static_cast<double>(th[j]), sn, cn);
        cb[j] = static_cast<Real>(cn);
        sb[j] = static_cast<Real>(sn);
    }
}

template <class Real>
void baoa_block(const XYBlock<Real>& b)
{
    const XYStep c = b.step;  // a copy: stores to Real arrays could alias a reference
    const std::int64_t call0 = b.begin / 2, calls = (b.end + 1) / 2 - call0;  // sites 2k, 2k + 1 share call k
    double* z = b.z;
    if (c.sigma > 0) {
        Philox4x32* w = b.words;
        for (std::int64_t j = 0; j < calls; ++j)
            w[j] = philox4x32_10(philox_counter(static_cast<std::uint64_t>(call0 + j), 0, RngId::xy_langevin,
                                                b.counter_step), b.key);
        for (std::int64_t j = 0; j < calls; ++j) xy_normal_pair(w[j], z[2 * j], z[2 * j + 1]);
    } else {
        for (std::int64_t j = 0; j < 2 * calls; ++j) z[j] = 0.0;
    }
    baoa_loop(b.theta + b.begin, b.omega + b.begin, b.tau + b.begin, b.C + b.begin, b.S + b.begin, b.after_o,
              z + (b.begin - 2 * call0), b.end - b.begin, c);  // z offset +1 when starting on a call's 2nd site
}

}  // namespace

void xy_baoa_block(const XYBlock<double>& b) { baoa_block(b); }
void xy_baoa_block(const XYBlock<float>& b) { baoa_block(b); }

}  // namespace symbreak::cpu::SYMBREAK_ISA
