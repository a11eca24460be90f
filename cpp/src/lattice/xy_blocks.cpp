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
        ao[j] = xy_baoa_cs(th[j], om[j], ta[j], static_cast<Real>(xi[j]), c, cb[j], sb[j]);
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

// Torques of sites 1 .. L - 2 of a line, whose left and right neighbours need no wrap.
template <class Real>
void line_interior(const Real* __restrict__ cl, const Real* __restrict__ sl, Real* __restrict__ t,
                   const XYLine<Real>& l)
{
    const Real *c0 = l.C + l.adj[0], *c1 = l.C + l.adj[1], *c2 = l.C + l.adj[2], *c3 = l.C + l.adj[3];
    const Real *s0 = l.S + l.adj[0], *s1 = l.S + l.adj[1], *s2 = l.S + l.adj[2], *s3 = l.S + l.adj[3];
    const Real w0 = l.wgt[0], w1 = l.wgt[1], w2 = l.wgt[2], w3 = l.wgt[3], J = l.J, h = l.h;
#pragma GCC ivdep  // τ never overlaps C or S
    for (std::int64_t x = 1; x + 1 < l.L; ++x) {
        const Real sc = xy_neighbour_sum(cl[x + 1], cl[x - 1], c0[x], c1[x], c2[x], c3[x], w0, w1, w2, w3);
        const Real ss = xy_neighbour_sum(sl[x + 1], sl[x - 1], s0[x], s1[x], s2[x], s3[x], w0, w1, w2, w3);
        t[x] = xy_torque(cl[x], sl[x], sc, ss, J, h);
    }
}

template <class Real>
void torque_line(const XYLine<Real>& l)
{
    const Real* cl = l.C + l.base;
    const Real* sl = l.S + l.base;
    Real* t = l.tau + l.base;
    const auto edge = [&](std::int64_t x, std::int64_t left, std::int64_t right) {
        const std::int64_t* a = l.adj;
        const Real* w = l.wgt;
        const Real sc = xy_neighbour_sum(cl[right], cl[left], l.C[a[0] + x], l.C[a[1] + x], l.C[a[2] + x],
                                         l.C[a[3] + x], w[0], w[1], w[2], w[3]);
        const Real ss = xy_neighbour_sum(sl[right], sl[left], l.S[a[0] + x], l.S[a[1] + x], l.S[a[2] + x],
                                         l.S[a[3] + x], w[0], w[1], w[2], w[3]);
        t[x] = xy_torque(cl[x], sl[x], sc, ss, l.J, l.h);
    };
    edge(0, l.L - 1, 1);
    line_interior(cl, sl, t, l);
    edge(l.L - 1, l.L - 2, 0);
    if (l.omega) {
        Real* om = l.omega + l.base;
        for (std::int64_t x = 0; x < l.L; ++x) om[x] += l.k * t[x];
    }
}

}  // namespace

void xy_baoa_block(const XYBlock<double>& b) { baoa_block(b); }
void xy_baoa_block(const XYBlock<float>& b) { baoa_block(b); }
void xy_torque_line(const XYLine<double>& l) { torque_line(l); }
void xy_torque_line(const XYLine<float>& l) { torque_line(l); }

}  // namespace symbreak::cpu::SYMBREAK_ISA
