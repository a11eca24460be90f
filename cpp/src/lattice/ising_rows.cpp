// Built with -march=x86-64-v4, -v3 and plain x86-64 into namespaces of those names (SYMBREAK_ISA).
#include "ising_rows.hpp"

#include "symbreak/rng/philox_simd.hpp"

#if defined(__AVX512F__)
#define SYMBREAK_LANES 16
#elif defined(__AVX2__)
#define SYMBREAK_LANES 8
#else
#define SYMBREAK_LANES 4
#endif

namespace symbreak::cpu::SYMBREAK_ISA {

void ising_update_rows(const IsingRowBatch& b)
{
    const CheckerboardGeometry& g = *b.g;
    const std::int64_t P = g.sites_per_colour(), W = g.W;
    std::int8_t* __restrict__ self = b.spins + b.colour * P;
    const std::int8_t* __restrict__ other = b.spins + (1 - b.colour) * P;
    std::int8_t* __restrict__ n_sum = b.n_sum;
    const IsingFlipTable table = *b.table;

    const std::int64_t k_begin = b.r0 * W, k_end = b.r1 * W;
    const std::int64_t g0 = k_begin / 64, g1 = (k_end + 63) / 64;
    simd::philox_groups<SYMBREAK_LANES>(b.words, static_cast<std::uint64_t>(g0), g1 - g0,
                                        static_cast<std::uint32_t>(b.colour), ising_rng_id(b.algorithm), b.step,
                                        b.key);

    for (std::int64_t r = b.r0; r < b.r1; ++r) {
        const std::uint32_t* __restrict__ w = b.words + (r * W - 64 * g0);
        const std::int8_t* __restrict__ same = other + r * W;
        std::int64_t adj_rows[4];
        const int n_adj = g.adjacent_rows(r, adj_rows);
        // Neighbour sum: columns j and j +- 1 of the same row, column j of the adjacent rows (geometry.hpp).
        for (std::int64_t j = 0; j < W; ++j) n_sum[j] = same[j];
        for (int a = 0; a < n_adj; ++a) {
            const std::int8_t* __restrict__ row = other + adj_rows[a] * W;
            for (std::int64_t j = 0; j < W; ++j) n_sum[j] += row[j];
        }
        if (b.colour ^ g.row_parity(r)) {
            for (std::int64_t j = 0; j + 1 < W; ++j) n_sum[j] += same[j + 1];
            n_sum[W - 1] += same[0];
        } else {
            n_sum[0] += same[W - 1];
            for (std::int64_t j = 1; j < W; ++j) n_sum[j] += same[j - 1];
        }
        std::int8_t* __restrict__ s = self + r * W;
        for (std::int64_t j = 0; j < W; ++j) s[j] = ising_update(s[j], n_sum[j], w[j], table);
    }
}

}  // namespace symbreak::cpu::SYMBREAK_ISA
