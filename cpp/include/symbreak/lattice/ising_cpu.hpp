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

// Σ s_i and Σ_<ij> s_i s_j.
void ising_totals(const CheckerboardGeometry& g, const std::int8_t* spins, std::int64_t out[2]);

// `n` Wolff sweeps (h = 0): single-cluster flips until at least N spins have flipped, per sweep. Bonds are
// activated with probability 1 - exp(-2 J / T_i). Returns the number of clusters flipped.
std::int64_t ising_wolff(const CheckerboardGeometry& g, std::int8_t* spins, const double* temperatures,
                         std::int64_t n, double J, std::uint64_t seed, std::uint64_t step);

// Random ±1 start keyed by (seed, logical site), so the same seed gives the same lattice on every backend.
void ising_random_init(const CheckerboardGeometry& g, std::int8_t* spins, std::uint64_t seed);

// Between C-order logical arrays and checkerboard storage.
void checkerboard_pack(const CheckerboardGeometry& g, const std::int8_t* logical, std::int8_t* storage);
void checkerboard_unpack(const CheckerboardGeometry& g, const std::int8_t* storage, std::int8_t* logical);

}  // namespace symbreak::cpu
