// Microbenchmarks of the particle simulator's kernels on the benchmark states of bench_particles.py:
// 3D LJ at the LAMMPS bench/in.lj conditions (fcc, ρ = 0.8442, T = 1.44, r_c = 2.5, skin 0.3) and a 2D LJ
// liquid at ρ = 0.8. Rates are particles (or particle-steps) per second; threads as set by OMP_NUM_THREADS.
// The *_CUDA variants run the GPU engine on device 0 (skipped without one); each timed call ends with a
// device synchronisation. BM_HalfVsFull times the CPU engine's full list against the half list with Newton's
// third law (MDList::half), alternating the two in one process.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "symbreak/core/launch.hpp"
#include "symbreak/particles/md_cpu.hpp"
#include "symbreak/particles/md_cuda.hpp"

using namespace symbreak;

namespace {

struct State {
    MDSetup setup;
    std::vector<double> x, v;
};

// cells^dim unit cells of an fcc (3D) or square (2D) lattice at density rho, jittered by 0.02 lattice units,
// with Gaussian velocities at temperature T.
State make_state(int dim, int cells, double rho, double T, bool single)
{
    State s;
    const int basis = dim == 3 ? 4 : 1;
    const double a = std::pow(basis / rho, 1.0 / dim);
    const double offs[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal;
    const int nz = dim == 3 ? cells : 1;
    for (int i = 0; i < cells; ++i)
        for (int j = 0; j < cells; ++j)
            for (int k = 0; k < nz; ++k)
                for (int b = 0; b < basis; ++b) {
                    const int c[3] = {i, j, k};
                    for (int d = 0; d < dim; ++d) {
                        double x = (c[d] + offs[b][d] + 0.02 * normal(rng)) * a;
                        x = std::fmod(x + cells * a, cells * a);
                        s.x.push_back(x);
                        s.v.push_back(std::sqrt(T) * normal(rng));
                    }
                }
    s.setup.dim = dim;
    s.setup.single = single;
    s.setup.n = static_cast<std::int64_t>(s.x.size()) / dim;
    for (int d = 0; d < dim; ++d) s.setup.box[d] = cells * a;
    s.setup.pair = PairParams{};
    return s;
}

State bench_state(const benchmark::State& st)
{
    const bool three_d = st.range(0) == 3, single = st.range(1) == 1;
    return three_d ? make_state(3, 20, 0.8442, 1.44, single) : make_state(2, 128, 0.8, 1.0, single);
}

std::unique_ptr<ParticleEngine> make_engine(const State& s, bool gpu)
{
    return gpu ? make_particle_engine_cuda(s.setup, s.x.data(), s.v.data(), 0)
               : make_particle_engine(s.setup, s.x.data(), s.v.data());
}

bool skip_without_gpu(benchmark::State& st, bool gpu)
{
    std::string why;
    if (!gpu || cuda::device_count(&why) > 0) return false;
    st.SkipWithError(("no CUDA device: " + why).c_str());
    return true;
}

template <bool kGpu>
void BM_Forces(benchmark::State& st)
{
    if (skip_without_gpu(st, kGpu)) return;
    State s = bench_state(st);
    auto e = make_engine(s, kGpu);
    for (auto _ : st) e->forces_now();
    st.SetItemsProcessed(st.iterations() * s.setup.n);
    st.counters["neighbours"] = e->counters().mean_neighbours;
}

template <bool kGpu>
void BM_ListBuild(benchmark::State& st)
{
    if (skip_without_gpu(st, kGpu)) return;
    State s = bench_state(st);
    auto e = make_engine(s, kGpu);
    for (auto _ : st) e->rebuild_now();
    st.SetItemsProcessed(st.iterations() * s.setup.n);
}

// Whole velocity-Verlet steps (integration, displacement check, rebuilds as needed, forces): particle-steps/s.
template <bool kGpu>
void BM_StepNVE(benchmark::State& st)
{
    if (skip_without_gpu(st, kGpu)) return;
    State s = bench_state(st);
    auto e = make_engine(s, kGpu);
    constexpr int kSteps = 50;
    e->advance(kSteps, nullptr, MDIntegrator::verlet, 0.005, 0, 0, false);  // leave the lattice
    const auto before = e->counters().rebuilds;
    for (auto _ : st) e->advance(kSteps, nullptr, MDIntegrator::verlet, 0.005, 0, 0, false);
    st.SetItemsProcessed(st.iterations() * kSteps * s.setup.n);
    st.counters["steps_per_rebuild"] =
        static_cast<double>(st.iterations() * kSteps) / std::max<std::int64_t>(1, e->counters().rebuilds - before);
}

// Full list (A) against half list (B) on one state, alternating A B, B A, ... in one process; counters:
// medians in ms of one force pass (what 0), one rebuild (sort + list, what 1) or one velocity-Verlet step
// with rebuilds as needed (what 2, 50-step runs after 50 steps off the lattice).
void BM_HalfVsFull(benchmark::State& st)
{
    State s = bench_state(st);
    const int what = static_cast<int>(st.range(2));
    constexpr int kSteps = 50;
    std::unique_ptr<ParticleEngine> e[2] = {make_particle_engine(s.setup, s.x.data(), s.v.data(), MDList::full),
                                            make_particle_engine(s.setup, s.x.data(), s.v.data(), MDList::half)};
    if (what == 2)
        for (auto& x : e) x->advance(kSteps, nullptr, MDIntegrator::verlet, 0.005, 0, 0, false);
    std::int64_t rebuilds[2] = {e[0]->counters().rebuilds, e[1]->counters().rebuilds}, steps = 0;
    std::vector<double> ms[2];
    for (auto _ : st) {
        double total = 0;
        const std::size_t round = ms[0].size();
        for (int k = 0; k < 2; ++k) {
            const int which = static_cast<int>((k + round) % 2);
            const auto t0 = std::chrono::steady_clock::now();
            if (what == 0) e[which]->forces_now();
            else if (what == 1) e[which]->rebuild_now();
            else e[which]->advance(kSteps, nullptr, MDIntegrator::verlet, 0.005, 0, 0, false);
            const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            ms[which].push_back(1e3 * dt / (what == 2 ? kSteps : 1));
            total += dt;
        }
        steps += kSteps;
        st.SetIterationTime(total);
    }
    const auto median = [](std::vector<double> v) {
        std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
        return v[v.size() / 2];
    };
    st.counters["full_ms"] = median(ms[0]);
    st.counters["half_ms"] = median(ms[1]);
    st.counters["half/full"] = median(ms[1]) / median(ms[0]);
    if (what == 2) {
        st.counters["steps/rebuild_full"] = static_cast<double>(steps) / std::max<std::int64_t>(1, e[0]->counters().rebuilds - rebuilds[0]);
        st.counters["steps/rebuild_half"] = static_cast<double>(steps) / std::max<std::int64_t>(1, e[1]->counters().rebuilds - rebuilds[1]);
    }
}

// Args: {dimension, 1 = float32 / 0 = float64}.
void args(benchmark::internal::Benchmark* b)
{
    b->ArgNames({"dim", "f32"})->Args({3, 0})->Args({3, 1})->Args({2, 0})->Args({2, 1})->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_Forces<false>)->Name("BM_Forces")->Apply(args);
BENCHMARK(BM_ListBuild<false>)->Name("BM_ListBuild")->Apply(args);
BENCHMARK(BM_StepNVE<false>)->Name("BM_StepNVE")->Apply(args);
// Pairs of runs: 30 of forces, 15 of rebuilds, 5 of 50 steps.
BENCHMARK(BM_HalfVsFull)->ArgNames({"dim", "f32", "what"})->ArgsProduct({{3, 2}, {0, 1}, {0}})->Iterations(30)
    ->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HalfVsFull)->ArgNames({"dim", "f32", "what"})->ArgsProduct({{3, 2}, {0, 1}, {1}})->Iterations(15)
    ->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HalfVsFull)->ArgNames({"dim", "f32", "what"})->ArgsProduct({{3, 2}, {0, 1}, {2}})->Iterations(5)
    ->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Forces<true>)->Name("BM_Forces_CUDA")->Apply(args);
BENCHMARK(BM_ListBuild<true>)->Name("BM_ListBuild_CUDA")->Apply(args);
BENCHMARK(BM_StepNVE<true>)->Name("BM_StepNVE_CUDA")->Apply(args);
BENCHMARK_MAIN();
