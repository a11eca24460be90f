// CPU driver of the checkerboard Ising rules: OpenMP over rows of one colour, each row vectorised.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "ising_rows.hpp"
#include "symbreak/lattice/ising_cpu.hpp"

namespace symbreak::cpu {

namespace {

using RowKernel = void (*)(const IsingRowBatch&);

// The widest instruction set this CPU runs; all variants compute identical spins.
RowKernel row_kernel()
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return x86_64_v4::ising_update_rows;
    if (__builtin_cpu_supports("x86-64-v3")) return x86_64_v3::ising_update_rows;
#endif
    return x86_64_v1::ising_update_rows;
}

}  // namespace

const char* ising_kernel_isa()
{
    const RowKernel k = row_kernel();
    return k == x86_64_v4::ising_update_rows ? "x86-64-v4" : k == x86_64_v3::ising_update_rows ? "x86-64-v3" : "x86-64";
}

void ising_sweeps(const CheckerboardGeometry& g, std::int8_t* spins, const IsingFlipTable* tables, std::int64_t n,
                  IsingAlgorithm algorithm, std::uint64_t seed, std::uint64_t step)
{
    static const RowKernel kernel = row_kernel();
    const std::int64_t W = g.W;
    // Rows go in batches of >= 2048 sites so the Philox groups (64 words) wasted at batch edges stay few.
    const std::int64_t batch_rows = std::max<std::int64_t>(1, 2048 / W);
    const std::int64_t batches = (g.rows + batch_rows - 1) / batch_rows;
    const PhiloxKey key = philox_key(seed);
#pragma omp parallel if (g.sites() >= 8192)
    {
        std::vector<std::uint32_t> words(static_cast<std::size_t>(batch_rows * W + 128));
        std::vector<std::int8_t> n_sum(static_cast<std::size_t>(W));
        for (std::int64_t sweep = 0; sweep < n; ++sweep) {
            for (int colour = 0; colour < 2; ++colour) {
#pragma omp for schedule(static)
                for (std::int64_t i = 0; i < batches; ++i) {
                    const std::int64_t r0 = i * batch_rows, r1 = std::min(g.rows, r0 + batch_rows);
                    kernel({&g, spins, colour, r0, r1, &tables[sweep], algorithm,
                            step + static_cast<std::uint64_t>(sweep), key, words.data(), n_sum.data()});
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
