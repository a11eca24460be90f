// Ising model, H = -J Σ_<ij> s_i s_j - h Σ_i s_i, spins s = ±1 stored as int8.
//
// Flipping spin s with neighbour sum n costs ΔE = 2 s (J n + h). Both single-site rules are "flip with
// probability P(s, n)":
//   Metropolis:         P = min(1, exp(-ΔE / T))
//   heat bath (Glauber): P = 1 / (1 + exp(ΔE / T))   (equivalently: set s = +1 with prob. 1/(1 + e^{-2(Jn+h)/T}))
// P is tabulated on the host for the (at most 2 × 13) possible (s, n) pairs as a 31-bit threshold, and the
// update is one integer comparison with a Philox word: the same table and the same words give bit-identical
// spins on CPU and GPU.
#pragma once
#include <cmath>
#include <cstdint>

#include "symbreak/core/hd.hpp"
#include "symbreak/lattice/geometry.hpp"
#include "symbreak/rng/philox.hpp"

namespace symbreak {

enum class IsingAlgorithm : int { metropolis = 0, heat_bath = 1, wolff = 2 };

constexpr int kIsingMaxZ = 6;                     // coordination number of the cubic lattice
constexpr int kIsingTableRow = 2 * kIsingMaxZ + 1;  // n in [-6, 6]

struct IsingFlipTable {
    // threshold[(s > 0) * kIsingTableRow + n + kIsingMaxZ]: flip iff (word >> 1) < threshold. Flat, so
    // that the CPU loop vectorises as one gather.
    std::uint32_t threshold[2 * kIsingTableRow];
};

inline IsingFlipTable ising_flip_table(IsingAlgorithm algorithm, double T, double J, double h)
{
    IsingFlipTable t{};
    for (int up = 0; up < 2; ++up) {
        const double s = up ? 1.0 : -1.0;
        for (int n = -kIsingMaxZ; n <= kIsingMaxZ; ++n) {
            const double x = 2.0 * s * (J * n + h) / T;  // ΔE / T
            const double p = (algorithm == IsingAlgorithm::metropolis) ? (x <= 0.0 ? 1.0 : std::exp(-x))
                                                                      : 1.0 / (1.0 + std::exp(x));
            t.threshold[up * kIsingTableRow + n + kIsingMaxZ] = probability_threshold(p);
        }
    }
    return t;
}

// The single-site rule shared by the CPU driver and the CUDA kernel.
SYMBREAK_HD std::int8_t ising_update(std::int8_t s, int n, std::uint32_t word, const IsingFlipTable& t)
{
    const bool flip = bernoulli(word, t.threshold[(s > 0) * kIsingTableRow + n + kIsingMaxZ]);
    return flip ? static_cast<std::int8_t>(-s) : s;
}

SYMBREAK_HD RngId ising_rng_id(IsingAlgorithm algorithm)
{
    return algorithm == IsingAlgorithm::metropolis ? RngId::ising_metropolis : RngId::ising_heat_bath;
}

// Philox counter of call `call` for colour `colour` at sweep `step`. Colour-c site k (flat offset in its
// colour's storage) uses word philox_group_word(k) of these calls.
SYMBREAK_HD Philox4x32 ising_counter(std::uint64_t call, int colour, IsingAlgorithm algorithm, std::uint64_t step)
{
    return philox_counter(call, static_cast<std::uint32_t>(colour), ising_rng_id(algorithm), step);
}

// Neighbour sum of site (c, r, j), reading colour 1 - c.
SYMBREAK_HD int ising_neighbour_sum(const CheckerboardGeometry& g, const std::int8_t* other, int colour,
                                    std::int64_t r, std::int64_t j)
{
    std::int64_t nb[6];
    const int z = g.neighbours(colour, r, j, nb);
    int sum = 0;
    for (int k = 0; k < z; ++k) sum += other[nb[k]];
    return sum;
}

}  // namespace symbreak
