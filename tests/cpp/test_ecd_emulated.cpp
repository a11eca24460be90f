// The fused CUDA ECD / ECDSep step (cuda/optim/ecd.cu) run on the CPU through cuda_emulation/, against the CPU
// fused step (cpu::ecd_step), with the device tables and the host protocol of python/symbreak/optim/_fused.py:
// pointer and chunk tables (chunks of 2^16 elements), garbage-filled scratch buffers, a zeroed flag, the float64
// loss and slot tensors, slot D written before the first ECD step, `first` until the slots say initialised.
//
// Parameters and momenta must agree bit for bit: both sides apply the same float rules (ecd_element, the noise
// update) with the same float coefficients. The float64 sums are the same exact products added in a different
// order (GPU: 256 strided threads, a tree, then chunks; CPU: 8 lanes per 8192-element block, then blocks), so
// P², E and F̃ agree to round-off: at most 1.2e-14 relative in these runs, 1e-12 allowed (a wrong or missing term
// moves them by far more). The coefficients are such doubles rounded to float, which a difference that small
// changes only at a rounding boundary (no step of these fixed data is one). What only a GPU can show (device
// rounding: FMA contraction, libdevice log/sin/cos in the noise; the memory model; speed) is left to the
// gpu-marked tests of tests/test_optim_ecd.py.
//
// Sharded (FSDP-style), two ranks on two host threads each step a slice of every tensor, all-reducing the
// per-tensor sums and the noise norm between launches as a NCCL or gloo sum would; joined, their parameters and
// momenta equal the one-process CPU step's bit for bit.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "symbreak/core/launch.hpp"  // symbreak::cuda::ecd_step is the emulated step in this test
#include "symbreak/optim/ecd_cpu.hpp"

using namespace symbreak;

namespace {

constexpr std::int64_t kChunk = 1 << 16;  // _fused._CHUNK

std::size_t element_bytes(DType t) { return t == DType::float32 ? 4 : 2; }

// One optimizer's tensors on one side. Tensor 3 spans two chunks; a frozen tensor of 500 elements sits between
// tensors 2 and 3 (count_frozen: it counts in d and in the offsets); tensor 2 has a bf16 gradient for its fp32
// parameter.
struct Model {
    std::vector<std::int64_t> numel{1, 37, 1000, 70001, 257};
    std::vector<DType> dtype{DType::float32, DType::bfloat16, DType::float32, DType::float32, DType::float16};
    std::vector<DType> grad_dtype{DType::float32, DType::bfloat16, DType::bfloat16, DType::float32, DType::float16};
    std::vector<std::int64_t> offset;
    std::vector<float> lr{0.05f, 0.03f, 0.05f, 0.02f, 0.04f}, eta{1.0f, 1.5f, 1.0f, 2.0f, 1.0f}, wd;
    std::vector<std::vector<unsigned char>> params, grads;
    std::vector<std::vector<float>> momenta;
    double d = 0;

    explicit Model(bool decay)
    {
        std::mt19937_64 rng(17);
        std::normal_distribution<float> normal;
        std::int64_t at = 0;
        for (std::size_t i = 0; i < numel.size(); ++i) {
            offset.push_back(at);
            at += numel[i] + (i == 2 ? 500 : 0);
            wd.push_back(decay && i % 2 == 0 ? 0.01f * static_cast<float>(i + 1) : 0.0f);
            params.emplace_back(numel[i] * element_bytes(dtype[i]));
            grads.emplace_back(numel[i] * element_bytes(grad_dtype[i]));
            momenta.emplace_back(numel[i], 0.0f);  // torch.zeros, as _base creates them
            for (std::int64_t j = 0; j < numel[i]; ++j) store_from_float(dtype[i], params[i].data(), j, normal(rng));
        }
        d = static_cast<double>(at);
    }

    int count() const { return static_cast<int>(numel.size()); }

    // Gradients of ½‖θ‖² plus step-dependent noise (scale 0: all zero).
    void set_grads(int step, float scale)
    {
        std::mt19937_64 rng(1000 + step);
        std::normal_distribution<float> normal;
        for (int i = 0; i < count(); ++i)
            for (std::int64_t j = 0; j < numel[i]; ++j) {
                const float th = load_as_float(dtype[i], params[i].data(), j);
                store_from_float(grad_dtype[i], grads[i].data(), j, scale * (th + 0.5f * normal(rng)));
            }
    }
    void set_grad(int i, std::int64_t j, float v) { store_from_float(grad_dtype[i], grads[i].data(), j, v); }
};

// The CPU fused step over a Model.
struct Cpu {
    Model m;
    std::vector<double> g = std::vector<double>(kSlotCount, 0.0);

    void step(cpu::EcdKind kind, const EcdHyper& hp, double loss, std::uint64_t seed)
    {
        std::vector<void*> p;
        std::vector<const void*> gr;
        std::vector<float*> mo;
        for (int i = 0; i < m.count(); ++i) {
            p.push_back(m.params[i].data());
            gr.push_back(m.grads[i].data());
            mo.push_back(m.momenta[i].data());
        }
        const TensorList t{m.count(), p.data(), m.dtype.data(), gr.data(), m.grad_dtype.data(), mo.data(),
                           m.numel.data(), m.offset.data(), m.wd.data()};
        cpu::ecd_step(kind, t, m.lr.data(), m.eta.data(), hp, loss, g.data(), seed, m.d, {});
    }
};

// Device memory of the emulation (runtime.cpp: host memory, garbage-filled like torch.empty).
struct DeviceBytes {
    void* p;
    explicit DeviceBytes(std::size_t bytes) : p(cuda::malloc(bytes, 0)) {}
    ~DeviceBytes() { cuda::free(p, 0); }
    DeviceBytes(const DeviceBytes&) = delete;
    DeviceBytes& operator=(const DeviceBytes&) = delete;
};

// The CUDA step with _CudaTables' tables and _step_cuda's host protocol.
struct Gpu {
    Model m;
    std::vector<double> g = std::vector<double>(kSlotCount, 0.0);  // torch.zeros(NUM_SLOTS, float64)
    std::vector<void*> params;
    std::vector<const void*> grads;
    std::vector<float*> momenta;
    std::vector<int> param_dtype, grad_dtype, chunk_tensor, chunk_first{0};
    std::vector<std::int64_t> chunk_begin;
    std::vector<int> flag{0};
    DeviceBytes partial, sums, coeffs, noise_partial, norm2;
    double loss = 0;
    bool initialized = false;
    cuda::DeviceAllReduce allreduce;  // set on the ranks of a sharded run
    std::int64_t chunk;

    explicit Gpu(const Model& model, std::int64_t chunk_size = kChunk)
        : m(model), partial(chunks(model, chunk_size) * sizeof(EcdSums)), sums(model.numel.size() * sizeof(EcdSums)),
          coeffs(model.numel.size() * sizeof(EcdCoeffs)), noise_partial(chunks(model, chunk_size) * sizeof(double)),
          norm2(sizeof(double)), chunk(chunk_size)
    {
        for (int i = 0; i < m.count(); ++i) {
            params.push_back(m.params[i].data());
            grads.push_back(m.grads[i].data());
            momenta.push_back(m.momenta[i].data());
            param_dtype.push_back(static_cast<int>(m.dtype[i]));
            grad_dtype.push_back(static_cast<int>(m.grad_dtype[i]));
            for (std::int64_t b = 0; b < m.numel[i]; b += chunk) {
                chunk_tensor.push_back(i);
                chunk_begin.push_back(b);
            }
            chunk_first.push_back(static_cast<int>(chunk_tensor.size()));
        }
    }
    static std::size_t chunks(const Model& model, std::int64_t chunk_size)
    {
        std::size_t c = 0;
        for (auto n : model.numel) c += static_cast<std::size_t>((n + chunk_size - 1) / chunk_size);
        return c;
    }

    void step(cpu::EcdKind kind, const EcdHyper& hp, double loss_value, std::uint64_t seed)
    {
        // _step_cuda writes D before every first ECD step, also one that is then skipped as non-finite (the CPU
        // step writes it only when it initialises): a skipped first step differs from the CPU's in slot D only.
        if (!initialized) {
            initialized = g[kSlotInitialized] != 0.0;
            if (!initialized && kind == cpu::EcdKind::ecd) g[kSlotD] = m.d;
        }
        loss = loss_value;
        const cuda::EcdStepTables t{params.data(), param_dtype.data(), grads.data(), grad_dtype.data(),
                                    momenta.data(), m.numel.data(), m.offset.data(), m.lr.data(), m.eta.data(),
                                    m.wd.data(), chunk_tensor.data(), chunk_begin.data(), chunk_first.data(), m.count(),
                                    static_cast<int>(chunk_tensor.size()), chunk};
        const cuda::EcdStepBuffers b{partial.p, sums.p, coeffs.p, noise_partial.p, norm2.p, flag.data(), g.data(), &loss};
        cuda::ecd_step(t, b, hp, static_cast<int>(kind), !initialized, seed, 0, 0, allreduce);
    }
};

EcdHyper hyper(cpu::EcdKind kind, bool noise, bool global_projection)
{
    if (kind == cpu::EcdKind::ecd)
        return {1.0, -1.0, noise ? 0.5 : 0.0, 1.0, 0.0, 1e-10, 1e-40, true, global_projection};
    // ECDSep from rest (δE = 0, the default) with the global projection flag set, else with δE = 0.3.
    return {1.3, 0.0, noise ? 1e-3 : 0.0, 1.0, global_projection ? 0.0 : 0.3, 1e-10, 1e-40, true, false};
}

// Bits of every parameter and momentum; every slot but the round-off ones (P², E, F̃: see the top) and the GPU's
// scratch slot exactly.
void expect_same(const Model& a, const std::vector<double>& ga, const Model& b, const std::vector<double>& gb,
                 const std::string& where)
{
    for (int i = 0; i < a.count(); ++i) {
        EXPECT_EQ(a.params[i], b.params[i]) << where << ": parameters of tensor " << i;
        EXPECT_EQ(0, std::memcmp(a.momenta[i].data(), b.momenta[i].data(), a.momenta[i].size() * 4))
            << where << ": momenta of tensor " << i;
    }
    for (int s = 0; s < kSlotCount; ++s) {
        if (s == kSlotScratch) continue;
        if (s == kSlotP2 || s == kSlotE || s == kSlotF)
            EXPECT_NEAR(ga[s], gb[s], 1e-12 * std::abs(ga[s])) << where << ": slot " << s;
        else
            EXPECT_EQ(ga[s], gb[s]) << where << ": slot " << s;
    }
}
void expect_same(const Cpu& a, const Gpu& b, const std::string& where) { expect_same(a.m, a.g, b.m, b.g, where); }

// A skipped step changes no slot but the status.
void expect_only_status_changed(const std::vector<double>& before, const std::vector<double>& after, int step)
{
    for (int s = 0; s < kSlotCount; ++s)
        if (s != kSlotStatus) EXPECT_EQ(before[s], after[s]) << "step " << step << " slot " << s;
}

class Steps : public testing::TestWithParam<std::tuple<cpu::EcdKind, bool, bool>> {};

TEST_P(Steps, EqualCpuStepBitForBit)
{
    const auto [kind, noise, decay] = GetParam();
    const EcdHyper hp = hyper(kind, noise, decay);  // with decay: ECD's global projection, ECDSep from rest
    Cpu cpu{Model(decay)};
    Gpu gpu(cpu.m);
    for (int step = 0; step < 6; ++step) {
        cpu.m.set_grads(step, 1.0f);
        gpu.m.set_grads(step, 1.0f);
        const double loss = 1.5 - 0.05 * step;
        cpu.step(kind, hp, loss, 99);
        gpu.step(kind, hp, loss, 99);
        expect_same(cpu, gpu, "step " + std::to_string(step));
        ASSERT_EQ(gpu.g[kSlotStatus], kApplied);
    }
    EXPECT_EQ(gpu.g[kSlotStep], 6.0);
    EXPECT_NE(cpu.m.params, Model(decay).params);  // the step moved something
}

INSTANTIATE_TEST_SUITE_P(EcdEmulated, Steps,
                         testing::Combine(testing::Values(cpu::EcdKind::ecd, cpu::EcdKind::ecdsep), testing::Bool(),
                                          testing::Bool()),
                         [](const testing::TestParamInfo<Steps::ParamType>& info) {
                             return std::string(std::get<0>(info.param) == cpu::EcdKind::ecd ? "Ecd" : "EcdSep") +
                                    (std::get<1>(info.param) ? "Noise" : "NoNoise") +
                                    (std::get<2>(info.param) ? "Decay" : "NoDecay");
                         });

// Chunks of 256 elements instead of _fused's 2^16: tensor 3 spans 274 chunks, more than a warp's 32 lanes take in
// one stride, so the per-tensor sums run their striding loop and full shuffle tree, and the noise norm its tree
// over many partials; the step still equals the CPU's.
TEST(EcdEmulated, ManyChunksPerTensorEqualCpuStep)
{
    for (auto kind : {cpu::EcdKind::ecd, cpu::EcdKind::ecdsep}) {
        SCOPED_TRACE(static_cast<int>(kind));
        const EcdHyper hp = hyper(kind, true, true);
        Cpu cpu{Model(true)};
        Gpu gpu(cpu.m, 256);
        for (int step = 0; step < 4; ++step) {
            cpu.m.set_grads(step, 1.0f);
            gpu.m.set_grads(step, 1.0f);
            cpu.step(kind, hp, 1.5 - 0.05 * step, 7);
            gpu.step(kind, hp, 1.5 - 0.05 * step, 7);
            expect_same(cpu, gpu, "step " + std::to_string(step));
            ASSERT_EQ(gpu.g[kSlotStatus], kApplied);
        }
    }
}

// A non-finite gradient or loss skips the step on both sides, leaving everything but the status slot bit-identical,
// before and after the first step; the next finite step goes on as on the CPU.
TEST(EcdEmulated, NonFiniteStepsAreSkippedLikeTheCpus)
{
    for (auto kind : {cpu::EcdKind::ecd, cpu::EcdKind::ecdsep}) {
        SCOPED_TRACE(static_cast<int>(kind));
        const EcdHyper hp = hyper(kind, true, true);
        Cpu cpu{Model(true)};
        Gpu gpu(cpu.m);
        for (int step = 0; step < 6; ++step) {
            const Model before = gpu.m;
            const std::vector<double> slots = gpu.g;
            cpu.m.set_grads(step, 1.0f);
            gpu.m.set_grads(step, 1.0f);
            double loss = 1.5 - 0.05 * step;
            if (step == 0 || step == 3) {  // an inf in the bf16 tensor, a NaN in the second chunk of tensor 3
                cpu.m.set_grad(1, 5, std::numeric_limits<float>::infinity());
                gpu.m.set_grad(1, 5, std::numeric_limits<float>::infinity());
                cpu.m.set_grad(3, 70000, std::nanf(""));
                gpu.m.set_grad(3, 70000, std::nanf(""));
            }
            if (step == 4) loss = std::nan("");
            cpu.step(kind, hp, loss, 5);
            gpu.step(kind, hp, loss, 5);
            if (step == 0 && kind == cpu::EcdKind::ecd) {  // see Gpu::step: D is the host's, written up front
                EXPECT_EQ(gpu.g[kSlotD], gpu.m.d);
                gpu.g[kSlotD] = cpu.g[kSlotD];
            }
            expect_same(cpu, gpu, "step " + std::to_string(step));
            const bool skipped = step == 0 || step == 3 || step == 4;
            EXPECT_EQ(gpu.g[kSlotStatus], skipped ? kNonFinite : kApplied) << step;
            if (!skipped) continue;
            EXPECT_EQ(before.params, gpu.m.params) << step;
            EXPECT_EQ(before.momenta, gpu.m.momenta) << step;
            expect_only_status_changed(slots, gpu.g, step);
        }
        EXPECT_EQ(gpu.g[kSlotStep], 3.0);
    }
}

// F̃ (ECD) or V (ECDSep) at the floor: the first call still initialises the momenta (and INITIALIZED, D, P², E),
// then nothing but the status slot changes, on both sides.
TEST(EcdEmulated, FloorSkipsLeaveEverythingButStatusLikeTheCpus)
{
    for (auto kind : {cpu::EcdKind::ecd, cpu::EcdKind::ecdsep}) {
        SCOPED_TRACE(static_cast<int>(kind));
        EcdHyper hp = hyper(kind, true, false);
        hp.F0 = 10.0;  // F̃ = loss + Q - F0 < 0, and with ECDSep V = 0
        Cpu cpu{Model(false)};
        Gpu gpu(cpu.m);
        for (int step = 0; step < 3; ++step) {
            cpu.m.set_grads(step, 1.0f);
            gpu.m.set_grads(step, 1.0f);
            const std::vector<double> slots = gpu.g;
            cpu.step(kind, hp, 1.0, 5);
            gpu.step(kind, hp, 1.0, 5);
            expect_same(cpu, gpu, "step " + std::to_string(step));
            EXPECT_EQ(gpu.g[kSlotStatus], kFloor);
            EXPECT_EQ(gpu.g[kSlotInitialized], 1.0);
            if (step > 0) expect_only_status_changed(slots, gpu.g, step);
        }
        EXPECT_EQ(gpu.g[kSlotStep], 0.0);
    }
}

// All-zero gradients without weight decay: the momenta start and stay at zero (P² = 0), so there is no direction
// to rescale the noise to; the CPU then adds no noise. Momenta compare by value: the CPU initialises p = 0·p - s·g
// (+0 for g = 0), the GPU p = -s·g (-0).
TEST(EcdEmulated, ZeroGradientsWithNoiseKeepZeroMomentaLikeTheCpus)
{
    for (auto kind : {cpu::EcdKind::ecd, cpu::EcdKind::ecdsep}) {
        SCOPED_TRACE(static_cast<int>(kind));
        const EcdHyper hp = hyper(kind, true, true);
        Cpu cpu{Model(false)};
        Gpu gpu(cpu.m);
        for (int step = 0; step < 3; ++step) {
            cpu.m.set_grads(step, 0.0f);
            gpu.m.set_grads(step, 0.0f);
            cpu.step(kind, hp, 1.0, 5);
            gpu.step(kind, hp, 1.0, 5);
            for (int i = 0; i < cpu.m.count(); ++i) {
                EXPECT_EQ(cpu.m.params[i], gpu.m.params[i]) << "step " << step << " tensor " << i;
                EXPECT_EQ(cpu.m.momenta[i], gpu.m.momenta[i]) << "step " << step << " tensor " << i;
            }
            EXPECT_EQ(cpu.g, gpu.g);
            EXPECT_EQ(gpu.g[kSlotP2], 0.0);
        }
    }
}

// --- Sharded (FSDP-style) steps: two ranks, each holding a slice of every tensor --------------------------------

// Rank 0 holds the first ⌈3n/4⌉ elements of a tensor of n, rank 1 the rest (the 1-element tensor leaves rank 1
// an empty shard).
std::pair<std::int64_t, std::int64_t> shard_bounds(std::int64_t n, int rank)
{
    const std::int64_t split = (3 * n + 3) / 4;
    return rank == 0 ? std::pair{std::int64_t{0}, split} : std::pair{split, n};
}

template <class T>
std::vector<T> slice(const std::vector<T>& v, std::int64_t lo, std::int64_t hi, std::size_t width = 1)
{
    return {v.begin() + lo * static_cast<std::int64_t>(width), v.begin() + hi * static_cast<std::int64_t>(width)};
}

// Rank r's shard of a model, at the slices' global offsets; d stays the total, which _fused all-reduces from the
// ranks' counts before the first step.
Model shard(const Model& full, int rank)
{
    Model s = full;
    for (int i = 0; i < full.count(); ++i) {
        const auto [lo, hi] = shard_bounds(full.numel[i], rank);
        s.numel[i] = hi - lo;
        s.offset[i] = full.offset[i] + lo;
        s.params[i] = slice(full.params[i], lo, hi, element_bytes(full.dtype[i]));
        s.grads[i] = slice(full.grads[i], lo, hi, element_bytes(full.grad_dtype[i]));
        s.momenta[i] = slice(full.momenta[i], lo, hi);
    }
    return s;
}

// The two ranks' shards side by side again.
Model join(const Model& full, const Model& rank0, const Model& rank1)
{
    Model j = full;
    for (int i = 0; i < full.count(); ++i) {
        j.params[i] = rank0.params[i];
        j.params[i].insert(j.params[i].end(), rank1.params[i].begin(), rank1.params[i].end());
        j.momenta[i] = rank0.momenta[i];
        j.momenta[i].insert(j.momenta[i].end(), rank1.momenta[i].begin(), rank1.momenta[i].end());
    }
    return j;
}

// Two ranks stepping on two host threads, meeting at each all-reduce (summing rank 0's values + rank 1's, as a
// 2-rank gloo or NCCL sum does). The emulator is not reentrant (__shared__ is a static), so only the rank holding
// the turn runs kernels: the first rank to reach an all-reduce hands the turn over and waits; the second sums and
// runs on. A rank that all-reduces more or less often than the other stalls, which fails the test after 60 s.
class TwoRanks {
public:
    cuda::DeviceAllReduce for_rank(int rank)
    {
        return [this, rank](double* data, std::size_t n) { allreduce(rank, data, n); };
    }

    // Runs one step of each rank, rank 0 first.
    void step(const std::function<void(int)>& body)
    {
        turn_ = 0;
        std::string error[2];
        auto run = [&](int rank) {
            try {
                wait_until([&] { return turn_ == rank; });
                body(rank);
            } catch (const std::exception& e) {
                error[rank] = e.what();
            }
            std::lock_guard lock(mutex_);
            turn_ = 1 - rank;
            changed_.notify_all();
        };
        std::thread other(run, 1);
        run(0);
        other.join();
        for (const auto& e : error) ASSERT_TRUE(e.empty()) << e;
    }

    int calls() const { return calls_; }

private:
    void allreduce(int rank, double* data, std::size_t n)
    {
        std::unique_lock lock(mutex_);
        waiting_[rank] = {data, n};
        if (!waiting_[1 - rank].first) {  // first here: let the other rank run up to this point
            const int generation = generation_;
            turn_ = 1 - rank;
            changed_.notify_all();
            wait_until(lock, [&] { return generation_ != generation && turn_ == rank; });
            return;
        }
        if (waiting_[0].second != waiting_[1].second) throw std::runtime_error("ranks all-reduce different sizes");
        for (std::size_t k = 0; k < n; ++k) {
            const double sum = waiting_[0].first[k] + waiting_[1].first[k];
            waiting_[0].first[k] = waiting_[1].first[k] = sum;
        }
        waiting_[0] = waiting_[1] = {nullptr, 0};
        ++generation_;
        ++calls_;
    }

    template <class Ready>
    void wait_until(Ready ready)
    {
        std::unique_lock lock(mutex_);
        wait_until(lock, ready);
    }
    template <class Ready>
    void wait_until(std::unique_lock<std::mutex>& lock, Ready ready)
    {
        if (!changed_.wait_for(lock, std::chrono::seconds(60), ready))
            throw std::runtime_error("a rank waited 60 s: the ranks do not all-reduce in step");
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    int turn_ = 0, generation_ = 0, calls_ = 0;
    std::pair<double*, std::size_t> waiting_[2] = {{nullptr, 0}, {nullptr, 0}};
};

// FSDP-style: each rank steps its slices, the per-tensor sums and the noise norm all-reduced between the
// launches; together they follow the one-process CPU step, parameters and momenta bit for bit.
TEST_P(Steps, ShardedOverTwoRanksFollowsOneProcess)
{
    const auto [kind, noise, decay] = GetParam();
    const EcdHyper hp = hyper(kind, noise, decay);
    Cpu cpu{Model(decay)};
    Gpu rank[2] = {Gpu(shard(cpu.m, 0)), Gpu(shard(cpu.m, 1))};
    ASSERT_EQ(rank[1].m.numel[0], 0);  // an empty shard takes part
    TwoRanks ranks;
    for (int r = 0; r < 2; ++r) rank[r].allreduce = ranks.for_rank(r);
    const int steps = 6;
    for (int step = 0; step < steps; ++step) {
        cpu.m.set_grads(step, 1.0f);
        for (int r = 0; r < 2; ++r) {  // into the buffers the rank's pointer table holds
            const Model fresh = shard(cpu.m, r);
            for (int i = 0; i < cpu.m.count(); ++i)
                std::copy(fresh.grads[i].begin(), fresh.grads[i].end(), rank[r].m.grads[i].begin());
        }
        const double loss = 1.5 - 0.05 * step;
        cpu.step(kind, hp, loss, 99);
        ranks.step([&](int r) { rank[r].step(kind, hp, loss, 99); });
        const std::string where = "step " + std::to_string(step);
        expect_same(cpu.m, cpu.g, join(cpu.m, rank[0].m, rank[1].m), rank[0].g, where);
        EXPECT_EQ(rank[0].g, rank[1].g) << where;
    }
    // Per step: the sums (twice on the first step) and, with noise, the norm.
    EXPECT_EQ(ranks.calls(), (steps + 1) * 1 + (noise ? steps : 0));
    EXPECT_EQ(rank[0].g[kSlotStep], steps);
}

}  // namespace
