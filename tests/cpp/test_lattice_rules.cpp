// Ising rules and drivers: flip probabilities in closed form, checkerboard geometry against logical
// coordinates, and the vectorised CPU sweep against a per-site reference that does exactly what the CUDA
// kernel does (one Philox call per thread, philox_group_half layout, ising_update).
#include <gtest/gtest.h>

#include "checkerboard_test_geometry.hpp"
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../../cpp/src/lattice/ising_rows.hpp"
#include "symbreak/lattice/ising_cpu.hpp"

using namespace symbreak;

namespace {

std::vector<std::int64_t> coords(const CheckerboardGeometry& g, std::int64_t site)
{
    std::vector<std::int64_t> c(g.dim);
    for (int a = g.dim - 1; a >= 0; --a) {
        c[a] = site % g.n[a];
        site /= g.n[a];
    }
    return c;
}

std::int64_t flat(const CheckerboardGeometry& g, const std::vector<std::int64_t>& c)
{
    std::int64_t site = 0;
    for (int a = 0; a < g.dim; ++a) site = site * g.n[a] + ((c[a] % g.n[a]) + g.n[a]) % g.n[a];
    return site;
}

// What the CUDA kernel computes, one colour of replica `replica`: per Philox call, eight sites 16 apart; a
// replica's site k draws the numbers of global index replica P + k.
void reference_colour(const CheckerboardGeometry& g, std::int8_t* spins, int colour, const IsingFlipTable& t,
                      IsingAlgorithm alg, std::uint64_t seed, std::uint64_t step, std::int64_t replica = 0)
{
    const std::int64_t P = g.sites_per_colour();
    const IsingTieStream tie{philox_key(seed), colour, alg, step};
    for (std::int64_t k = 0; k < P; ++k) {
        const std::int64_t gk = replica * P + k;
        const PhiloxHalf h = philox_group_half(static_cast<std::uint64_t>(gk));
        const Philox4x32 x = philox4x32_10(ising_counter(h.call, colour, alg, step), tie.key);
        const std::int64_t r = k / g.W, j = k % g.W;
        const int n = ising_neighbour_sum(g, spins + (1 - colour) * P, colour, r, j);
        spins[colour * P + k] = ising_update(spins[colour * P + k], n, philox_half(x, h.word, h.half), t, tie, gk);
    }
}

}  // namespace

TEST(IsingRules, FlipTableMatchesClosedForms)
{
    const double T = 1.7, J = 0.8, h = 0.3;
    const IsingFlipTable m = ising_flip_table(IsingAlgorithm::metropolis, T, J, h);
    const IsingFlipTable hb = ising_flip_table(IsingAlgorithm::heat_bath, T, J, h);
    for (int up = 0; up < 2; ++up) {
        const double s = up ? 1 : -1;
        for (int n = -6; n <= 6; ++n) {
            const double dE = 2 * s * (J * n + h);
            const int c = ising_category(up ? 1 : -1, n);
            ASSERT_LE(m.lo[c], 65536u);
            EXPECT_NEAR((65536.0 * m.hi[c] + m.lo[c]) / 4294967296.0, std::min(1.0, std::exp(-dE / T)), 2e-10);
            EXPECT_NEAR((65536.0 * hb.hi[c] + hb.lo[c]) / 4294967296.0, 1.0 / (1.0 + std::exp(dE / T)), 2e-10);
        }
    }
    const IsingFlipTable cold = ising_flip_table(IsingAlgorithm::metropolis, 1e-3, 1.0, 0.0);
    EXPECT_EQ(cold.hi[ising_category(1, 4)], 0u);  // p = 0 exactly: never flips, even on a tie
    EXPECT_EQ(cold.lo[ising_category(1, 4)], 0u);
    EXPECT_EQ(cold.hi[ising_category(1, -4)], 65535u);  // p = 1 exactly: a tie at 65535 always flips
    EXPECT_EQ(cold.lo[ising_category(1, -4)], 65536u);
}

TEST(IsingRules, SixteenBitWordWithTieEqualsThirtyTwoBitComparison)
{
    // Over all u and a sample of tie words, P(flip) = (65536 hi + lo) / 2^32: count flips exactly.
    IsingFlipTable t{};
    const int c = ising_category(1, 2);
    t.hi[c] = 1234;
    t.lo[c] = 40000;
    std::uint64_t flips_below = 0, ties = 0, tie_flips = 0;
    const IsingTieStream tie{philox_key(3), 0, IsingAlgorithm::metropolis, 7};
    for (std::uint32_t u = 0; u < 65536; ++u) {
        const bool flip = ising_update(1, 2, static_cast<std::uint16_t>(u), t, tie, 42) == -1;
        if (u < 1234) flips_below += flip;
        if (u == 1234) ties += 1, tie_flips += flip;
        if (u > 1234) ASSERT_FALSE(flip);
    }
    EXPECT_EQ(flips_below, 1234u);
    EXPECT_EQ(ties, 1u);
    EXPECT_EQ(tie_flips, tie(42) < 40000u ? 1u : 0u);
    std::uint64_t below = 0;  // the tie word is uniform on 16 bits: P(v < lo) = lo / 65536
    for (std::int64_t k = 0; k < 200000; ++k) below += tie(k) < 40000u;
    EXPECT_NEAR(below / 200000.0, 40000.0 / 65536.0, 0.005);
}

TEST(IsingGeometry, StorageNeighboursAreLogicalNeighbours)
{
    for (const auto& shape : std::vector<std::vector<std::int64_t>>{{6, 10}, {2, 2}, {4, 2}, {2, 8}, {4, 6, 8}, {2, 2, 2}}) {
        const CheckerboardGeometry g = geometry(shape);
        const std::int64_t P = g.sites_per_colour();
        for (std::int64_t site = 0; site < g.sites(); ++site) {
            int colour;
            std::int64_t r, j;
            g.storage_of(site, colour, r, j);
            ASSERT_EQ(g.logical_index(colour, r, j), site);
            std::int64_t nb[6];
            const int z = g.neighbours(colour, r, j, nb);
            ASSERT_EQ(z, 2 * g.dim);
            std::vector<std::int64_t> got, want;
            for (int k = 0; k < z; ++k) got.push_back(g.logical_index(1 - colour, nb[k] / g.W, nb[k] % g.W));
            const auto c = coords(g, site);
            for (int a = 0; a < g.dim; ++a)
                for (int d : {-1, 1}) {
                    auto cc = c;
                    cc[a] += d;
                    want.push_back(flat(g, cc));
                }
            std::sort(got.begin(), got.end());
            std::sort(want.begin(), want.end());
            ASSERT_EQ(got, want) << "site " << site;
            ASSERT_LT(nb[0], P);
        }
    }
}

TEST(IsingDriver, PackUnpackRoundTripAndTotals)
{
    const CheckerboardGeometry g = geometry({4, 6, 8});
    std::vector<std::int8_t> logical(g.sites()), storage(g.sites()), back(g.sites());
    for (std::int64_t i = 0; i < g.sites(); ++i) logical[i] = ((i * 2654435761u) >> 7) & 1 ? 1 : -1;
    cpu::checkerboard_pack(g, logical.data(), storage.data());
    cpu::checkerboard_unpack(g, storage.data(), back.data());
    EXPECT_EQ(logical, back);
    std::int64_t magnet = 0, bonds = 0;
    for (std::int64_t s = 0; s < g.sites(); ++s) {
        magnet += logical[s];
        auto c = coords(g, s);
        for (int a = 0; a < g.dim; ++a) {
            auto cc = c;
            cc[a] += 1;
            bonds += logical[s] * logical[flat(g, cc)];
        }
    }
    std::int64_t t[2];
    cpu::ising_totals(g, storage.data(), t);
    EXPECT_EQ(t[0], magnet);
    EXPECT_EQ(t[1], bonds);
}

TEST(IsingDriver, VectorisedSweepEqualsPerSiteReference)
{
    for (const auto& shape : std::vector<std::vector<std::int64_t>>{{6, 10}, {64, 256}, {130, 34}, {4, 6, 8}, {8, 8, 136}}) {
        for (auto alg : {IsingAlgorithm::metropolis, IsingAlgorithm::heat_bath}) {
            const CheckerboardGeometry g = geometry(shape);
            std::vector<std::int8_t> a(g.sites());
            cpu::ising_random_init(g, a.data(), 11);
            std::vector<std::int8_t> b = a;
            const double temps[3] = {1.5, 2.3, 4.0};
            IsingFlipTable tables[3];
            for (int i = 0; i < 3; ++i) tables[i] = ising_flip_table(alg, temps[i], 1.0, 0.2);
            cpu::ising_sweeps(g, a.data(), tables, 3, alg, 5, 40);
            for (int i = 0; i < 3; ++i)
                for (int colour = 0; colour < 2; ++colour) reference_colour(g, b.data(), colour, tables[i], alg, 5, 40 + i);
            ASSERT_EQ(a, b) << "shape " << shape[0] << "x" << shape[1] << " algorithm " << int(alg);
        }
    }
}

TEST(IsingDriver, ReplicatedSweepEqualsPerReplicaReference)
{
    // Shapes whose colour size is and is not a multiple of 128, so Philox groups straddle replicas.
    for (const auto& shape : std::vector<std::vector<std::int64_t>>{{4, 4}, {6, 10}, {16, 16}, {4, 6, 8}}) {
        const CheckerboardGeometry g = geometry(shape);
        const std::int64_t R = 5, N = g.sites();
        std::vector<std::int8_t> a(R * N), single(N);
        cpu::ising_random_init(g, a.data(), 11, R);
        cpu::ising_random_init(g, single.data(), 11);
        ASSERT_TRUE(std::equal(single.begin(), single.end(), a.begin()));  // replica 0 is the single lattice
        std::vector<std::int8_t> b = a;
        const IsingFlipTable t = ising_flip_table(IsingAlgorithm::metropolis, 2.3, 1.0, 0.1);
        cpu::ising_sweeps(g, a.data(), &t, 1, IsingAlgorithm::metropolis, 5, 40, R);
        for (std::int64_t r = 0; r < R; ++r)
            for (int colour = 0; colour < 2; ++colour)
                reference_colour(g, b.data() + r * N, colour, t, IsingAlgorithm::metropolis, 5, 40, r);
        ASSERT_EQ(a, b) << "shape " << shape[0] << "x" << shape[1];
        std::vector<std::int64_t> totals(2 * R), one(2);
        cpu::ising_totals(g, a.data(), totals.data(), R);
        for (std::int64_t r = 0; r < R; ++r) {
            cpu::ising_totals(g, a.data() + r * N, one.data());
            EXPECT_EQ(totals[2 * r], one[0]);
            EXPECT_EQ(totals[2 * r + 1], one[1]);
        }
    }
}

TEST(IsingDriver, ThreadCountDoesNotChangeSpins)
{
    const CheckerboardGeometry g = geometry({128, 128});
    std::vector<std::int8_t> one(g.sites()), two;
    cpu::ising_random_init(g, one.data(), 3);
    two = one;
    const IsingFlipTable t = ising_flip_table(IsingAlgorithm::metropolis, 2.2, 1.0, 0.0);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    for (int i = 0; i < 5; ++i) cpu::ising_sweeps(g, one.data(), &t, 1, IsingAlgorithm::metropolis, 9, i);
    omp_set_num_threads(3);
    for (int i = 0; i < 5; ++i) cpu::ising_sweeps(g, two.data(), &t, 1, IsingAlgorithm::metropolis, 9, i);
    omp_set_num_threads(saved);
    EXPECT_EQ(one, two);
}

// Each instruction-set variant of the row kernel (not only the one this CPU dispatches to) gives the same
// spins as the per-site reference.
TEST(IsingDriver, EveryIsaVariantEqualsReference)
{
    struct Variant {
        const char* isa;
        bool supported;
        void (*kernel)(const cpu::IsingRowBatch&);
    };
    __builtin_cpu_init();
    const Variant variants[] = {{"x86-64", true, cpu::x86_64_v1::ising_update_rows},
                                {"x86-64-v3", __builtin_cpu_supports("x86-64-v3") != 0, cpu::x86_64_v3::ising_update_rows},
                                {"x86-64-v4", __builtin_cpu_supports("x86-64-v4") != 0, cpu::x86_64_v4::ising_update_rows}};
    const CheckerboardGeometry g = geometry({10, 200});
    const IsingFlipTable t = ising_flip_table(IsingAlgorithm::heat_bath, 2.0, 1.0, -0.1);
    const cpu::IsingRankTable rank = cpu::ising_rank_table(t, g.coordination());
    std::vector<std::int8_t> start(g.sites());
    cpu::ising_random_init(g, start.data(), 4);
    std::vector<std::int8_t> want = start;
    reference_colour(g, want.data(), 1, t, IsingAlgorithm::heat_bath, 8, 3);
    for (const auto& v : variants) {
        if (!v.supported) continue;
        std::vector<std::int8_t> got = start;
        std::vector<std::uint16_t> words(g.rows * g.W + 256);
        std::vector<std::int8_t> n_sum(g.rows * g.W);
        const IsingTieStream tie{philox_key(8), 1, IsingAlgorithm::heat_bath, 3};
        v.kernel({&g, got.data(), 1, 0, g.rows, &t, &rank, tie, words.data(), n_sum.data()});
        EXPECT_EQ(got, want) << v.isa;
    }
}
