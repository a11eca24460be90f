// The half neighbour list with Newton's third law (MDList::half, the benchmarked alternative) against the
// full list of the CPU engine: same state, same forces, energy and virial up to round-off (each pair force is
// the same bits from both ends; only the order of the sums differs), on 1 and 2 threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "md_test_state.hpp"
#include "symbreak/particles/md_cpu.hpp"

using namespace symbreak;
using test::gas;
using test::Sys;

namespace {

// Enough particles for the engine's threaded path: 5832 in 3D, 5184 in 2D.
Sys liquid(int dim, double rho, bool single, PotentialKind kind)
{
    return gas(dim, dim == 3 ? 18 * 18 * 18 : 72 * 72, rho, 11, single, kind);
}

std::vector<double> forces(const ParticleEngine& e, const Sys& g)
{
    std::vector<double> f(g.x.size());
    e.read(2, f.data());
    return f;
}

// |a - b| within rel · (1 + largest |a|) everywhere; the largest relative difference for the message.
void expect_close(const std::vector<double>& a, const std::vector<double>& b, double rel, const char* what)
{
    double scale = 0, worst = 0;
    for (double v : a) scale = std::max(scale, std::abs(v));
    for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
    EXPECT_LE(worst, rel * (1 + scale)) << what << ": largest |difference| " << worst << ", largest |f| " << scale;
}

struct Case {
    int dim;
    bool single;
};

class HalfList : public ::testing::TestWithParam<Case> {
protected:
    void TearDown() override { omp_set_num_threads(threads_); }
    // Round-off of sums of ~50 pair terms (~40 ulp of the largest force; seen: 2 ulp in float, 2 in double);
    // a lost or doubled pair is off by a whole pair force.
    double tol() const { return GetParam().single ? 5e-6 : 1e-14; }
    int threads_ = omp_get_max_threads();
};

TEST_P(HalfList, ForcesEnergyVirialMatchTheFullList)
{
    const Case c = GetParam();
    for (PotentialKind kind : {PotentialKind::lj, PotentialKind::lj_force_shifted}) {
        Sys g = liquid(c.dim, c.dim == 3 ? 0.8442 : 0.8, c.single, kind);
        auto full = make_particle_engine(g.s, g.x.data(), g.v.data());
        // A moved state: 40 Langevin steps of the full engine, then both engines at its state (the lists are
        // built at the reference positions and used at the moved ones, as within a run).
        full->advance(40, std::vector<double>(40, 1.2).data(), MDIntegrator::langevin, 0.004, 1.0, 0, false);
        const MDState st = full->state();
        const MDTotals tf = full->totals();
        const std::vector<double> ff = forces(*full, g);
        for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            auto half = make_particle_engine(g.s, g.x.data(), g.v.data(), MDList::half);
            half->load(st);
            half->forces_now();
            const MDTotals th = half->totals();
            expect_close(ff, forces(*half, g), tol(), threads == 1 ? "forces, 1 thread" : "forces, 2 threads");
            EXPECT_NEAR(th.potential, tf.potential, tol() * std::abs(tf.potential)) << threads << " threads";
            EXPECT_NEAR(th.virial, tf.virial, tol() * std::abs(tf.virial)) << threads << " threads";
            EXPECT_DOUBLE_EQ(half->counters().mean_neighbours, full->counters().mean_neighbours);
        }
    }
}

// Collisional damping forces (pair forces that depend on velocities) take the same scatter.
TEST_P(HalfList, DampingStepMatchesTheFullList)
{
    const Case c = GetParam();
    Sys g = liquid(c.dim, c.dim == 3 ? 0.8442 : 0.8, c.single, PotentialKind::lj);
    auto full = make_particle_engine(g.s, g.x.data(), g.v.data());
    auto half = make_particle_engine(g.s, g.x.data(), g.v.data(), MDList::half);
    full->advance(1, nullptr, MDIntegrator::damping, 0.002, 0, 2.0, false);
    half->advance(1, nullptr, MDIntegrator::damping, 0.002, 0, 2.0, false);
    expect_close(forces(*full, g), forces(*half, g), tol(), "damped forces");
}

INSTANTIATE_TEST_SUITE_P(LJ, HalfList, ::testing::Values(Case{2, false}, Case{2, true}, Case{3, false}, Case{3, true}),
                         [](const auto& info) {
                             return std::to_string(info.param.dim) + "D_" + (info.param.single ? "f32" : "f64");
                         });

}  // namespace
