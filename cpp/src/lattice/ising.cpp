// CPU driver of the checkerboard Ising rules: OpenMP over rows of one colour, each row vectorised.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "symbreak/lattice/ising_cpu.hpp"

namespace symbreak::cpu {

namespace detail {

// One row of one colour. Runtime dispatch: GCC builds AVX-512, AVX2 and baseline x86-64 clones and picks
// one at load time, so the wheel runs on any x86-64 and uses the vector units it finds.
#if defined(__x86_64__) && !defined(SYMBREAK_NO_CLONES)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void update_row(const std::int8_t* __restrict__ same, const std::int8_t* const* __restrict__ adj, int n_adj, int q,
                std::int64_t W, std::int8_t* __restrict__ self, std::int8_t* __restrict__ n_sum,
                std::uint32_t* __restrict__ words, std::int64_t first_block, std::int64_t n_blocks, int colour,
                IsingAlgorithm algorithm, std::uint64_t step, PhiloxKey key, const IsingFlipTable& table,
                std::int64_t word_offset)
{
    for (std::int64_t b = 0; b < n_blocks; ++b) {
        const Philox4x32 x = philox4x32_10(ising_counter(first_block + b, colour, algorithm, step), key);
        for (int lane = 0; lane < 4; ++lane) words[4 * b + lane] = x.v[lane];
    }
    // Neighbour sum: column j and j ± 1 of the same row (other colour), column j of the adjacent rows.
    for (std::int64_t j = 0; j < W; ++j) n_sum[j] = same[j];
    for (int a = 0; a < n_adj; ++a)
        for (std::int64_t j = 0; j < W; ++j) n_sum[j] += adj[a][j];
    if (q) {
        for (std::int64_t j = 0; j + 1 < W; ++j) n_sum[j] += same[j + 1];
        n_sum[W - 1] += same[0];
    } else {
        n_sum[0] += same[W - 1];
        for (std::int64_t j = 1; j < W; ++j) n_sum[j] += same[j - 1];
    }
    const std::uint32_t* w = words + word_offset;
    for (std::int64_t j = 0; j < W; ++j) self[j] = ising_update(self[j], n_sum[j], w[j], table);
}

}  // namespace detail

void ising_sweeps(const CheckerboardGeometry& g, std::int8_t* spins, const IsingFlipTable* tables, std::int64_t n,
                  IsingAlgorithm algorithm, std::uint64_t seed, std::uint64_t step)
{
    const std::int64_t P = g.sites_per_colour(), W = g.W;
    const PhiloxKey key = philox_key(seed);
#pragma omp parallel if (g.sites() >= 8192)
    {
        std::vector<std::uint32_t> words(W + 8);
        std::vector<std::int8_t> n_sum(W);
        for (std::int64_t sweep = 0; sweep < n; ++sweep) {
            for (int colour = 0; colour < 2; ++colour) {
                std::int8_t* self_base = spins + colour * P;
                const std::int8_t* other = spins + (1 - colour) * P;
#pragma omp for schedule(static)
                for (std::int64_t r = 0; r < g.rows; ++r) {
                    std::int64_t adj_rows[4];
                    const int n_adj = g.adjacent_rows(r, adj_rows);
                    const std::int8_t* adj[4];
                    for (int a = 0; a < n_adj; ++a) adj[a] = other + adj_rows[a] * W;
                    const std::int64_t k0 = r * W;
                    const std::int64_t first_block = k0 / 4, last_block = (k0 + W - 1) / 4;
                    detail::update_row(other + k0, adj, n_adj, colour ^ g.row_parity(r), W, self_base + k0,
                                       n_sum.data(), words.data(), first_block, last_block - first_block + 1, colour, algorithm,
                                       step + static_cast<std::uint64_t>(sweep), key, tables[sweep],
                                       k0 - 4 * first_block);
                }
            }
        }
    }
}

void ising_totals(const CheckerboardGeometry& g, const std::int8_t* spins, std::int64_t out[2])
{
    const std::int64_t P = g.sites_per_colour();
    std::int64_t magnet = 0, bonds = 0;
#pragma omp parallel for schedule(static) reduction(+ : magnet, bonds) if (g.sites() >= 8192)
    for (std::int64_t r = 0; r < g.rows; ++r) {
        std::int64_t m = 0, b = 0;
        for (std::int64_t j = 0; j < g.W; ++j) {
            const std::int64_t k = r * g.W + j;
            m += spins[k] + spins[P + k];
            b += spins[k] * ising_neighbour_sum(g, spins + P, 0, r, j);  // every bond joins colour 0 to colour 1
        }
        magnet += m;
        bonds += b;
    }
    out[0] = magnet;
    out[1] = bonds;
}

void ising_random_init(const CheckerboardGeometry& g, std::int8_t* spins, std::uint64_t seed)
{
    const PhiloxKey key = philox_key(seed);
    const std::int64_t P = g.sites_per_colour();
#pragma omp parallel for schedule(static) if (g.sites() >= 8192)
    for (std::int64_t k = 0; k < 2 * P; ++k) {
        const int colour = static_cast<int>(k / P);
        const std::int64_t r = (k % P) / g.W, j = (k % P) % g.W;
        const std::int64_t site = g.logical_index(colour, r, j);
        const Philox4x32 x = philox4x32_10(philox_counter(site / 4, 0, RngId::ising_init, 0), key);
        spins[k] = (x.v[site % 4] >> 31) ? 1 : -1;
    }
}

void checkerboard_pack(const CheckerboardGeometry& g, const std::int8_t* logical, std::int8_t* storage)
{
    const std::int64_t P = g.sites_per_colour();
#pragma omp parallel for schedule(static) if (g.sites() >= 65536)
    for (std::int64_t site = 0; site < g.sites(); ++site) {
        int colour;
        std::int64_t r, j;
        g.storage_of(site, colour, r, j);
        storage[colour * P + r * g.W + j] = logical[site];
    }
}

void checkerboard_unpack(const CheckerboardGeometry& g, const std::int8_t* storage, std::int8_t* logical)
{
    const std::int64_t P = g.sites_per_colour();
#pragma omp parallel for schedule(static) if (g.sites() >= 65536)
    for (std::int64_t site = 0; site < g.sites(); ++site) {
        int colour;
        std::int64_t r, j;
        g.storage_of(site, colour, r, j);
        logical[site] = storage[colour * P + r * g.W + j];
    }
}

}  // namespace symbreak::cpu
