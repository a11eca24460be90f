// CPU drivers of the XY rotors (cpp/src/lattice/xy.cpp). R replicas of N sites are stored replica-major; every
// random number is keyed by the site's global index, and every sum goes over fixed blocks in a fixed order, so
// results do not depend on the thread count.
#pragma once
#include <cstdint>

#include "symbreak/lattice/xy.hpp"

namespace symbreak::cpu {

// n BAOAB steps; step i uses steps[i] and Philox step step0 + i. tau holds the torques of the current angles on
// entry and exit. post_o (R entries, may be null) receives Σ ω² right after the O part of the last step.
template <class Real>
void xy_langevin(const PeriodicGrid& g, int replicas, Real* theta, Real* omega, Real* tau, const XYStep* steps,
                 std::int64_t n, std::uint64_t seed, std::uint64_t step0, double* post_o);

// τ = -∂H/∂θ for every site.
template <class Real>
void xy_torques(const PeriodicGrid& g, int replicas, const Real* theta, Real* tau, double J, double h);

// Per-replica totals (out has R entries).
template <class Real>
void xy_totals(const PeriodicGrid& g, int replicas, const Real* theta, const Real* omega, XYTotals* out);

// n Metropolis sweeps at temperature T (the reference sampler for equilibrium averages; ω untouched): each
// site in C order proposes θ + δ (2u - 1) and accepts with min(1, e^{-ΔH/T}). Replicas run in parallel.
// Returns the acceptance rate.
template <class Real>
double xy_metropolis(const PeriodicGrid& g, int replicas, Real* theta, std::int64_t n, double T, double J, double h,
                     double delta, std::uint64_t seed, std::uint64_t step0);

}  // namespace symbreak::cpu
