// The CUDA Ising kernels (cuda/lattice/ising.cu) run on the CPU through cuda_emulation/, against the CPU driver:
// the same spins after every sweep (integer rule, same Philox words: bit for bit) and the same totals, for 2D and
// 3D, both algorithms, a field, stacked replicas whose Philox groups straddle replica boundaries, and totals whose
// grid-stride loops over sites and replicas run more than once. What only a GPU can show (the memory model,
// speed) is left to the gpu-marked tests of tests/test_lattice_ising.py.
#include <gtest/gtest.h>

#include "checkerboard_test_geometry.hpp"

#include <numeric>
#include <vector>

#include "emulation.hpp"
#include "symbreak/core/launch.hpp"  // symbreak::cuda::ising_* are the emulated kernels in this test
#include "symbreak/lattice/ising_cpu.hpp"

using namespace symbreak;

namespace {

struct Case {
    std::vector<std::int64_t> shape;
    std::int64_t replicas;
};

// Colour sizes P = 8, 30, 96, 48 and 8192: most are not multiples of 128, so Philox groups straddle replicas;
// 128 x 128 with 5 replicas needs more blocks than the emulated GPU's budget in x and in y.
const std::vector<Case> kCases = {{{4, 4}, 3}, {{6, 10}, 4}, {{4, 6, 8}, 3}, {{2, 6, 8}, 1}, {{128, 128}, 5}};

std::string name(const Case& c, IsingAlgorithm alg)
{
    std::string s;
    for (auto n : c.shape) s += std::to_string(n) + "x";
    return s + std::to_string(c.replicas) + " replicas, algorithm " + std::to_string(static_cast<int>(alg));
}

TEST(IsingEmulated, SweepsEqualCpuDriverBitForBit)
{
    const double temps[4] = {1.2, 2.3, 3.1, 6.0};
    for (const Case& c : kCases)
        for (auto alg : {IsingAlgorithm::metropolis, IsingAlgorithm::heat_bath}) {
            SCOPED_TRACE(name(c, alg));
            const CheckerboardGeometry g = geometry(c.shape);
            std::vector<std::int8_t> cpu(static_cast<std::size_t>(c.replicas * g.sites()));
            cpu::ising_random_init(g, cpu.data(), 7, c.replicas);
            std::vector<std::int8_t> gpu = cpu;
            for (int i = 0; i < 4; ++i) {
                const IsingFlipTable t = ising_flip_table(alg, temps[i], 1.0, i % 2 ? -0.3 : 0.2);
                cpu::ising_sweeps(g, cpu.data(), &t, 1, alg, 21, 100 + i, c.replicas);
                cuda::ising_sweep(g, gpu.data(), c.replicas, t, alg, 21, 100 + i, 0, 0);
                ASSERT_EQ(cpu, gpu) << "sweep " << i;
            }
            // The driver's n-sweep call (table i, step + i) is the same as n single sweeps.
            std::vector<std::int8_t> batch(cpu.size());
            cpu::ising_random_init(g, batch.data(), 7, c.replicas);
            IsingFlipTable tables[4];
            for (int i = 0; i < 4; ++i) tables[i] = ising_flip_table(alg, temps[i], 1.0, i % 2 ? -0.3 : 0.2);
            cpu::ising_sweeps(g, batch.data(), tables, 4, alg, 21, 100, c.replicas);
            EXPECT_EQ(batch, gpu);
        }
}

TEST(IsingEmulated, TotalsEqualCpuExactly)
{
    for (const Case& c : kCases) {
        SCOPED_TRACE(name(c, IsingAlgorithm::metropolis));
        const CheckerboardGeometry g = geometry(c.shape);
        std::vector<std::int8_t> spins(static_cast<std::size_t>(c.replicas * g.sites()));
        cpu::ising_random_init(g, spins.data(), 3, c.replicas);
        // Replica r: mostly +1 (r even) or -1 (r odd) after cold sweeps in a field, so totals differ in sign and size.
        for (std::int64_t r = 0; r < c.replicas; ++r) {
            const IsingFlipTable t = ising_flip_table(IsingAlgorithm::metropolis, 1.0 + r, 1.0, r % 2 ? -0.5 : 0.5);
            cpu::ising_sweeps(g, spins.data() + r * g.sites(), &t, 1, IsingAlgorithm::metropolis, 5, 0);
        }
        std::vector<std::int64_t> want(static_cast<std::size_t>(2 * c.replicas)), got(want.size(), -1);
        cpu::ising_totals(g, spins.data(), want.data(), c.replicas);
        cuda::ising_totals(g, spins.data(), c.replicas, got.data(), 0, 0);
        EXPECT_EQ(want, got);
        std::int64_t magnet = 0;
        for (std::int64_t k = 0; k < g.sites(); ++k) magnet += spins[static_cast<std::size_t>(k)];
        EXPECT_EQ(got[0], magnet);
        if (c.replicas > 1) EXPECT_LT(got[2], 0);  // replica 1 leans to -1: the unsigned atomics wrap back
    }
}

// The emulator's warp shuffle: lanes exchange values (a tree sum over each warp; the upper lanes, whose source
// lies past the warp, keep their own value and so double it), and a shuffle that part of a warp skips is caught.
void warp_sums(const int* in, int* first, int* last)
{
    int v = in[threadIdx.x];
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (threadIdx.x % 32 == 0) first[threadIdx.x / 32] = v;
    if (threadIdx.x % 32 == 31) last[threadIdx.x / 32] = v;
}

TEST(IsingEmulated, WarpShufflesExchangeLaneValues)
{
    std::vector<int> in(96), first(3, 0), last(3, 0);
    std::iota(in.begin(), in.end(), 1);
    emu::launch(1, 96, [&] { warp_sums(in.data(), first.data(), last.data()); });
    EXPECT_EQ(first, (std::vector<int>{528, 1552, 2576}));  // 1 + ... + 32, 33 + ... + 64, 65 + ... + 96
    EXPECT_EQ(last, (std::vector<int>{32 * 32, 32 * 64, 32 * 96}));
}

TEST(IsingEmulatedDeathTest, DivergentShuffleIsFatal)
{
    int v = 0;
    EXPECT_DEATH(emu::launch(1, 32, [&] {
                     if (threadIdx.x < 16) v += __shfl_down_sync(0xffffffffu, 1, 1);
                 }),
                 "part of the warp does not reach");
}

}  // namespace
