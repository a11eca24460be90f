// CPU driver of the checkerboard Ising rules: OpenMP over rows of one colour, each row vectorised.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "../core/isa.hpp"
#include "ising_rows.hpp"
#include "symbreak/lattice/ising_cpu.hpp"

namespace symbreak::cpu {

namespace {

// The per-ISA row kernels (ising_rows.cpp) for the widest instruction set this CPU runs; all variants compute
// identical spins and sums.
struct RowKernels {
    void (*update)(const IsingRowBatch&);
    void (*totals)(const IsingTotalsBatch&);
};

const RowKernels& row_kernels()
{
    static const RowKernels k = for_widest_isa(RowKernels{x86_64_v4::ising_update_rows, x86_64_v4::ising_totals_rows},
                                               RowKernels{x86_64_v3::ising_update_rows, x86_64_v3::ising_totals_rows},
                                               RowKernels{x86_64_v1::ising_update_rows, x86_64_v1::ising_totals_rows});
    return k;
}

// Rows go in batches of >= 4096 sites (over all replicas: small lattices share a batch).
std::int64_t batch_rows(const CheckerboardGeometry& g) { return std::max<std::int64_t>(1, 4096 / g.W); }

}  // namespace

const char* ising_kernel_isa() { return isa_name(widest_isa()); }

IsingRankTable ising_rank_table(const IsingFlipTable& t, int z)
{
    // Categories that always (p = 1: hi = 65535, lo = 65536) or never (p = 0) flip need no comparison and
    // are kept out of the distinct values, which also keeps them out of the tie test.
    constexpr std::int16_t kNever = 0x7FFF;
    IsingRankTable rk;
    for (int up = 0; up < 2; ++up)
        for (int n = -z; n <= z; n += 2) {
            const int c = ising_category(up ? 1 : -1, n);
            rk.reachable[rk.n_reachable++] = static_cast<std::int16_t>(c);
            const bool fixed = t.lo[c] == 65536u || (t.hi[c] == 0 && t.lo[c] == 0);
            if (!fixed && std::find(rk.distinct, rk.distinct + rk.n_distinct, t.hi[c]) == rk.distinct + rk.n_distinct)
                rk.distinct[rk.n_distinct++] = t.hi[c];
        }
    for (int r = 0; r < rk.n_reachable; ++r) {
        const int c = rk.reachable[r];
        if (t.lo[c] == 65536u)
            rk.need[c] = 0;
        else if (t.hi[c] == 0 && t.lo[c] == 0)
            rk.need[c] = kNever;
        else
            rk.need[c] = static_cast<std::int16_t>(std::count_if(
                rk.distinct, rk.distinct + rk.n_distinct, [&](std::uint16_t v) { return v >= t.hi[c]; }));
    }
    return rk;
}

void ising_sweeps(const CheckerboardGeometry& g, std::int8_t* spins, const IsingFlipTable* tables, std::int64_t n,
                  IsingAlgorithm algorithm, std::uint64_t seed, std::uint64_t step, std::int64_t replicas)
{
    const auto kernel = row_kernels().update;
    const std::int64_t W = g.W;
    // Batches (batch_rows) of >= 4096 sites keep the Philox groups (128 half-words) wasted at batch edges few;
    // they are handed out dynamically, so a thread that loses its core to another process does not stall the
    // sweep (the result does not depend on which thread takes which batch).
    const std::int64_t per = batch_rows(g), rows = replicas * g.rows, batches = (rows + per - 1) / per;
    std::vector<IsingRankTable> ranks(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) ranks[i] = ising_rank_table(tables[i], g.coordination());
    const PhiloxKey key = philox_key(seed);
#pragma omp parallel if (replicas * g.sites() >= 8192)
    {
        std::vector<std::uint16_t> words(static_cast<std::size_t>(128 * (per * W / 128 + 2)));
        std::vector<std::int8_t> n_sum(static_cast<std::size_t>(per * W));
        for (std::int64_t sweep = 0; sweep < n; ++sweep) {
            for (int colour = 0; colour < 2; ++colour) {
                const IsingTieStream tie{key, colour, algorithm, step + static_cast<std::uint64_t>(sweep)};
#pragma omp for schedule(dynamic)
                for (std::int64_t i = 0; i < batches; ++i) {
                    const std::int64_t r0 = i * per, r1 = std::min(rows, r0 + per);
                    kernel({&g, spins, colour, r0, r1, &tables[sweep], &ranks[sweep], tie, words.data(),
                            n_sum.data()});
                }
            }
        }
    }
}

void ising_totals(const CheckerboardGeometry& g, const std::int8_t* spins, std::int64_t* out, std::int64_t replicas)
{
    const auto kernel = row_kernels().totals;
    const std::int64_t per = batch_rows(g), rows = replicas * g.rows, batches = (rows + per - 1) / per;
    std::fill(out, out + 2 * replicas, std::int64_t{0});
#pragma omp parallel if (replicas * g.sites() >= 8192)
    {
        std::vector<std::int8_t> n_sum(static_cast<std::size_t>(g.W));
        std::vector<std::int64_t> m(static_cast<std::size_t>(replicas), 0), b(m);
#pragma omp for schedule(static)
        for (std::int64_t i = 0; i < batches; ++i)
            kernel({&g, spins, i * per, std::min(rows, (i + 1) * per), n_sum.data(), m.data(), b.data()});
#pragma omp critical
        for (std::int64_t r = 0; r < replicas; ++r) {  // integer sums: exact in any order
            out[2 * r] += m[r];
            out[2 * r + 1] += b[r];
        }
    }
}

void ising_random_init(const CheckerboardGeometry& g, std::int8_t* spins, std::uint64_t seed, std::int64_t replicas)
{
    const PhiloxKey key = philox_key(seed);
    const std::int64_t P = g.sites_per_colour(), N = g.sites();
#pragma omp parallel for schedule(static) if (replicas * N >= 8192)
    for (std::int64_t gk = 0; gk < replicas * N; ++gk) {
        const std::int64_t replica = gk / N, k = gk - replica * N;
        const int colour = static_cast<int>(k / P);
        const std::int64_t r = (k % P) / g.W, j = (k % P) % g.W;
        const std::int64_t site = replica * N + g.logical_index(colour, r, j);  // replica 0: the single lattice
        const Philox4x32 x = philox4x32_10(philox_counter(site / 4, 0, RngId::ising_init, 0), key);
        spins[gk] = (x.v[site % 4] >> 31) ? 1 : -1;
    }
}

void checkerboard_pack(const CheckerboardGeometry& g, const std::int8_t* logical, std::int8_t* storage)
{
#pragma omp parallel for schedule(static) if (g.sites() >= 65536)
    for (std::int64_t site = 0; site < g.sites(); ++site) storage[g.storage_index(site)] = logical[site];
}

void checkerboard_unpack(const CheckerboardGeometry& g, const std::int8_t* storage, std::int8_t* logical)
{
#pragma omp parallel for schedule(static) if (g.sites() >= 65536)
    for (std::int64_t site = 0; site < g.sites(); ++site) logical[site] = storage[g.storage_index(site)];
}

}  // namespace symbreak::cpu
