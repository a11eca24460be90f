// XY rotors: H = -J Σ_<ij> cos(θ_i - θ_j) - h Σ_i cos θ_i + ½ I Σ_i ω_i², angles θ, angular velocities ω.
//
// Langevin dynamics by BAOAB (Leimkuhler & Matthews): with torque τ_i = -∂H/∂θ_i,
//   B: ω += (dt/2) τ / I     A: θ += (dt/2) ω     O: ω ← c₁ ω + √((1 - c₁²) T / I) ξ,  c₁ = e^{-γ dt}
//   A: θ += (dt/2) ω         (new torques)        B: ω += (dt/2) τ / I
// γ = 0 and T = 0 make O the identity and the step the symplectic velocity Verlet (NVE). ξ ~ N(0, 1) from
// Philox keyed by (seed, step) and countered by the site's global index e = replica · N + site, the same on
// every backend (xy_normal gives site e's normal). float64: call e / 2, lane e % 2 of xy_normal_pair (53-bit
// uniforms). float32 computes in float throughout: call e / 4, words 2 ((e / 2) % 2) and 2 ((e / 2) % 2) + 1,
// lane e % 2 of xy_normal_pair_float (24-bit uniforms, so |ξ| <= 5.77: the normal tail beyond, 8e-9 of the
// mass, is cut), and float sincos, log and wrap (within ~2 float ulp).
// The transcendental functions of a step (Box–Muller, cos θ and sin θ) are core/poly_math.hpp's, not libm's:
// the CPU loops vectorise, and a CUDA kernel can reproduce the same numbers.
#pragma once
#include <cmath>
#include <cstdint>

#include "symbreak/core/poly_math.hpp"

#include "symbreak/core/hd.hpp"
#include "symbreak/lattice/geometry.hpp"
#include "symbreak/rng/philox.hpp"

namespace symbreak {

// One step's coefficients, computed on the host from (dt, γ, T, I, J, h).
struct XYStep {
    double half_dt, half_dt_over_I, c1, sigma, J, h;
};

inline XYStep xy_step_coefficients(double dt, double gamma, double T, double I, double J, double h)
{
    const double c1 = std::exp(-gamma * dt);
    return {0.5 * dt, 0.5 * dt / I, c1, std::sqrt((1.0 - c1 * c1) * T / I), J, h};
}

// Torque from the site's (cos θ, sin θ) and the sums of its neighbours' cos θ_j and sin θ_j:
// Σ_j sin(θ - θ_j) = sin θ Σ_j cos θ_j - cos θ Σ_j sin θ_j, so one sincos per site serves all of its bonds.
template <class Real>
SYMBREAK_HD Real xy_torque(Real c, Real s, Real sum_c, Real sum_s, Real J, Real h)
{
    return -J * (s * sum_c - c * sum_s) - h * s;
}

// uniform_double(hi, lo) (the same 53 bits times 2^-53) with no integer-to-double conversion, which SSE2/AVX2
// cannot vectorise for 64-bit integers: each 26/27-bit half becomes a double by placing it under 2^52.
SYMBREAK_HD double xy_uniform(std::uint32_t hi, std::uint32_t lo)
{
    const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 21) ^ (lo >> 11);
    const std::uint64_t top = (bits >> 26) | 0x4330000000000000ull, low = (bits & 0x3FFFFFFull) | 0x4330000000000000ull;
    double a, b;
    __builtin_memcpy(&a, &top, sizeof a);
    __builtin_memcpy(&b, &low, sizeof b);
    return ((a - 4503599627370496.0) * 67108864.0 + (b - 4503599627370496.0)) * 1.1102230246251565e-16;
}

// Two standard normals from one Philox call: Box–Muller on 53-bit uniforms, u1 in (0, 1].
SYMBREAK_HD void xy_normal_pair(Philox4x32 x, double& z0, double& z1)
{
    const double u1 = 1.0 - xy_uniform(x.v[0], x.v[1]);
    const double u2 = xy_uniform(x.v[2], x.v[3]);
    const double radius = sqrt(-2.0 * poly_log(u1));
    double s, c;
    poly_sincos(6.283185307179586 * u2, s, c);
    z0 = radius * c;
    z1 = radius * s;
}

// Two standard normals in float from two Philox words (the float32 rule): Box–Muller on 24-bit uniforms, u1 in
// [2^-24, 1]. The words become floats through int32 (exact below 2^24), which every vector ISA converts.
SYMBREAK_HD void xy_normal_pair_float(std::uint32_t a, std::uint32_t b, float& z0, float& z1)
{
    const float u1 = 1.0f - static_cast<float>(static_cast<std::int32_t>(a >> 8)) * 5.9604644775390625e-8f;
    const float u2 = static_cast<float>(static_cast<std::int32_t>(b >> 8)) * 5.9604644775390625e-8f;
    const float radius = sqrtf(-2.0f * poly_log(u1));
    float s, c;
    poly_sincos(6.28318531f * u2, s, c);
    z0 = radius * c;
    z1 = radius * s;
}

// Sites served by one Philox call: two in float64, four in float32.
template <class Real>
constexpr int xy_sites_per_call = sizeof(Real) == sizeof(float) ? 4 : 2;

// The normals of the xy_sites_per_call<Real> consecutive sites one Philox call serves, into z.
SYMBREAK_HD void xy_call_normals(const Philox4x32& x, double* z) { xy_normal_pair(x, z[0], z[1]); }
SYMBREAK_HD void xy_call_normals(const Philox4x32& x, float* z)
{
    xy_normal_pair_float(x.v[0], x.v[1], z[0], z[1]);
    xy_normal_pair_float(x.v[2], x.v[3], z[2], z[3]);
}

// Site e's normal of step `step` (the per-site form; the CPU loops and the CUDA kernel compute whole calls).
template <class Real>
SYMBREAK_HD Real xy_normal(PhiloxKey key, std::uint64_t step, std::uint64_t e)
{
    constexpr int per = xy_sites_per_call<Real>;
    Real z[per];
    xy_call_normals(philox4x32_10(philox_counter(e / per, 0, RngId::xy_langevin, step), key), z);
    return z[e % per];
}

// Wrap into [-π, π) so that long runs keep full angular precision (floor exact in Real).
template <class Real>
SYMBREAK_HD Real xy_wrap(Real t)
{
    const Real two_pi = static_cast<Real>(6.283185307179586);
    return t - two_pi * poly_floor((t + static_cast<Real>(3.141592653589793)) / two_pi);
}

// B A O A of one site (with the torque of the previous step); returns ω right after O.
template <class Real>
SYMBREAK_HD Real xy_baoa(Real& theta, Real& omega, Real tau, Real xi, XYStep c)  // c by value: scalars in registers
{
    omega += static_cast<Real>(c.half_dt_over_I) * tau;
    theta += static_cast<Real>(c.half_dt) * omega;
    omega = static_cast<Real>(c.c1) * omega + static_cast<Real>(c.sigma) * xi;
    const Real after_o = omega;
    theta = xy_wrap(theta + static_cast<Real>(c.half_dt) * omega);
    return after_o;
}

// cos θ and sin θ of one site in the lattice's precision (float sincos for float32): the torque pass's inputs.
template <class Real>
SYMBREAK_HD void xy_cos_sin(Real theta, Real& c, Real& s)
{
    poly_sincos(theta, s, c);
}

// The first pass of a step for one site: B A O A, then cos and sin of the new angle; returns ω right after O.
template <class Real>
SYMBREAK_HD Real xy_baoa_cs(Real& theta, Real& omega, Real tau, Real xi, XYStep c, Real& cos_out, Real& sin_out)
{
    const Real after_o = xy_baoa(theta, omega, tau, xi, c);
    xy_cos_sin(theta, cos_out, sin_out);
    return after_o;
}

// The neighbours' cos (or sin) sum of a site in the one order every backend adds them: right + left along the
// last axis, then the Adj neighbouring lines (xy_adjacent_lines: 0 in 1D, 2 in 2D, 4 in 3D) in slot order.
template <int Adj, class Real>
SYMBREAK_HD Real xy_neighbour_sum(Real right, Real left, Real v0, Real v1, Real v2, Real v3)
{
    Real sum = right + left;
    if constexpr (Adj >= 2) {
        sum += v0;
        sum += v1;
    }
    if constexpr (Adj == 4) {
        sum += v2;
        sum += v3;
    }
    return sum;
}

// The lines neighbouring line `line` (lines run along the last axis, numbered in C order within a replica):
// slots 0, 1 along the middle axis (+1, -1), slots 2, 3 along the first axis. Returns how many a lattice of this
// dimension has (0, 2 or 4); the other slots repeat `line`.
SYMBREAK_HD int xy_adjacent_lines(const PeriodicGrid& g, std::int64_t line, std::int64_t adj[4])
{
    const std::int64_t q0 = line / g.n[1], q1 = line - q0 * g.n[1];
    for (int a = 0; a < 4; ++a) adj[a] = line;
    if (g.dim >= 2) {
        adj[0] = q0 * g.n[1] + (q1 + 1 == g.n[1] ? 0 : q1 + 1);
        adj[1] = q0 * g.n[1] + (q1 == 0 ? g.n[1] - 1 : q1 - 1);
    }
    if (g.dim == 3) {
        adj[2] = (q0 + 1 == g.n[0] ? 0 : q0 + 1) * g.n[1] + q1;
        adj[3] = (q0 == 0 ? g.n[0] - 1 : q0 - 1) * g.n[1] + q1;
    }
    return g.dim == 3 ? 4 : g.dim == 2 ? 2 : 0;
}

// The closing B with the new torque.
template <class Real>
SYMBREAK_HD void xy_b(Real& omega, Real tau, const XYStep& c)
{
    omega += static_cast<Real>(c.half_dt_over_I) * tau;
}

// Per-replica sums the observables come from (one bond per site and positive axis).
struct XYTotals {
    double cos_sum = 0, sin_sum = 0, bond_sum = 0, omega2 = 0;

    SYMBREAK_HD void add(const XYTotals& o)
    {
        cos_sum += o.cos_sum;
        sin_sum += o.sin_sum;
        bond_sum += o.bond_sum;
        omega2 += o.omega2;
    }
};

// The observables are summed in double whatever the state's precision, from cos θ and sin θ by poly_sincos (so
// a CPU loop of them vectorises and a GPU computes the same bits).
template <class Real>
SYMBREAK_HD void xy_cos_sin_double(Real theta, double& c, double& s)
{
    poly_sincos(static_cast<double>(theta), s, c);
}

// A site's bonds to its Dim neighbours at +1 along each axis (nc, ns: their cos and sin in axis order, the last
// axis last): Σ_k cos(θ - θ_k) = Σ_k (cos θ cos θ_k + sin θ sin θ_k). Each bond is counted once, from its site at -1.
template <int Dim>
SYMBREAK_HD double xy_bonds(double c, double s, const double* nc, const double* ns)
{
    double bond = 0;
    for (int k = 0; k < Dim; ++k) bond += c * nc[k] + s * ns[k];
    return bond;
}

// Site s's terms added to t, one site at a time (the CUDA reduction; the CPU computes the same terms by lines).
template <class Real>
SYMBREAK_HD void xy_accumulate(const PeriodicGrid& g, const Real* theta, const Real* omega, std::int64_t s,
                               XYTotals& t)
{
    double c, sn, nc[3], ns[3];
    xy_cos_sin_double(theta[s], c, sn);
    for (int a = g.first_axis(), k = 0; a < 3; ++a, ++k) xy_cos_sin_double(theta[g.shift(s, a, 1)], nc[k], ns[k]);
    t.cos_sum += c;
    t.sin_sum += sn;
    t.bond_sum += g.dim == 3 ? xy_bonds<3>(c, sn, nc, ns) : g.dim == 2 ? xy_bonds<2>(c, sn, nc, ns)
                                                                       : xy_bonds<1>(c, sn, nc, ns);
    t.omega2 += static_cast<double>(omega[s]) * omega[s];
}

}  // namespace symbreak
