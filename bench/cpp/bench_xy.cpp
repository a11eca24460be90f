// Where the CPU XY step spends its time: the parts of one BAOAB step on one core (the dispatched per-ISA
// kernels, one 4096-site block or one line at a time) and whole steps; whole CUDA steps (BM_XYStep_CUDA).
// Counters: sites/ns = site-steps (or sites of the part) per wall ns.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../../cpp/src/lattice/xy_blocks.hpp"
#include "symbreak/core/launch.hpp"
#include "symbreak/lattice/xy_cpu.hpp"
#include "symbreak/lattice/xy_model.hpp"

using namespace symbreak;

namespace {

template <class Real>
struct Lattice {
    std::vector<Real> theta, omega, tau, C, S, after_o;
    explicit Lattice(std::int64_t n) : theta(n), omega(n), tau(n), C(n), S(n), after_o(n)
    {
        for (std::int64_t i = 0; i < n; ++i) {
            theta[i] = static_cast<Real>(std::fmod(0.7 * i, 6.2) - 3.1);
            omega[i] = static_cast<Real>(0.01 * (i % 17) - 0.08);
            tau[i] = static_cast<Real>(0.3 * std::sin(0.1 * i));
        }
    }
};

// The least of the repetitions (with --benchmark_repetitions): its time column is the run least disturbed by
// other jobs on a shared machine (its counters are the least too, so read rates from the time).
double fastest(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

void rate(benchmark::State& state, double sites)
{
    state.counters["sites/ns"] = benchmark::Counter(sites * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// The variant the library dispatches to (x86-64-v4 here); all variants compute the same bits.
template <class Real>
auto baoa_kernel() -> void (*)(const cpu::XYBlock<Real>&)
{
    if (__builtin_cpu_supports("x86-64-v4")) return cpu::x86_64_v4::xy_baoa_block;
    if (__builtin_cpu_supports("x86-64-v3")) return cpu::x86_64_v3::xy_baoa_block;
    return cpu::x86_64_v1::xy_baoa_block;
}

}  // namespace

// Philox words alone for 4096 sites (the rule's calls, compiled for this benchmark's ISA: an upper bound on cost).
static void BM_XYPhilox(benchmark::State& state)
{
    std::vector<Philox4x32> w(2048);
    const PhiloxKey key = philox_key(1);
    std::uint64_t step = 0;
    for (auto _ : state) {
        for (std::int64_t j = 0; j < 2048; ++j)
            w[j] = philox4x32_10(philox_counter(j, 0, RngId::xy_langevin, step), key);
        ++step;
        benchmark::DoNotOptimize(w.data());
    }
    rate(state, 4096);
}
BENCHMARK(BM_XYPhilox)->ComputeStatistics("min", fastest);

// One 4096-site block: arg 0 = with noise (Philox, Box–Muller, BAOA, sincos), 1 = T = 0 (BAOA and sincos only).
template <class Real>
static void BM_XYBlock(benchmark::State& state)
{
    const std::int64_t n = 4096;
    Lattice<Real> l(n);
    std::vector<Philox4x32> words(n / 2 + 34);
    std::vector<Real> z(n + 6);
    const XYStep step = xy_step_coefficients(0.1, 1.0, state.range(0) ? 0.0 : 0.9, 1.0, 1.0, 0.0);
    const auto kernel = baoa_kernel<Real>();
    std::uint64_t k = 0;
    for (auto _ : state) {
        kernel({l.theta.data(), l.omega.data(), l.tau.data(), l.C.data(), l.S.data(), l.after_o.data(), words.data(),
                z.data(), 0, n, step, philox_key(1), k++});
        benchmark::DoNotOptimize(l.C.data());
    }
    rate(state, n);
}
BENCHMARK(BM_XYBlock<double>)->Arg(0)->Arg(1)->ComputeStatistics("min", fastest);
BENCHMARK(BM_XYBlock<float>)->Arg(0)->Arg(1)->ComputeStatistics("min", fastest);

// Whole steps: args L, threads; 2D, T = 0.9.
template <class Real>
static void BM_XYStep(benchmark::State& state)
{
    const std::int64_t L = state.range(0);
    omp_set_num_threads(static_cast<int>(state.range(1)));
    PeriodicGrid g;
    g.dim = 2;
    g.n[1] = g.n[2] = L;
    Lattice<Real> l(L * L);
    const XYStep step = xy_step_coefficients(0.1, 1.0, 0.9, 1.0, 1.0, 0.0);
    cpu::xy_torques(g, 1, l.theta.data(), l.tau.data(), 1.0, 0.0);
    std::uint64_t k = 0;
    for (auto _ : state) {
        cpu::xy_langevin(g, 1, l.theta.data(), l.omega.data(), l.tau.data(), &step, 1, 7, k++, nullptr);
        benchmark::DoNotOptimize(l.theta.data());
    }
    rate(state, static_cast<double>(L * L));
}
BENCHMARK(BM_XYStep<double>)->Args({256, 1})->Args({1024, 1})->Args({256, 2})->Unit(benchmark::kMicrosecond)
    ->ComputeStatistics("min", fastest);
BENCHMARK(BM_XYStep<float>)->Args({256, 1})->Args({1024, 1})->Args({256, 2})->Unit(benchmark::kMicrosecond)
    ->ComputeStatistics("min", fastest);

// The CUDA step through XYModel on device 0 (skipped without one). Args: side L of an L x L lattice, replicas R,
// 1 for float64 (0: float32); 20 BAOAB steps at T = 0.8 per call, which ends synchronised. GB/s assumes 12
// values of θ, ω, τ, C, S moved per site-step.
void BM_XYStep_CUDA(benchmark::State& state)
{
    std::string why;
    if (cuda::device_count(&why) == 0) {
        state.SkipWithError(("no CUDA device: " + why).c_str());
        return;
    }
    const std::int64_t L = state.range(0), R = state.range(1), total = L * L * R;
    const bool f64 = state.range(2) == 1;
    XYModel model({L, L}, static_cast<int>(R), f64, Device::cuda, 0, 7);
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
    state.counters["GB/s"] = benchmark::Counter(site_steps * 12 * (f64 ? 8 : 4) * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_XYStep_CUDA)
    ->Args({256, 1, 1})
    ->Args({256, 1, 0})
    ->Args({4096, 1, 1})
    ->Args({4096, 1, 0})
    ->Args({256, 256, 0})
    ->UseRealTime()  // the host thread only waits
    ->Unit(benchmark::kMillisecond);

// Torques alone (sincos of every angle, then the line pass): the part of a step outside the blocks.
template <class Real>
static void BM_XYTorques(benchmark::State& state)
{
    const std::int64_t L = state.range(0);
    omp_set_num_threads(1);
    PeriodicGrid g;
    g.dim = 2;
    g.n[1] = g.n[2] = L;
    Lattice<Real> l(L * L);
    for (auto _ : state) {
        cpu::xy_torques(g, 1, l.theta.data(), l.tau.data(), 1.0, 0.0);
        benchmark::DoNotOptimize(l.tau.data());
    }
    rate(state, static_cast<double>(L * L));
}
BENCHMARK(BM_XYTorques<double>)->Arg(256)->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", fastest);
BENCHMARK(BM_XYTorques<float>)->Arg(256)->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", fastest);

BENCHMARK_MAIN();
