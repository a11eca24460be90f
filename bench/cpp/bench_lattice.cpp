// Microbenchmarks of the Ising hot loop: Philox throughput alone, then whole checkerboard sweeps (XY steps are in
// bench_xy.cpp). Counters: flips/ns counts attempted site updates; words/ns counts 32-bit Philox outputs.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "symbreak/core/launch.hpp"
#include "symbreak/lattice/ising_cpu.hpp"

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

// The observables (Σ s, Σ bonds) of a lattice, one thread: sites per ns (what run(measure_every=1) adds per sweep).
static void BM_IsingTotals(benchmark::State& state)
{
    const auto g = geometry(static_cast<int>(state.range(0)), state.range(1));
    omp_set_num_threads(1);
    std::vector<std::int8_t> spins(g.sites());
    cpu::ising_random_init(g, spins.data(), 7);
    std::int64_t out[2];
    for (auto _ : state) {
        cpu::ising_totals(g, spins.data(), out);
        benchmark::DoNotOptimize(out);
    }
    state.counters["sites/ns"] =
        benchmark::Counter(static_cast<double>(g.sites()) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IsingTotals)->ArgNames({"dim", "L"})->Args({2, 1024})->Args({3, 128})->Unit(benchmark::kMillisecond);

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


BENCHMARK_MAIN();
