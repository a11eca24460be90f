// Pair potentials of the particle simulator: one rule per potential, shared by the CPU kernels and CUDA.
//
// Each potential is a small struct with
//   eval(r2, fr, e):  fr = -V'(r) / r (so the force on i from j is fr · (r_i - r_j)) and e = V(r),
// valid for 0 < r2 < r_cut². The caller applies the cutoff. All constants are prepared on the host by
// make(); the structs are trivially copyable so they can be kernel arguments.
#pragma once
#include <cmath>

#include "symbreak/core/hd.hpp"

namespace symbreak {

enum class PotentialKind : int { lj = 0, lj_force_shifted = 1, morse = 2, soft = 3 };

// User parameters of every potential (unused ones are ignored). In LJ units: ε, σ, r_cut; Morse adds the
// stiffness a and the minimum r0 (depth ε).
struct PairParams {
    PotentialKind kind = PotentialKind::lj;
    double epsilon = 1, sigma = 1, r_cut = 2.5, morse_a = 5, morse_r0 = 1;
};

// Lennard-Jones truncated and shifted: V = 4ε[(σ/r)¹² - (σ/r)⁶] - V_LJ(r_c) (LAMMPS lj/cut with
// pair_modify shift yes). The force jumps at r_c; energy is continuous.
template <class T>
struct LJ {
    T sigma2, eps4, eps48, shift;

    static LJ make(const PairParams& p)
    {
        const double s6 = std::pow(p.sigma / p.r_cut, 6);
        return {T(p.sigma * p.sigma), T(4 * p.epsilon), T(48 * p.epsilon), T(4 * p.epsilon * (s6 * s6 - s6))};
    }
    SYMBREAK_HD void eval(T r2, T& fr, T& e) const
    {
        const T inv_r2 = T(1) / r2, s2 = sigma2 * inv_r2, s6 = s2 * s2 * s2;  // one division per pair
        fr = eps48 * s6 * (s6 - T(0.5)) * inv_r2;
        e = eps4 * s6 * (s6 - T(1)) - shift;
    }
};

// Force-shifted LJ: V_fs(r) = V(r) - V(r_c) - (r - r_c) V'(r_c). Force and energy both go to zero at r_c,
// which makes NVE energy conservation clean (the energy-conservation tests use it).
template <class T>
struct LJForceShifted {
    T sigma2, eps4, eps48, rc, e_c, f_c;  // e_c = V(r_c), f_c = -V'(r_c)

    static LJForceShifted make(const PairParams& p)
    {
        const double s6 = std::pow(p.sigma / p.r_cut, 6);
        const double e_c = 4 * p.epsilon * (s6 * s6 - s6);
        const double f_c = 48 * p.epsilon * s6 * (s6 - 0.5) / p.r_cut;  // -V'(r_c)
        return {T(p.sigma * p.sigma), T(4 * p.epsilon), T(48 * p.epsilon), T(p.r_cut), T(e_c), T(f_c)};
    }
    SYMBREAK_HD void eval(T r2, T& fr, T& e) const
    {
#if !defined(__CUDA_ARCH__)
        using std::sqrt;
#endif
        const T r = sqrt(r2), inv_r = T(1) / r, s2 = sigma2 * inv_r * inv_r, s6 = s2 * s2 * s2;
        fr = (eps48 * s6 * (s6 - T(0.5)) * inv_r - f_c) * inv_r;
        e = eps4 * s6 * (s6 - T(1)) - e_c + (r - rc) * f_c;
    }
};

// Morse, shifted to zero at r_c: V = ε[e^{-2a(r-r0)} - 2e^{-a(r-r0)}] - V(r_c). Finite at r = 0.
template <class T>
struct Morse {
    T eps, a, r0, shift;

    static Morse make(const PairParams& p)
    {
        const double x = std::exp(-p.morse_a * (p.r_cut - p.morse_r0));
        return {T(p.epsilon), T(p.morse_a), T(p.morse_r0), T(p.epsilon * (x * x - 2 * x))};
    }
    SYMBREAK_HD void eval(T r2, T& fr, T& e) const
    {
#if !defined(__CUDA_ARCH__)
        using std::exp;
        using std::sqrt;
#endif
        const T r = sqrt(r2), x = exp(-a * (r - r0));
        fr = T(2) * eps * a * x * (x - T(1)) / r;
        e = eps * x * (x - T(2)) - shift;
    }
};

// Soft core with short-range attraction: with q = 1 - r²/r_c², V = ε(16q⁴ - 8q²). V(0) = 8ε (a soft core:
// overlapping particles are pushed apart, never blow up), minimum -ε at r = r_c/√2, and V and the force
// vanish at r_c. No square root and no division: the cheapest potential here.
template <class T>
struct Soft {
    T eps, inv_rc2;

    static Soft make(const PairParams& p) { return {T(p.epsilon), T(1 / (p.r_cut * p.r_cut))}; }
    SYMBREAK_HD void eval(T r2, T& fr, T& e) const
    {
        const T q = T(1) - r2 * inv_rc2, q2 = q * q;
        fr = eps * inv_rc2 * q * (T(128) * q2 - T(32));  // -dV/dr / r = (dV/dq)(2/r_c²)
        e = eps * q2 * (T(16) * q2 - T(8));
    }
};

// Calls f(potential) with the struct of kind p.kind: the one place a runtime kind becomes a type.
template <class T, class F>
decltype(auto) with_potential(const PairParams& p, F&& f)
{
    switch (p.kind) {
        case PotentialKind::lj: return f(LJ<T>::make(p));
        case PotentialKind::lj_force_shifted: return f(LJForceShifted<T>::make(p));
        case PotentialKind::morse: return f(Morse<T>::make(p));
        case PotentialKind::soft: break;
    }
    return f(Soft<T>::make(p));
}

}  // namespace symbreak
