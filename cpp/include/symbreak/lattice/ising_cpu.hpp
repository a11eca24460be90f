// CPU drivers of the Ising rules (cpp/src/lattice/ising.cpp, wolff.cpp). Spins in checkerboard storage
// (geometry.hpp). Thread count never changes a result: each site's random word is a function of
// (seed, step, colour, site) only, and all reductions are integer sums.
#pragma once
#include <cstdint>

#include "symbreak/lattice/geometry.hpp"
#include "symbreak/lattice/ising.hpp"

namespace symbreak::cpu {

// `n` sweeps; sweep i uses tables[i] and Philox step `step + i`.
void ising_sweeps(const CheckerboardGeometry& g, std::int8_t* spins, const IsingFlipTable* tables, std::int64_t n,
                  IsingAlgorithm algorithm, std::uint64_t seed, std::uint64_t step);

// The instruction set of the row kernel this CPU runs ("x86-64-v4", "x86-64-v3" or "x86-64").
const char* ising_kernel_isa();

// Σ s_i and Σ_<ij> s_i s_j.
void ising_totals(const CheckerboardGeometry& g, const std::int8_t* spins, std::int64_t out[2]);

// `n` Wolff sweeps (h = 0, J > 0) of `clusters_per_sweep` single-cluster flips each; bonds join aligned
// neighbours with probability 1 - exp(-2 J / T_i). Returns the number of spins flipped.
std::int64_t ising_wolff(const CheckerboardGeometry& g, std::int8_t* spins, const double* temperatures,
                         std::int64_t n, std::int64_t clusters_per_sweep, double J, std::uint64_t seed,
                         std::uint64_t step);

// Random ±1 start keyed by (seed, logical site), so the same seed gives the same lattice on every backend.
void ising_random_init(const CheckerboardGeometry& g, std::int8_t* spins, std::uint64_t seed);

// Between C-order logical arrays and checkerboard storage.
void checkerboard_pack(const CheckerboardGeometry& g, const std::int8_t* logical, std::int8_t* storage);
void checkerboard_unpack(const CheckerboardGeometry& g, const std::int8_t* storage, std::int8_t* logical);

}  // namespace symbreak::cpu
