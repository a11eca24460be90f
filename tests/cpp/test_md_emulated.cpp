// The CUDA particle engine (cuda/particles/md.cu, kernels and host code) run on the CPU through
// cuda_emulation/, against the CPU engine: the same sort, lists, sums, trajectories, resumes, list regrowth
// and error messages, bit for bit (both sides are host arithmetic here). What only a GPU can show (device
// rounding, the memory model, speed) is left to tests/test_particles_cuda.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "symbreak/particles/md_cpu.hpp"
#include "symbreak/particles/md_cuda.hpp"  // make_particle_engine_cuda is renamed make_particle_engine_emulated
#include "md_test_state.hpp"

using namespace symbreak;
using test::gas;
using test::Sys;

namespace {

std::vector<double> field(const ParticleEngine& e, int f, const Sys& g)
{
    std::vector<double> out(static_cast<std::size_t>(g.s.n * g.s.dim));
    e.read(f, out.data());
    return out;
}

void expect_same(ParticleEngine& cpu, ParticleEngine& gpu, const Sys& g)
{
    for (int f = 0; f < 3; ++f) {
        const auto a = field(cpu, f, g), b = field(gpu, f, g);
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(double))) << "field " << f;
    }
    const MDTotals tc = cpu.totals(), tg = gpu.totals();
    EXPECT_EQ(tc.potential, tg.potential);
    EXPECT_EQ(tc.virial, tg.virial);
    EXPECT_NEAR(tc.kinetic, tg.kinetic, 1e-13 * std::abs(tc.kinetic));  // a different (fixed) summation order
    const MDCounters cc = cpu.counters(), cg = gpu.counters();
    EXPECT_EQ(cc.step, cg.step);
    EXPECT_EQ(cc.rebuilds, cg.rebuilds);
    EXPECT_EQ(cc.mean_neighbours, cg.mean_neighbours);
}

class Engines : public testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(Engines, ForcesEnergyVirialAndListsMatchCpuForEveryPotential)
{
    const auto [dim, single] = GetParam();
    for (auto kind : {PotentialKind::lj, PotentialKind::lj_force_shifted, PotentialKind::morse, PotentialKind::soft}) {
        SCOPED_TRACE(static_cast<int>(kind));
        const Sys g = gas(dim, dim == 2 ? 400 : 500, 0.8, 3 + dim, single, kind);
        auto cpu = make_particle_engine(g.s, g.x.data(), g.v.data());
        auto gpu = make_particle_engine_emulated(g.s, g.x.data(), g.v.data(), 0);
        expect_same(*cpu, *gpu, g);
    }
}

TEST_P(Engines, TrajectoriesMatchCpuForEveryIntegrator)
{
    const auto [dim, single] = GetParam();
    const Sys g = gas(dim, dim == 2 ? 400 : 500, 0.8, 5, single, PotentialKind::lj);
    auto cpu = make_particle_engine(g.s, g.x.data(), g.v.data());
    auto gpu = make_particle_engine_emulated(g.s, g.x.data(), g.v.data(), 0);
    const std::vector<double> T(25, 1.3);
    for (auto kind : {MDIntegrator::verlet, MDIntegrator::langevin, MDIntegrator::damping}) {
        SCOPED_TRACE(static_cast<int>(kind));
        cpu->advance(25, T.data(), kind, 0.005, 1.0, 0.8, true);
        gpu->advance(25, T.data(), kind, 0.005, 1.0, 0.8, true);
        expect_same(*cpu, *gpu, g);
    }
    EXPECT_GT(gpu->counters().rebuilds, 2);
}

TEST_P(Engines, StatesMoveBetweenEnginesAndResumeExactly)
{
    const auto [dim, single] = GetParam();
    const Sys g = gas(dim, dim == 2 ? 400 : 500, 0.8, 9, single, PotentialKind::lj);
    auto cpu = make_particle_engine(g.s, g.x.data(), g.v.data());
    auto gpu = make_particle_engine_emulated(g.s, g.x.data(), g.v.data(), 0);
    cpu->advance(30, nullptr, MDIntegrator::verlet, 0.005, 0, 0, false);
    gpu->advance(30, nullptr, MDIntegrator::verlet, 0.005, 0, 0, false);
    auto from_cpu = make_particle_engine_emulated(g.s, g.x.data(), g.v.data(), 0);
    auto from_gpu = make_particle_engine_emulated(g.s, g.x.data(), g.v.data(), 0);
    from_cpu->load(cpu->state());
    from_gpu->load(gpu->state());
    for (auto* e : {cpu.get(), gpu.get(), from_cpu.get(), from_gpu.get()})
        e->advance(30, nullptr, MDIntegrator::verlet, 0.005, 0, 0, false);
    for (int f = 0; f < 2; ++f) {
        EXPECT_EQ(field(*cpu, f, g), field(*from_cpu, f, g));
        EXPECT_EQ(field(*gpu, f, g), field(*from_gpu, f, g));
    }
}

INSTANTIATE_TEST_SUITE_P(MDEmulated, Engines, testing::Combine(testing::Values(2, 3), testing::Bool()));

// A dilute soft-core gas falling onto the box centre: the lists outgrow the stride during advance(). The
// emulated GPU engine walks cells for those particles until the call ends, then regrows; the CPU regrows at
// once. The trajectories must not differ.
TEST(MDEmulated, ListOverflowMidRunKeepsTheCpuTrajectory)
{
    Sys g;
    g.s.dim = 2;
    g.s.n = 400;
    g.s.box[0] = g.s.box[1] = 40;
    g.s.pair.kind = PotentialKind::soft;
    g.s.pair.r_cut = 1.5;
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal;
    for (int i = 0; i < 20; ++i)
        for (int j = 0; j < 20; ++j) {
            const double x = 2.0 * i + 1 + 0.1 * normal(rng), y = 2.0 * j + 1 + 0.1 * normal(rng);
            g.x.insert(g.x.end(), {x, y});
            g.v.insert(g.v.end(), {0.5 * (20 - x), 0.5 * (20 - y)});
        }
    auto cpu = make_particle_engine(g.s, g.x.data(), g.v.data());
    auto gpu = make_particle_engine_emulated(g.s, g.x.data(), g.v.data(), 0);
    const auto stride0 = gpu->counters().stride;
    cpu->advance(150, nullptr, MDIntegrator::verlet, 0.01, 0, 0, true);
    gpu->advance(150, nullptr, MDIntegrator::verlet, 0.01, 0, 0, true);
    EXPECT_GT(gpu->counters().stride, stride0);
    expect_same(*cpu, *gpu, g);
}

std::string error_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

TEST(MDEmulated, ErrorsAreTheCpusAndLeaveTheCpusState)
{
    Sys g = gas(2, 50, 0.3, 1, false, PotentialKind::lj);
    for (int d = 0; d < 2; ++d) g.x[17 * 2 + d] = std::fmod(g.x[4 * 2 + d] + (d == 0 ? 0.1 : 0.0), g.s.box[d]);
    const std::string overlap = error_of([&] { make_particle_engine(g.s, g.x.data(), g.v.data()); });
    EXPECT_NE(overlap.find("particles 4 and 17 are 0.1 apart at step 0"), std::string::npos) << overlap;
    EXPECT_EQ(overlap, error_of([&] { make_particle_engine_emulated(g.s, g.x.data(), g.v.data(), 0); }));

    Sys h = gas(2, 200, 0.8, 1, false, PotentialKind::lj);
    h.s.min_distance = 0;  // let the run blow up
    auto cpu = make_particle_engine(h.s, h.x.data(), h.v.data());
    auto gpu = make_particle_engine_emulated(h.s, h.x.data(), h.v.data(), 0);
    const std::string a = error_of([&] { cpu->advance(500, nullptr, MDIntegrator::verlet, 0.2, 0, 0, false); });
    const std::string b = error_of([&] { gpu->advance(500, nullptr, MDIntegrator::verlet, 0.2, 0, 0, false); });
    EXPECT_NE(a.find("the time step is too large"), std::string::npos) << a;  // a runaway or a NaN
    EXPECT_EQ(a, b);
    EXPECT_EQ(cpu->counters().step, gpu->counters().step);
    const auto xc = field(*cpu, 0, h), xg = field(*gpu, 0, h);  // NaNs included: compare the bits
    EXPECT_EQ(0, std::memcmp(xc.data(), xg.data(), xc.size() * sizeof(double)));
}

}  // namespace
