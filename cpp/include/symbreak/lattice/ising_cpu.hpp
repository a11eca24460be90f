// CPU drivers of the Ising rules (cpp/src/lattice/ising.cpp, wolff.cpp). Spins in checkerboard storage
// (geometry.hpp). Thread count never changes a result: each site's random word is a function of
// (seed, step, colour, site) only, and all reductions are integer sums.
#pragma once
#include <cstdint>

#include "symbreak/lattice/geometry.hpp"
#include "symbreak/lattice/ising.hpp"

namespace symbreak::cpu {

// Replicas: `replicas` lattices stored one after another (2 P bytes each). Replica r's site k of a colour
// draws the Philox numbers of index r P + k (init: r N + logical site), so replica 0 of an ensemble is exactly
// the single lattice of the same seed and every replica has its own stream.

// `n` sweeps of every replica; sweep i uses tables[i] and Philox step `step + i`.
void ising_sweeps(const CheckerboardGeometry& g, std::int8_t* spins, const IsingFlipTable* tables, std::int64_t n,
                  IsingAlgorithm algorithm, std::uint64_t seed, std::uint64_t step, std::int64_t replicas = 1);

// The instruction set of the row kernel this CPU runs ("x86-64-v4", "x86-64-v3" or "x86-64").
const char* ising_kernel_isa();

// Σ s_i and Σ_<ij> s_i s_j of replica r in out[2 r] and out[2 r + 1].
void ising_totals(const CheckerboardGeometry& g, const std::int8_t* spins, std::int64_t* out,
                  std::int64_t replicas = 1);

// `n` Wolff sweeps (h = 0, J > 0) of `clusters_per_sweep` single-cluster flips each; bonds join aligned
// neighbours with probability 1 - exp(-2 J / T_i). Replicas run in parallel, replica r drawing words
// r 2^34, r 2^34 + 1, ... of the sweep's stream (kWolffWordsPerReplica). Returns the number of spins flipped.
constexpr std::uint64_t kWolffWordsPerReplica = std::uint64_t{1} << 34;
std::int64_t ising_wolff(const CheckerboardGeometry& g, std::int8_t* spins, const double* temperatures,
                         std::int64_t n, std::int64_t clusters_per_sweep, double J, std::uint64_t seed,
                         std::uint64_t step, std::int64_t replicas = 1);

// Random ±1 start keyed by (seed, logical site), so the same seed gives the same lattice on every backend.
void ising_random_init(const CheckerboardGeometry& g, std::int8_t* spins, std::uint64_t seed,
                       std::int64_t replicas = 1);

// Between C-order logical arrays and checkerboard storage.
void checkerboard_pack(const CheckerboardGeometry& g, const std::int8_t* logical, std::int8_t* storage);
void checkerboard_unpack(const CheckerboardGeometry& g, const std::int8_t* storage, std::int8_t* logical);

}  // namespace symbreak::cpu
