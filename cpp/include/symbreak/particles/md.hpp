// Molecular dynamics rules for one particle, shared by the CPU drivers and CUDA, and the argument blocks of
// the force and neighbour-list kernels.
//
// Integrators (velocity v, position x, force f, mass m, one step of length dt):
//   verlet    B A A B:          v += dt/2 f/m; x += dt v; (new f); v += dt/2 f/m          (NVE, symplectic)
//   langevin  B A O A B:        O: v ← c₁ v + √((1 - c₁²) T/m) ξ, c₁ = e^{-γ dt}            (BAOAB, NVT)
//   damping   verlet with a pair force F_ij = -γ_c (1 - r/r_c)² (r̂·v_ij) r̂ (no noise): momentum is
//             conserved and energy is lost in collisions only; v_ij is taken at the half step (as DPD-VV).
// ξ ~ N(0, 1) from Philox keyed by (seed, step) and countered by the particle's tag t (its index in the
// user's order; calls (t, 0) and (t, 1) of normal2_double give components 0-1 and 2), so a trajectory does
// not depend on the internal sort order, on threads or on the device.
#pragma once
#include <cmath>
#include <cstdint>

#include "symbreak/core/hd.hpp"
#include "symbreak/particles/pair.hpp"
#include "symbreak/rng/philox.hpp"

namespace symbreak {

enum class MDIntegrator : int { verlet = 0, langevin = 1, damping = 2 };

// Per-step coefficients, computed on the host.
struct MDStep {
    double half_dt, dt, half_dt_over_m, c1, sigma;  // sigma = √((1 - c₁²) T / m)
};

inline MDStep md_step_coefficients(MDIntegrator kind, double dt, double gamma, double T, double mass)
{
    const double c1 = kind == MDIntegrator::langevin ? std::exp(-gamma * dt) : 1.0;
    const double sigma = kind == MDIntegrator::langevin ? std::sqrt((1 - c1 * c1) * T / mass) : 0.0;
    return {0.5 * dt, dt, 0.5 * dt / mass, c1, sigma};
}

// Position wrapped into [0, L) after a move shorter than L.
template <class T>
SYMBREAK_HD T md_wrap(T x, T L)
{
    x = x >= L ? x - L : x;
    x = x < T(0) ? x + L : x;
    return x >= L ? T(0) : x;  // x = -tiny + L can round to L
}

// Minimum image of a difference of two wrapped coordinates (|d| < L).
template <class T>
SYMBREAK_HD T md_min_image(T d, T L, T half_L)
{
    d = d > half_L ? d - L : d;
    return d < -half_L ? d + L : d;
}

// How far one particle moved: since the last list build (squared, minimum image) and within this step
// (squared, before wrapping); and whether its position and velocity are still finite.
template <class T>
struct MDMove {
    T since_build, this_step;
    bool finite;
};

// The first half of a step for particle i, the same on every backend: B, then A (verlet, damping) or A O A
// (langevin, with the particle's Gaussian kicks from Philox), then the position wrapped into the box.
template <class T, int D, bool kLangevin>
SYMBREAK_HD MDMove<T> md_first_half(T* const* x, T* const* v, const T* const* f, const T* const* xref,
                                    std::int64_t i, std::uint64_t tag, const MDStep& c, PhiloxKey key,
                                    std::uint64_t step, const T* L, const T* half_L)
{
#if !defined(__CUDA_ARCH__)
    using std::isfinite;
#endif
    const T h = static_cast<T>(c.half_dt_over_m), half_dt = static_cast<T>(c.half_dt);
    const T dt = static_cast<T>(c.dt), c1 = static_cast<T>(c.c1);
    double z[4] = {0, 0, 0, 0};
    if constexpr (kLangevin) {
        for (int k = 0; 2 * k < D; ++k)
            normal2_double(philox4x32_10(philox_counter(tag, k, RngId::particles_langevin, step), key), z[2 * k],
                           z[2 * k + 1]);
    }
    MDMove<T> m{0, 0, true};
    for (int d = 0; d < D; ++d) {
        T vi = v[d][i] + h * f[d][i], xi = x[d][i];
        if constexpr (kLangevin) {
            xi += half_dt * vi;
            vi = c1 * vi + static_cast<T>(c.sigma * z[d]);
            xi += half_dt * vi;
        } else {
            xi += dt * vi;
        }
        m.this_step += (xi - x[d][i]) * (xi - x[d][i]);
        m.finite = m.finite && isfinite(xi) && isfinite(vi);
        xi = md_wrap(xi, L[d]);
        v[d][i] = vi;
        x[d][i] = xi;
        const T dx = md_min_image(xi - xref[d][i], L[d], half_L[d]);
        m.since_build += dx * dx;
    }
    return m;
}

// Neighbour lists are kept in blocks of kBlock consecutive particles (in the cell-sorted order), stored
// column-major: entry k of the particle in lane l of block b is nbr[(b · stride + k) · kBlock + l]. A kernel
// then walks one block in lock-step, one lane per particle (a SIMD lane on the CPU, a thread on the GPU), and
// each particle still sums its own neighbours in list order: the sum does not depend on the vector width.
constexpr int kMDBlock = 16;

template <class T, int D>
struct MDForceArgs {
    const T* x[D];
    const T* v[D];      // read only for collisional damping
    T* f[D];
    const std::int32_t* nbr;
    const std::int32_t* count;  // neighbours of each particle
    const std::int32_t* kmax;   // longest list in each block
    std::int64_t stride, n;
    T L[D], half_L[D], rc2, inv_rc, damping;
    double* energy;  // per block: Σ V (each pair once); nullptr: not measured
    double* virial;  // per block: Σ r·f (each pair once)
};

template <class T, int D>
struct MDListArgs {
    const T* x[D];
    const std::int32_t* cell_start;  // particles of cell c are [cell_start[c], cell_start[c + 1])
    const std::int32_t* cell_of;     // cell of each (sorted) particle
    // The cells within reach of cell c, as runs of consecutive cell ids [runs[2r], runs[2r + 1]) for
    // r in [run_start[c], run_start[c + 1]): in the sorted order a run is one contiguous range of particles.
    const std::int32_t* run_start;
    const std::int32_t* runs;
    std::int32_t* nbr;
    std::int32_t* count;
    std::int32_t* kmax;
    std::int64_t stride, n;
    T L[D], half_L[D], rl2;
    double* min_r2;  // per block: the closest pair seen (overlap check)
};

}  // namespace symbreak
