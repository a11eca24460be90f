// Built with -march=x86-64-v4, -v3 and plain x86-64 into namespaces of those names (SYMBREAK_ISA).
#include "ising_rows.hpp"

#include <algorithm>

#include "symbreak/rng/philox_simd.hpp"


namespace symbreak::cpu::SYMBREAK_ISA {
namespace {

constexpr int M = 2 * SYMBREAK_LANES;  // sites per vector step: one 16-bit lane each
typedef std::int8_t i8v __attribute__((vector_size(M)));
typedef std::int16_t i16v __attribute__((vector_size(2 * M)));
typedef std::uint16_t u16v __attribute__((vector_size(2 * M)));

bool any(i16v mask)
{
    std::uint64_t bits[sizeof(mask) / 8];
    __builtin_memcpy(bits, &mask, sizeof(mask));
    std::uint64_t acc = 0;
    for (std::uint64_t b : bits) acc |= b;
    return acc != 0;
}

// A run of n contiguous sites s[j], j < n (one or more whole rows), with neighbour sums n_sum and words u;
// k0 is the Philox index of s[0].
void update_row(std::int8_t* __restrict__ s, const std::int8_t* __restrict__ n_sum,
                const std::uint16_t* __restrict__ u, std::int64_t n, std::int64_t k0, const IsingRowBatch& b)
{
    const IsingRankTable& rk = *b.rank;
    std::int64_t j = 0;
    for (; j + M <= n; j += M) {
        i8v s8, n8;
        u16v uv;
        __builtin_memcpy(&s8, s + j, sizeof(s8));
        __builtin_memcpy(&n8, n_sum + j, sizeof(n8));
        __builtin_memcpy(&uv, u + j, sizeof(uv));
        const i16v s16 = __builtin_convertvector(s8, i16v);
        const i16v cat = ((s16 > 0) & kIsingTableRow) + __builtin_convertvector(n8, i16v) + kIsingMaxZ;
        i16v above = i16v{}, tie = i16v{};  // above counts down: -#{d : t_d > u}
        for (int d = 0; d < rk.n_distinct; ++d) {
            above += (uv < rk.distinct[d]);
            tie |= (uv == rk.distinct[d]);
        }
        if (__builtin_expect(any(tie), 0)) {  // about 2^-16 per site and distinct value: exact scalar rule
            for (std::int64_t i = j; i < j + M; ++i) s[i] = ising_update(s[i], n_sum[i], u[i], *b.table, b.tie, k0 + i);
            continue;
        }
        i16v need = i16v{};
        for (int r = 0; r < rk.n_reachable; ++r) need = (cat == rk.reachable[r]) ? (i16v{} + rk.need[rk.reachable[r]]) : need;
        const i16v out = (-above >= need) ? -s16 : s16;
        const i8v out8 = __builtin_convertvector(out, i8v);
        __builtin_memcpy(s + j, &out8, sizeof(out8));
    }
    for (; j < n; ++j) s[j] = ising_update(s[j], n_sum[j], u[j], *b.table, b.tie, k0 + j);
}

// The neighbour sums of the `colour` sites of row r (geometry.hpp): columns j and j ± 1 of the same row and
// column j of the adjacent rows, all in the other colour's storage. 3D rows are short (W = L / 2): inlined, and
// without restrict-qualified parameters, with which GCC 12 made the 3D sweep a fifth slower (bench_lattice).
[[gnu::always_inline]] inline void row_neighbour_sums(const CheckerboardGeometry& g, const std::int8_t* other,
                                                     int colour, std::int64_t r, std::int8_t* ns)
{
    const std::int64_t W = g.W;
    const std::int8_t* __restrict__ same = other + r * W;
    std::int64_t adj_rows[4];
    const int n_adj = g.adjacent_rows(r, adj_rows);
    for (std::int64_t j = 0; j < W; ++j) ns[j] = same[j];
    for (int a = 0; a < n_adj; ++a) {
        const std::int8_t* __restrict__ row = other + adj_rows[a] * W;
        for (std::int64_t j = 0; j < W; ++j) ns[j] += row[j];
    }
    if (colour ^ g.row_parity(r)) {
        for (std::int64_t j = 0; j + 1 < W; ++j) ns[j] += same[j + 1];
        ns[W - 1] += same[0];
    } else {
        ns[0] += same[W - 1];
        for (std::int64_t j = 1; j < W; ++j) ns[j] += same[j - 1];
    }
}

}  // namespace

void ising_update_rows(const IsingRowBatch& b)
{
    const CheckerboardGeometry& g = *b.g;
    const std::int64_t P = g.sites_per_colour(), W = g.W;
    std::int8_t* __restrict__ n_sum = b.n_sum;

    const std::int64_t k_begin = b.r0 * W, k_end = b.r1 * W;
    const std::int64_t g0 = k_begin / 128, g1 = (k_end + 127) / 128;
    simd::philox_groups_u16<SYMBREAK_LANES>(b.words, static_cast<std::uint64_t>(g0), g1 - g0,
                                            static_cast<std::uint32_t>(b.colour), ising_rng_id(b.tie.algorithm),
                                            b.tie.step, b.tie.key);

    // Consecutive rows of one replica are contiguous in its colour storage, in the Philox words and in the
    // tie-stream index, so their neighbour sums go into one buffer and one update_row call serves them all:
    // rows narrower than a vector (small replicas) still fill whole vectors.
    for (std::int64_t gr = b.r0; gr < b.r1;) {
        const std::int64_t replica = gr / g.rows, span_end = std::min(b.r1, (replica + 1) * g.rows);
        std::int8_t* __restrict__ self = b.spins + (2 * replica + b.colour) * P;
        const std::int8_t* __restrict__ other = b.spins + (2 * replica + 1 - b.colour) * P;
        for (std::int64_t g2 = gr; g2 < span_end; ++g2)
            row_neighbour_sums(g, other, b.colour, g2 - replica * g.rows, n_sum + (g2 - gr) * W);
        const std::int64_t r = gr - replica * g.rows;
        update_row(self + r * W, n_sum, b.words + (gr * W - 128 * g0), (span_end - gr) * W, gr * W, b);
        gr = span_end;
    }
}

void ising_totals_rows(const IsingTotalsBatch& t)
{
    const CheckerboardGeometry& g = *t.g;
    const std::int64_t P = g.sites_per_colour(), W = g.W;
    for (std::int64_t gr = t.r0; gr < t.r1; ++gr) {
        const std::int64_t replica = gr / g.rows, r = gr - replica * g.rows;
        const std::int8_t* __restrict__ s0 = t.spins + 2 * replica * P + r * W;
        const std::int8_t* __restrict__ s1 = s0 + P;
        row_neighbour_sums(g, t.spins + (2 * replica + 1) * P, 0, r, t.n_sum);
        const std::int8_t* __restrict__ ns = t.n_sum;
        std::int32_t m = 0, b = 0;  // |m| <= 2 W, |b| <= 6 W per row
        for (std::int64_t j = 0; j < W; ++j) {
            m += s0[j] + s1[j];
            b += s0[j] * ns[j];
        }
        t.m[replica] += m;
        t.b[replica] += b;
    }
}

}  // namespace symbreak::cpu::SYMBREAK_ISA
