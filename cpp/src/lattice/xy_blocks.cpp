// Built with -march=x86-64-v4, -v3 and plain x86-64 into namespaces of those names (SYMBREAK_ISA); the loops
// have no calls, so each build vectorises them at its width.
#include "xy_blocks.hpp"

#include <algorithm>

#include "symbreak/rng/philox_simd.hpp"


namespace symbreak::cpu::SYMBREAK_ISA {
namespace {

constexpr std::int64_t kLanes = SYMBREAK_LANES;

// Restrict-qualified parameters: the arrays never overlap, and GCC honours restrict on parameters (not on
// local pointers), so the loop vectorises without runtime overlap tests.
template <class Real>
void baoa_loop(Real* __restrict__ th, Real* __restrict__ om, const Real* __restrict__ ta, Real* __restrict__ cb,
               Real* __restrict__ sb, Real* __restrict__ ao, const Real* __restrict__ xi, std::int64_t len,
               XYStep c)
{
#pragma GCC ivdep  // the same promise for the double instantiation, where GCC drops the restrict information
    for (std::int64_t j = 0; j < len; ++j) {
        ao[j] = xy_baoa_cs(th[j], om[j], ta[j], xi[j], c, cb[j], sb[j]);
    }
}

// The words of Philox calls call0 .. call0 + calls - 1 in four planes (plane k holds word k of every call, so
// the normal loops load whole vectors): philox_lanes computes kLanes calls at once, from a multiple of kLanes
// (call0 - first of them is returned). Scratch: 4 (calls + 2 kLanes) words.
std::int64_t philox_planes(std::uint32_t* __restrict__ w, std::int64_t call0, std::int64_t calls, std::int64_t stride,
                           std::uint64_t step, PhiloxKey key)
{
    using u32 = simd::Vec<SYMBREAK_LANES>::u32;
    const std::int64_t first = call0 / kLanes * kLanes;
    for (std::int64_t g = first; g < call0 + calls; g += kLanes) {
        const Philox4x32 c = philox_counter(static_cast<std::uint64_t>(g), 0, RngId::xy_langevin, step);
        u32 x[4];
        simd::philox_lanes<SYMBREAK_LANES>(c.v[0], c.v[1], c.v[2], c.v[3], key, x);
        for (int k = 0; k < 4; ++k) __builtin_memcpy(w + k * stride + (g - first), &x[k], sizeof(x[k]));
    }
    return call0 - first;
}

// Normals of `calls` consecutive Philox calls from their word planes: two per call in double, four in float.
template <class Real>
void normals(const std::uint32_t* __restrict__ w0, const std::uint32_t* __restrict__ w1,
             const std::uint32_t* __restrict__ w2, const std::uint32_t* __restrict__ w3, Real* __restrict__ z,
             std::int64_t calls)
{
    for (std::int64_t j = 0; j < calls; ++j)
        xy_call_normals({{w0[j], w1[j], w2[j], w3[j]}}, z + xy_sites_per_call<Real> * j);
}

template <class Real>
void baoa_block(const XYBlock<Real>& b)
{
    constexpr std::int64_t per = xy_sites_per_call<Real>;
    const XYStep c = b.step;  // a copy: stores to Real arrays could alias a reference
    const std::int64_t call0 = b.begin / per, calls = (b.end + per - 1) / per - call0;  // site e is in call e / per
    Real* z = b.z;
    if (c.sigma > 0) {
        auto* w = reinterpret_cast<std::uint32_t*>(b.words);
        const std::int64_t stride = calls + 2 * kLanes;
        const std::int64_t off = philox_planes(w, call0, calls, stride, b.counter_step, b.key);
        normals(w + off, w + stride + off, w + 2 * stride + off, w + 3 * stride + off, z, calls);
    } else {
        for (std::int64_t j = 0; j < per * calls; ++j) z[j] = 0;
    }
    baoa_loop(b.theta + b.begin, b.omega + b.begin, b.tau + b.begin, b.C, b.S, b.after_o,
              z + (b.begin - per * call0), b.end - b.begin, c);  // offset when starting inside a call
}

// Torques of sites 1 .. L - 2 of a line, whose left and right neighbours need no wrap, from its Adj neighbouring
// lines (0 in 1D, 2 in 2D, 4 in 3D), with the closing B (ω += k τ) in the same loop when om is given.
template <int Adj, bool B, class Real>
void line_interior(const Real* __restrict__ cl, const Real* __restrict__ sl, Real* __restrict__ t,
                   Real* __restrict__ om, const XYLine<Real>& l)
{
    const Real *c0 = l.c[0], *c1 = l.c[1], *c2 = l.c[2], *c3 = l.c[3];
    const Real *s0 = l.s[0], *s1 = l.s[1], *s2 = l.s[2], *s3 = l.s[3];
    const Real J = l.J, h = l.h, k = l.k;
#pragma GCC ivdep  // τ and ω never overlap C or S
    for (std::int64_t x = 1; x + 1 < l.L; ++x) {
        const Real sc = xy_neighbour_sum<Adj>(cl[x + 1], cl[x - 1], c0[x], c1[x], c2[x], c3[x]);
        const Real ss = xy_neighbour_sum<Adj>(sl[x + 1], sl[x - 1], s0[x], s1[x], s2[x], s3[x]);
        const Real tau = xy_torque(cl[x], sl[x], sc, ss, J, h);
        t[x] = tau;
        if constexpr (B) om[x] += k * tau;
    }
}

// Sites 0 and L - 1 (the wrap along the line), then the interior.
template <int Adj, class Real>
void torque_line_adj(const XYLine<Real>& l)
{
    const Real *cl = l.cl, *sl = l.sl;
    Real* t = l.tau;
    Real* om = l.omega;
    const auto edge = [&](std::int64_t x, std::int64_t left, std::int64_t right) {
        const Real sc = xy_neighbour_sum<Adj>(cl[right], cl[left], l.c[0][x], l.c[1][x], l.c[2][x], l.c[3][x]);
        const Real ss = xy_neighbour_sum<Adj>(sl[right], sl[left], l.s[0][x], l.s[1][x], l.s[2][x], l.s[3][x]);
        t[x] = xy_torque(cl[x], sl[x], sc, ss, l.J, l.h);
        if (om) om[x] += l.k * t[x];
    };
    edge(0, l.L - 1, 1);
    if (om)
        line_interior<Adj, true>(cl, sl, t, om, l);
    else
        line_interior<Adj, false>(cl, sl, t, om, l);
    edge(l.L - 1, l.L - 2, 0);
}

template <class Real>
void torque_line(const XYLine<Real>& l)
{
    if (l.adj == 4)
        torque_line_adj<4>(l);
    else if (l.adj == 2)
        torque_line_adj<2>(l);
    else
        torque_line_adj<0>(l);
}

// cos θ and sin θ (double) of n angles: a plain loop of stores, which vectorises.
template <class Real>
void cos_sin_loop(const Real* __restrict__ th, std::int64_t n, double* __restrict__ c, double* __restrict__ s)
{
#pragma GCC ivdep
    for (std::int64_t j = 0; j < n; ++j) xy_cos_sin_double(th[j], c[j], s[j]);
}

// The neighbours' values in xy_bonds' order: the up lines' (u0, u1: Dim - 1 of them), then `along`.
template <int Dim>
void next_values(const double* u0, const double* u1, std::int64_t j, double along, double* out)
{
    out[0] = Dim > 1 ? u0[j] : along;
    out[1] = Dim > 2 ? u1[j] : along;
    out[2] = along;
}

// Bonds of the sites of a segment of n, site j's neighbour along the line being j + 1 (the last site's: ce, se)
// and its up lines' values at j.
template <int Dim>
void bonds_loop(const double* __restrict__ c, const double* __restrict__ s, const double* __restrict__ cu0,
                const double* __restrict__ su0, const double* __restrict__ cu1, const double* __restrict__ su1,
                std::int64_t n, double ce, double se, double* __restrict__ b)
{
    double nc[3], ns[3];
#pragma GCC ivdep
    for (std::int64_t j = 0; j + 1 < n; ++j) {
        next_values<Dim>(cu0, cu1, j, c[j + 1], nc);
        next_values<Dim>(su0, su1, j, s[j + 1], ns);
        b[j] = xy_bonds<Dim>(c[j], s[j], nc, ns);
    }
    next_values<Dim>(cu0, cu1, n - 1, ce, nc);
    next_values<Dim>(su0, su1, n - 1, se, ns);
    b[n - 1] = xy_bonds<Dim>(c[n - 1], s[n - 1], nc, ns);
}

// Σ f(j) over j < n in eight lanes, then the lanes in order, then the rest.
template <class F>
double lane_sum(std::int64_t n, F f)
{
    double acc[8] = {};
    std::int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; ++l) acc[l] += f(j + l);
    double sum = 0;
    for (double a : acc) sum += a;
    for (; j < n; ++j) sum += f(j);
    return sum;
}

template <int Dim, class Real>
XYTotals totals_block(const XYTotalsBlock<Real>& blk)
{
    const PeriodicGrid& g = blk.grid;
    const std::int64_t L = g.n[2], n = blk.x1 - blk.x0, lines = blk.q1 - blk.q0;
    double* C = blk.scratch;  // the block's own cos and sin, line by line
    double* S = C + lines * n;
    double* halo = S + lines * n;  // cos, sin of up to two neighbouring lines outside the block
    double* B = halo + 4 * n;
    const auto line_theta = [&](std::int64_t q) { return blk.theta + q * L + blk.x0; };
    for (std::int64_t l = 0; l < lines; ++l) cos_sin_loop(line_theta(blk.q0 + l), n, C + l * n, S + l * n);
    const std::int64_t after = blk.x1 == L ? 0 : blk.x1;  // the site after the segment along its line
    XYTotals t;
    for (std::int64_t l = 0; l < lines; ++l) {
        const std::int64_t q = blk.q0 + l;
        std::int64_t adj[4];
        xy_adjacent_lines(g, q, adj);  // +1 along the middle axis in slot 0, along the first in slot 2
        const std::int64_t up[2] = {Dim == 3 ? adj[2] : adj[0], adj[0]};
        const double* cu[2] = {nullptr, nullptr};
        const double* su[2] = {nullptr, nullptr};
        for (int k = 0; k + 1 < Dim; ++k) {
            if (up[k] >= blk.q0 && up[k] < blk.q1) {
                cu[k] = C + (up[k] - blk.q0) * n;
                su[k] = S + (up[k] - blk.q0) * n;
            } else {
                cu[k] = halo + 2 * k * n;
                su[k] = halo + (2 * k + 1) * n;
                cos_sin_loop(line_theta(up[k]), n, halo + 2 * k * n, halo + (2 * k + 1) * n);
            }
        }
        const double *c = C + l * n, *s = S + l * n;
        double ce, se;
        if (after >= blk.x0 && after < blk.x1) {
            ce = c[after - blk.x0];
            se = s[after - blk.x0];
        } else {
            xy_cos_sin_double(blk.theta[q * L + after], ce, se);
        }
        bonds_loop<Dim>(c, s, cu[0], su[0], cu[1], su[1], n, ce, se, B);
        const Real* om = blk.omega + q * L + blk.x0;
        t.add({lane_sum(n, [&](std::int64_t j) { return c[j]; }), lane_sum(n, [&](std::int64_t j) { return s[j]; }),
               lane_sum(n, [&](std::int64_t j) { return B[j]; }),
               lane_sum(n, [&](std::int64_t j) { return static_cast<double>(om[j]) * om[j]; })});
    }
    return t;
}

template <class Real>
XYTotals totals_block(const XYTotalsBlock<Real>& b)
{
    return b.grid.dim == 3 ? totals_block<3>(b) : b.grid.dim == 2 ? totals_block<2>(b) : totals_block<1>(b);
}

}  // namespace

void xy_baoa_block(const XYBlock<double>& b) { baoa_block(b); }
void xy_baoa_block(const XYBlock<float>& b) { baoa_block(b); }
void xy_torque_line(const XYLine<double>& l) { torque_line(l); }
void xy_torque_line(const XYLine<float>& l) { torque_line(l); }
XYTotals xy_totals_block(const XYTotalsBlock<double>& b) { return totals_block(b); }
XYTotals xy_totals_block(const XYTotalsBlock<float>& b) { return totals_block(b); }

}  // namespace symbreak::cpu::SYMBREAK_ISA
