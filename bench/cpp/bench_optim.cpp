// Microbenchmarks of the fused CPU ECD step: the reduce pass, the update pass and a whole step, in GB/s of the
// bytes each pass must move. Without weight decay the reduce reads g and p (G = g; with all = 1 also θ, for
// ‖θ‖²); the update reads θ, g, p and writes θ, p. dtype: 0 fp32, 1 bf16, 2 fp16 parameters and gradients
// (momenta are always fp32).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <vector>

#include "symbreak/optim/ecd_cpu.hpp"

using namespace symbreak;

namespace {

struct Model {
    std::vector<std::vector<char>> theta, grad;
    std::vector<std::vector<float>> mom;
    std::vector<void*> tp;
    std::vector<const void*> gp;
    std::vector<float*> mp;
    std::vector<std::int64_t> numel, offset;
    std::vector<float> wd, lr, eta;
    std::vector<DType> dtypes;
    TensorList list;
    int width;  // bytes per parameter (and gradient) element

    Model(std::int64_t n, int tensors, DType dtype) : width(dtype == DType::float32 ? 4 : 2)
    {
        std::mt19937 rng(1);
        std::normal_distribution<float> normal;
        std::int64_t off = 0;
        for (int i = 0; i < tensors; ++i) {
            const std::int64_t m = n / tensors;
            theta.emplace_back(m * width);
            grad.emplace_back(m * width);
            mom.emplace_back(m);
            for (std::int64_t j = 0; j < m; ++j) {
                store_from_float(dtype, theta.back().data(), j, normal(rng));
                store_from_float(dtype, grad.back().data(), j, normal(rng));
            }
            numel.push_back(m);
            offset.push_back(off);
            off += m;
        }
        for (int i = 0; i < tensors; ++i) {
            tp.push_back(theta[i].data());
            gp.push_back(grad[i].data());
            mp.push_back(mom[i].data());
        }
        wd.assign(tensors, 0.0f);
        lr.assign(tensors, 1.0f);
        eta.assign(tensors, 100.0f);
        dtypes.assign(tensors, dtype);
        list = {tensors, tp.data(), dtypes.data(), gp.data(), dtypes.data(), mp.data(), numel.data(), offset.data(), wd.data()};
    }
    std::int64_t elements() const { return offset.back() + numel.back(); }
};

void report(benchmark::State& state, const Model& m, double bytes_per_element)
{
    state.counters["GB/s"] = benchmark::Counter(bytes_per_element * m.elements() * state.iterations() / 1e9,
                                                benchmark::Counter::kIsRate);
}

DType dtype_arg(const benchmark::State& state, int i) { return static_cast<DType>(state.range(i)); }

}  // namespace

static void BM_EcdReduce(benchmark::State& state)
{
    omp_set_num_threads(static_cast<int>(state.range(1)));
    Model m(state.range(0), 16, dtype_arg(state, 3));
    std::vector<EcdSums> sums(16);
    const bool all = state.range(2) != 0;
    for (auto _ : state) cpu::ecd_reduce(m.list, sums.data(), all);
    report(state, m, (all ? 2 * m.width : m.width) + 4);
}

static void BM_EcdUpdate(benchmark::State& state)
{
    omp_set_num_threads(static_cast<int>(state.range(1)));
    Model m(state.range(0), 16, dtype_arg(state, 2));
    std::vector<EcdCoeffs> c(16, EcdCoeffs{0.999f, 1e-6f, 1e-6f});
    for (auto _ : state) cpu::ecd_update(m.list, c.data());
    report(state, m, 3 * m.width + 8);
}

static void BM_EcdStep(benchmark::State& state)
{
    omp_set_num_threads(static_cast<int>(state.range(1)));
    Model m(state.range(0), 16, DType::float32);
    const EcdHyper hp{100.0, 0.0, 0.0, 1.0, 0.0, 1e-10, 1e-40, true, false};
    std::vector<double> g(kSlotCount, 0.0);
    g[kSlotD] = static_cast<double>(m.elements());
    for (auto _ : state)
        cpu::ecd_step(cpu::EcdKind::ecd, m.list, m.lr.data(), m.eta.data(), hp, 5.0, g.data(), 0, g[kSlotD], {});
    report(state, m, 28);  // the conventional 28 bytes per parameter per step (here: reduce 8 + update 20)
}

// all = 0: the sums of an ordinary step without weight decay (⟨p,G⟩, ‖p‖², ‖G‖²); 1: also ‖θ‖², ‖g‖². The
// 2^16-element rows stay in L2 and show the compute speed of a pass; the 2^24-element rows its memory speed.
BENCHMARK(BM_EcdReduce)->ArgNames({"n", "threads", "all", "dtype"})
    ->ArgsProduct({{1 << 16, 1 << 24}, {1, 2}, {0, 1}, {0}})->Args({1 << 24, 1, 0, 1})->Args({1 << 24, 1, 0, 2})
    ->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EcdUpdate)->ArgNames({"n", "threads", "dtype"})
    ->ArgsProduct({{1 << 16, 1 << 24}, {1, 2}, {0}})->Args({1 << 24, 1, 1})->Args({1 << 24, 1, 2})
    ->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EcdStep)->ArgNames({"n", "threads"})->Args({1 << 24, 1})->Args({1 << 24, 2})->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
