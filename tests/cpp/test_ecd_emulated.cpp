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
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
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
    std::vector<int> param_dtype, grad_dtype, chunk_tensor;
    std::vector<std::int64_t> chunk_begin;
    std::vector<int> flag{0};
    DeviceBytes partial, sums, coeffs, noise_partial;
    double loss = 0;
    bool initialized = false;

    explicit Gpu(const Model& model)
        : m(model), partial(chunks(model) * sizeof(EcdSums)), sums(model.numel.size() * sizeof(EcdSums)),
          coeffs(model.numel.size() * sizeof(EcdCoeffs)), noise_partial(chunks(model) * sizeof(double))
    {
        for (int i = 0; i < m.count(); ++i) {
            params.push_back(m.params[i].data());
            grads.push_back(m.grads[i].data());
            momenta.push_back(m.momenta[i].data());
            param_dtype.push_back(static_cast<int>(m.dtype[i]));
            grad_dtype.push_back(static_cast<int>(m.grad_dtype[i]));
            for (std::int64_t b = 0; b < m.numel[i]; b += kChunk) {
                chunk_tensor.push_back(i);
                chunk_begin.push_back(b);
            }
        }
    }
    static std::size_t chunks(const Model& model)
    {
        std::size_t c = 0;
        for (auto n : model.numel) c += static_cast<std::size_t>((n + kChunk - 1) / kChunk);
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
                                    m.wd.data(), chunk_tensor.data(), chunk_begin.data(), m.count(),
                                    static_cast<int>(chunk_tensor.size()), kChunk};
        const cuda::EcdStepBuffers b{partial.p, sums.p, coeffs.p, noise_partial.p, flag.data(), g.data(), &loss};
        cuda::ecd_step(t, b, hp, static_cast<int>(kind), !initialized, seed, 0, 0);
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
void expect_same(const Cpu& a, const Gpu& b, const std::string& where)
{
    for (int i = 0; i < a.m.count(); ++i) {
        EXPECT_EQ(a.m.params[i], b.m.params[i]) << where << ": parameters of tensor " << i;
        EXPECT_EQ(0, std::memcmp(a.m.momenta[i].data(), b.m.momenta[i].data(), a.m.momenta[i].size() * 4))
            << where << ": momenta of tensor " << i;
    }
    for (int s = 0; s < kSlotCount; ++s) {
        if (s == kSlotScratch) continue;
        if (s == kSlotP2 || s == kSlotE || s == kSlotF)
            EXPECT_NEAR(a.g[s], b.g[s], 1e-12 * std::abs(a.g[s])) << where << ": slot " << s;
        else
            EXPECT_EQ(a.g[s], b.g[s]) << where << ": slot " << s;
    }
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
            for (int s = 0; s < kSlotCount; ++s)
                if (s != kSlotStatus) EXPECT_EQ(slots[s], gpu.g[s]) << "step " << step << " slot " << s;
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
            if (step > 0)
                for (int s = 0; s < kSlotCount; ++s)
                    if (s != kSlotStatus) EXPECT_EQ(slots[s], gpu.g[s]) << "step " << step << " slot " << s;
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

}  // namespace
