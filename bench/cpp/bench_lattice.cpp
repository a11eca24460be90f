// Microbenchmarks of the Ising hot loop: Philox throughput alone, then whole checkerboard sweeps; then XY
// Langevin steps (BM_XYStep, and BM_XYStep_CUDA on device 0, skipped without one).
// Counters: flips/ns counts attempted site updates; words/ns counts 32-bit Philox outputs; site_steps/ns counts
// rotor updates (all replicas); GB/s for CUDA assumes 12 values of θ, ω, τ, C, S moved per site-step.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "symbreak/core/launch.hpp"
#include "symbreak/lattice/ising_cpu.hpp"
#include "symbreak/lattice/xy_model.hpp"

using namespace symbreak;

static void BM_Philox(benchmark::State& state)
{
    const std::int64_t n = state.range(0);
    std::vector<std::uint32_t> out(4 * n);
    const PhiloxKey key = philox_key(42);
    std::uint64_t step = 0;
    for (auto _ : state) {
        for (std::int64_t b = 0; b < n; ++b) {
            const Philox4x32 x = philox4x32_10(philox_counter(b, 0, RngId::test, step), key);
            for (int l = 0; l < 4; ++l) out[4 * b + l] = x.v[l];
        }
        ++step;
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["words/ns"] =
        benchmark::Counter(4.0 * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Philox)->Arg(1024);

static CheckerboardGeometry geometry(int dim, std::int64_t L)
{
    CheckerboardGeometry g;
    g.dim = dim;
    g.rows = 1;
    for (int a = 0; a < dim; ++a) g.n[a] = L;
    for (int a = 0; a < dim - 1; ++a) g.rows *= L;
    g.W = L / 2;
    return g;
}

// args: dim, L, threads, algorithm
static void BM_IsingSweep(benchmark::State& state)
{
    const auto g = geometry(static_cast<int>(state.range(0)), state.range(1));
    omp_set_num_threads(static_cast<int>(state.range(2)));
    const auto algorithm = static_cast<IsingAlgorithm>(state.range(3));
    std::vector<std::int8_t> spins(g.sites());
    cpu::ising_random_init(g, spins.data(), 7);
    const IsingFlipTable table = ising_flip_table(algorithm, 2.269185314213022, 1.0, 0.0);
    std::uint64_t step = 0;
    for (auto _ : state) {
        cpu::ising_sweeps(g, spins.data(), &table, 1, algorithm, 7, step++);
        benchmark::DoNotOptimize(spins.data());
    }
    state.counters["flips/ns"] =
        benchmark::Counter(static_cast<double>(g.sites()) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
    state.counters["flips/ns/thread"] = benchmark::Counter(
        static_cast<double>(g.sites()) * state.iterations() / 1e9 / state.range(2), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IsingSweep)
    ->ArgNames({"dim", "L", "threads", "alg"})
    ->Args({2, 256, 1, 0})
    ->Args({2, 1024, 1, 0})
    ->Args({2, 1024, 1, 1})
    ->Args({2, 1024, 2, 0})
    ->Args({2, 4096, 1, 0})
    ->Args({2, 4096, 2, 0})
    ->Args({3, 128, 1, 0})
    ->Args({3, 128, 2, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Wolff near T_c on one core: spins flipped per ns (one cluster per iteration).
static void BM_IsingWolff(benchmark::State& state)
{
    const auto g = geometry(2, state.range(0));
    std::vector<std::int8_t> spins(g.sites());
    cpu::ising_random_init(g, spins.data(), 7);
    const double T = 2.269185314213022;
    std::uint64_t step = 0;
    double flipped = 0;
    for (auto _ : state) {
        flipped += static_cast<double>(cpu::ising_wolff(g, spins.data(), &T, 1, 1, 1.0, 7, step++));
        benchmark::DoNotOptimize(spins.data());
    }
    state.counters["flips/ns"] = benchmark::Counter(flipped / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IsingWolff)->Arg(256)->Unit(benchmark::kMillisecond);

// Args: side L of an L x L lattice, replicas R, 1 for float64 (0: float32). 20 BAOAB steps at T = 0.8 per call
// (a CUDA call ends synchronised).
template <bool kGpu>
void BM_XYStep(benchmark::State& state)
{
    std::string why;
    if (kGpu && cuda::device_count(&why) == 0) {
        state.SkipWithError(("no CUDA device: " + why).c_str());
        return;
    }
    const std::int64_t L = state.range(0), R = state.range(1), total = L * L * R;
    const bool f64 = state.range(2) == 1;
    XYModel model({L, L}, static_cast<int>(R), f64, kGpu ? Device::cuda : Device::cpu, 0, 7);
    std::vector<double> theta(static_cast<std::size_t>(total)), omega(theta.size(), 0.0);
    for (std::int64_t e = 0; e < total; ++e) theta[e] = std::remainder(0.7 * static_cast<double>(e), 6.283185307179586);
    if (f64) {
        model.set_state(theta.data(), omega.data(), 1.0, 0.0);
    } else {
        const std::vector<float> t32(theta.begin(), theta.end()), o32(omega.begin(), omega.end());
        model.set_state(t32.data(), o32.data(), 1.0, 0.0);
    }
    const std::vector<double> temps(20, 0.8);
    for (auto _ : state) model.run(temps, 0, XYParams{0.05, 1.0, 1.0, 1.0, 0.0});
    const double site_steps = static_cast<double>(total) * static_cast<double>(temps.size()) *
                              static_cast<double>(state.iterations());
    state.counters["site_steps/ns"] = benchmark::Counter(site_steps * 1e-9, benchmark::Counter::kIsRate);
    if (kGpu)
        state.counters["GB/s"] = benchmark::Counter(site_steps * 12 * (f64 ? 8 : 4) * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_XYStep<false>)->Name("BM_XYStep")->Args({256, 1, 1})->Args({256, 1, 0})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_XYStep<true>)
    ->Name("BM_XYStep_CUDA")
    ->Args({256, 1, 1})
    ->Args({256, 1, 0})
    ->Args({4096, 1, 1})
    ->Args({4096, 1, 0})
    ->Args({256, 256, 0})
    ->UseRealTime()  // the host thread only waits
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
