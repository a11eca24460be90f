// XY rotors: H = -J Σ_<ij> cos(θ_i - θ_j) - h Σ_i cos θ_i + ½ I Σ_i ω_i², angles θ, angular velocities ω.
//
// Langevin dynamics by BAOAB (Leimkuhler & Matthews): with torque τ_i = -∂H/∂θ_i,
//   B: ω += (dt/2) τ / I     A: θ += (dt/2) ω     O: ω ← c₁ ω + √((1 - c₁²) T / I) ξ,  c₁ = e^{-γ dt}
//   A: θ += (dt/2) ω         (new torques)        B: ω += (dt/2) τ / I
// γ = 0 and T = 0 make O the identity and the step the symplectic velocity Verlet (NVE). ξ ~ N(0, 1) from
// Philox keyed by (seed, step) and countered by the site's global index e = replica · N + site (call e / 2,
// lane e % 2 of xy_normal_pair), the same on every backend; float32 lattices round the same float64 normals.
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

// Wrap into [-π, π) so that long runs keep full angular precision (floor exact in double for either Real).
template <class Real>
SYMBREAK_HD Real xy_wrap(Real t)
{
    const Real two_pi = static_cast<Real>(6.283185307179586);
    const double turns = poly_floor(static_cast<double>((t + static_cast<Real>(3.141592653589793)) / two_pi));
    return t - two_pi * static_cast<Real>(turns);
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

// cos θ and sin θ of one site, rounded to the lattice's precision: the C and S arrays of the torque pass.
template <class Real>
SYMBREAK_HD void xy_cos_sin(Real theta, Real& c, Real& s)
{
    double sn, cn;
    poly_sincos(static_cast<double>(theta), sn, cn);
    c = static_cast<Real>(cn);
    s = static_cast<Real>(sn);
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
// last axis, then the four neighbouring lines' slots (xy_adjacent_lines) times their weights. Adding 0 · v for
// a missing slot keeps 1D, 2D and 3D one expression (and one rounding sequence).
template <class Real>
SYMBREAK_HD Real xy_neighbour_sum(Real right, Real left, Real v0, Real v1, Real v2, Real v3, Real w0, Real w1, Real w2,
                                  Real w3)
{
    Real sum = right + left;
    sum += w0 * v0;
    sum += w1 * v1;
    sum += w2 * v2;
    sum += w3 * v3;
    return sum;
}

// Starts of the lines neighbouring line `line` (along the last axis) of the replica stored from `offset`:
// slots 0, 1 along the middle axis (+1, -1), slots 2, 3 along the first axis. A slot a lower-dimensional
// lattice lacks repeats the line itself with weight 0.
SYMBREAK_HD void xy_adjacent_lines(const PeriodicGrid& g, std::int64_t offset, std::int64_t line, std::int64_t adj[4],
                                   int wgt[4])
{
    const std::int64_t L = g.n[2], q0 = line / g.n[1], q1 = line - q0 * g.n[1], self = offset + line * L;
    for (int a = 0; a < 4; ++a) {
        adj[a] = self;
        wgt[a] = 0;
    }
    if (g.dim >= 2) {
        adj[0] = offset + (q0 * g.n[1] + (q1 + 1 == g.n[1] ? 0 : q1 + 1)) * L;
        adj[1] = offset + (q0 * g.n[1] + (q1 == 0 ? g.n[1] - 1 : q1 - 1)) * L;
        wgt[0] = wgt[1] = 1;
    }
    if (g.dim == 3) {
        adj[2] = offset + ((q0 + 1 == g.n[0] ? 0 : q0 + 1) * g.n[1] + q1) * L;
        adj[3] = offset + ((q0 == 0 ? g.n[0] - 1 : q0 - 1) * g.n[1] + q1) * L;
        wgt[2] = wgt[3] = 1;
    }
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

template <class Real>
SYMBREAK_HD void xy_accumulate(const PeriodicGrid& g, const Real* theta, const Real* omega, std::int64_t s,
                               XYTotals& t)
{
#if !defined(__CUDA_ARCH__)
    using std::cos;
    using std::sin;
#endif
    const double th = theta[s];
    t.cos_sum += cos(th);
    t.sin_sum += sin(th);
    for (int a = g.first_axis(); a < 3; ++a) t.bond_sum += cos(th - static_cast<double>(theta[g.shift(s, a, 1)]));
    t.omega2 += static_cast<double>(omega[s]) * omega[s];
}

}  // namespace symbreak
