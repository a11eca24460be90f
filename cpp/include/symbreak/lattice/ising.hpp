// Ising model, H = -J Σ_<ij> s_i s_j - h Σ_i s_i, spins s = ±1 stored as int8.
//
// Flipping spin s with neighbour sum n costs ΔE = 2 s (J n + h). Both single-site rules are "flip with
// probability P(s, n)":
//   Metropolis:          P = min(1, exp(-ΔE / T))
//   heat bath (Glauber): P = 1 / (1 + exp(ΔE / T))  (i.e. set s = +1 with probability 1/(1 + e^{-2(Jn+h)/T}))
// P is tabulated on the host for the (at most 2 × 13) possible (s, n) pairs as an exact 32-bit-resolution
// threshold Q = round(P · 2^32) split into 16-bit parts, Q = 65536 hi + lo with hi ≤ 65535, lo ≤ 65536.
// A site compares its own 16-bit Philox half-word u with hi: flip if u < hi; if u == hi (probability
// 2^-16) a second, independent 16-bit word v decides: flip if v < lo. Then P(flip) = Q / 2^32 exactly as with
// a 32-bit comparison, while the common case costs half the random bits. Same table + same words give
// bit-identical spins on CPU and GPU.
#pragma once
#include <cmath>
#include <cstdint>

#include "symbreak/core/hd.hpp"
#include "symbreak/lattice/geometry.hpp"
#include "symbreak/rng/philox.hpp"

namespace symbreak {

enum class IsingAlgorithm : int { metropolis = 0, heat_bath = 1, wolff = 2 };

constexpr int kIsingMaxZ = 6;                       // coordination number of the cubic lattice
constexpr int kIsingTableRow = 2 * kIsingMaxZ + 1;  // n in [-6, 6]
constexpr int kIsingCategories = 2 * kIsingTableRow;

// Index of (s, n) in the flip table.
SYMBREAK_HD int ising_category(std::int8_t s, int n) { return (s > 0) * kIsingTableRow + n + kIsingMaxZ; }

struct IsingFlipTable {
    std::uint16_t hi[kIsingCategories];
    std::uint32_t lo[kIsingCategories];
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
            const double q = std::floor(std::fmin(std::fmax(p, 0.0), 1.0) * 4294967296.0 + 0.5);
            const auto Q = static_cast<std::uint64_t>(q);  // in [0, 2^32]
            const int c = up * kIsingTableRow + n + kIsingMaxZ;
            t.hi[c] = static_cast<std::uint16_t>(Q >> 16 > 65535 ? 65535 : Q >> 16);
            t.lo[c] = static_cast<std::uint32_t>(Q - (std::uint64_t{t.hi[c]} << 16));
        }
    }
    return t;
}

SYMBREAK_HD RngId ising_rng_id(IsingAlgorithm algorithm)
{
    return algorithm == IsingAlgorithm::metropolis ? RngId::ising_metropolis : RngId::ising_heat_bath;
}

// Counter of Philox call `call` of colour `colour` at sweep `step`: colour-c site k (flat offset in its
// colour's storage) uses half-word philox_group_half(k) of these calls.
SYMBREAK_HD Philox4x32 ising_counter(std::uint64_t call, int colour, IsingAlgorithm algorithm, std::uint64_t step)
{
    return philox_counter(call, static_cast<std::uint32_t>(colour), ising_rng_id(algorithm), step);
}

// Where a site's tie-breaking word comes from (drawn only when its half-word equals the table's hi).
struct IsingTieStream {
    PhiloxKey key;
    int colour;
    IsingAlgorithm algorithm;
    std::uint64_t step;

    SYMBREAK_HD std::uint32_t operator()(std::int64_t k) const
    {
        const std::uint32_t substep = static_cast<std::uint32_t>(colour) | (static_cast<std::uint32_t>(algorithm) << 1);
        return philox4x32_10(philox_counter(static_cast<std::uint64_t>(k), substep, RngId::ising_tie, step), key)
                   .v[0] &
               0xFFFFu;
    }
};

// The single-site rule shared by the CPU driver and the CUDA kernel: site k of its colour, spin s, neighbour
// sum n, 16-bit word u.
SYMBREAK_HD std::int8_t ising_update(std::int8_t s, int n, std::uint16_t u, const IsingFlipTable& t,
                                     const IsingTieStream& tie, std::int64_t k)
{
    const int c = ising_category(s, n);
    const bool flip = u < t.hi[c] || (u == t.hi[c] && tie(k) < t.lo[c]);
    return flip ? static_cast<std::int8_t>(-s) : s;
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
