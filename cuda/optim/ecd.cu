// Fused ECD / ECDSep step on the GPU: multi-tensor apply over a chunk table in device memory (any number of
// tensors), a reduction pass with per-chunk partials summed in a fixed order (deterministic), a one-thread
// scalar kernel running the same ecd_scalars() as the CPU, and an update pass. Every scalar stays on the
// device, nothing synchronises with the host, and all launches go to the caller's stream (graph-capturable).
// Sharded, the per-tensor sums and the noise norm are all-reduced in device memory between the launches.
#include <algorithm>

#include "../core/check.cuh"
#include "symbreak/core/launch.hpp"
#include "symbreak/optim/ecd.hpp"
#include "symbreak/optim/tensor_list.hpp"
#include "symbreak/rng/philox.hpp"

namespace symbreak::cuda {
namespace {

constexpr int kThreads = 256;

using Tables = EcdStepTables;  // device arrays, one entry per tensor or per chunk

__device__ EcdSums block_reduce(EcdSums s)
{
    __shared__ EcdSums shared[kThreads];
    shared[threadIdx.x] = s;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) shared[threadIdx.x].add(shared[threadIdx.x + stride]);
        __syncthreads();
    }
    return shared[0];
}

__device__ DType param_type(const Tables& t, int i) { return static_cast<DType>(t.param_dtype[i]); }
__device__ DType grad_type(const Tables& t, int i) { return static_cast<DType>(t.grad_dtype[i]); }

__global__ void reduce_kernel(Tables t, EcdSums* partial)
{
    const int c = blockIdx.x, i = t.chunk_tensor[c];
    const std::int64_t begin = t.chunk_begin[c], end = min(t.numel[i], begin + t.chunk_size);
    const DType tp = param_type(t, i), tg = grad_type(t, i);
    const float w = t.wd[i];
    EcdSums s;
    // Without weight decay G = g and ‖θ‖² is never used (ecd.hpp): θ is not read, 8 instead of 12 bytes/element.
    for (std::int64_t j = begin + threadIdx.x; j < end; j += kThreads)
        ecd_accumulate(w != 0.0f ? load_as_float(tp, t.params[i], j) : 0.0f, load_as_float(tg, t.grads[i], j),
                       t.momenta[i][j], w, s);
    s = block_reduce(s);
    if (threadIdx.x == 0) partial[c] = s;
}

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;

__device__ EcdSums shfl_down(const EcdSums& s, int offset)
{
    return {__shfl_down_sync(kFullMask, s.pp, offset),    __shfl_down_sync(kFullMask, s.pG, offset),
            __shfl_down_sync(kFullMask, s.GG, offset),    __shfl_down_sync(kFullMask, s.tt, offset),
            __shfl_down_sync(kFullMask, s.gg, offset),    __shfl_down_sync(kFullMask, s.nonfinite, offset)};
}

// Per-tensor sums (what cpu::ecd_reduce hands to the scalar phase and, when sharded, to the all-reduce): one warp
// per tensor, its lanes striding over the tensor's chunks, then a fixed shuffle tree (deterministic).
__global__ void sums_kernel(Tables t, const EcdSums* partial, EcdSums* sums)
{
    const int i = blockIdx.x * (kThreads / kWarp) + threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    if (i >= t.n_tensors) return;  // whole warps
    EcdSums s;
    for (int c = t.chunk_first[i] + lane; c < t.chunk_first[i + 1]; c += kWarp) s.add(partial[c]);
    for (int offset = kWarp / 2; offset > 0; offset /= 2) s.add(shfl_down(s, offset));
    if (lane == 0) sums[i] = s;
}

// The totals over tensors and the finiteness check of cpu::ecd_step; a non-finite step sets only the status.
__device__ bool finite_step(const Tables& t, const EcdSums* sums, double F, double* g, EcdSums& total, double& Q)
{
    for (int i = 0; i < t.n_tensors; ++i) total.add(sums[i]);
    Q = ecd_decay_energy(sums, t.wd, t.n_tensors);
    if (total.nonfinite > 0 || !(F - F == 0.0) || !(Q - Q == 0.0)) {
        g[kSlotStatus] = kNonFinite;
        return false;
    }
    return true;
}

// The scalar phase. go[0] = 1 when the update pass should run.
__global__ void scalar_kernel(Tables t, const EcdSums* sums, EcdCoeffs* coeffs, EcdHyper hp, int kind,
                              const double* loss, double* g, int* go)
{
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    go[0] = 0;
    EcdSums total;
    double Q = 0;
    const double F = *loss;
    if (!finite_step(t, sums, F, g, total, Q)) return;
    const bool ok = kind == 0 ? ecd_scalars(sums, t.lr, t.eta, t.wd, t.n_tensors, F, hp, g, coeffs)
                              : ecdsep_scalars(sums, t.lr, t.eta, t.wd, t.n_tensors, F, hp, g, coeffs);
    g[kSlotStatus] = ok ? kApplied : kFloor;
    if (ok) g[kSlotNu] = kind == 0 ? hp.nu / sqrt(g[kSlotD]) : hp.nu;  // a skipped step changes only the status
    go[0] = ok ? 1 : 0;
}

// First step: p = -scale g (ECD: scale = 1/‖g‖; ECDSep: √(δE/‖g‖²)) and the initial globals.
__global__ void init_scalar_kernel(Tables t, const EcdSums* sums, EcdHyper hp, int kind, const double* loss,
                                   double* g, int* go)
{
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    go[0] = 0;
    if (g[kSlotInitialized] != 0.0) return;  // the host launches this until it has seen the first step succeed
    EcdSums total;
    double Q = 0;
    const double F = *loss;
    if (!finite_step(t, sums, F, g, total, Q)) return;
    g[kSlotScratch] = ecd_initialise(kind, total, Q, F, hp, g);  // slot D was set by the caller
    go[0] = 1;
}

__global__ void init_kernel(Tables t, const double* g, const int* go)
{
    if (!go[0]) return;
    const float scale = static_cast<float>(g[kSlotScratch]);
    const int c = blockIdx.x, i = t.chunk_tensor[c];
    const std::int64_t begin = t.chunk_begin[c], end = min(t.numel[i], begin + t.chunk_size);
    const DType tg = grad_type(t, i);
    for (std::int64_t j = begin + threadIdx.x; j < end; j += kThreads)
        t.momenta[i][j] = -scale * load_as_float(tg, t.grads[i], j);
}

__global__ void update_kernel(Tables t, const EcdCoeffs* coeffs, const int* go)
{
    if (!go[0]) return;
    const int c = blockIdx.x, i = t.chunk_tensor[c];
    const std::int64_t begin = t.chunk_begin[c], end = min(t.numel[i], begin + t.chunk_size);
    const EcdCoeffs k = coeffs[i];
    const DType tp = param_type(t, i), tg = grad_type(t, i);
    for (std::int64_t j = begin + threadIdx.x; j < end; j += kThreads) {
        float th = load_as_float(tp, t.params[i], j);
        ecd_element(th, load_as_float(tg, t.grads[i], j), t.momenta[i][j], t.wd[i], k);
        store_from_float(tp, t.params[i], j, th);
    }
}

// Noise runs when the step ran and, as on the CPU, only with a momentum to rescale to (P > 0): at P = 0 (all
// gradients zero) p / P would turn the zero momenta into NaN.
__device__ bool noise_runs(const double* g, const int* go) { return go[0] && g[kSlotP2] > 0; }

// p ← p / P + ν z and per-chunk ‖p‖² partials.
__global__ void noise_kernel(Tables t, const double* g, const int* go, PhiloxKey key, RngId id, double* partial)
{
    const int c = blockIdx.x, i = t.chunk_tensor[c];
    __shared__ double acc[kThreads];
    acc[threadIdx.x] = 0;
    if (noise_runs(g, go)) {
        const float inv_P = static_cast<float>(1.0 / sqrt(g[kSlotP2])), nu = static_cast<float>(g[kSlotNu]);
        const std::uint64_t step = static_cast<std::uint64_t>(g[kSlotStep]);
        const std::int64_t begin = t.chunk_begin[c], end = min(t.numel[i], begin + t.chunk_size);
        for (std::int64_t j = begin + threadIdx.x; j < end; j += kThreads) {
            const std::uint64_t e = static_cast<std::uint64_t>(t.offset[i] + j);
            double z[2];
            normal2_double(philox4x32_10(philox_counter(e / 2, 0, id, step), key), z[0], z[1]);
            float& p = t.momenta[i][j];
            p = p * inv_P + nu * static_cast<float>(z[e % 2]);
            acc[threadIdx.x] += static_cast<double>(p) * p;
        }
    }
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) acc[threadIdx.x] += acc[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[c] = acc[0];
}

// ‖p‖² after the noise: one block, each thread striding over the chunks' partials, then a fixed tree.
__global__ void norm_kernel(Tables t, const double* partial, double* norm2)
{
    __shared__ double acc[kThreads];
    double sum = 0;
    for (int c = threadIdx.x; c < t.n_chunks; c += kThreads) sum += partial[c];
    acc[threadIdx.x] = sum;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) acc[threadIdx.x] += acc[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) *norm2 = acc[0];
}

__global__ void rescale_kernel(Tables t, const double* norm2, const double* g, const int* go)
{
    if (!noise_runs(g, go)) return;
    const float scale = static_cast<float>(sqrt(g[kSlotP2]) / sqrt(*norm2));  // the CPU's P / ‖p‖, rounded alike
    const int c = blockIdx.x, i = t.chunk_tensor[c];
    const std::int64_t begin = t.chunk_begin[c], end = min(t.numel[i], begin + t.chunk_size);
    for (std::int64_t j = begin + threadIdx.x; j < end; j += kThreads) t.momenta[i][j] *= scale;
}

__global__ void finish_kernel(double* g, const int* go)
{
    if (go[0]) g[kSlotStep] += 1.0;
}

// The kernels in cpu::ecd_step's order. A rank may hold no elements at all (an empty shard): then only the
// sums (zeros) and the scalar kernels run.
void launch_step(const Tables& t, const EcdStepBuffers& b, const EcdHyper& hp, int kind, bool first, std::uint64_t seed,
                 cudaStream_t s, const DeviceAllReduce& allreduce)
{
    const unsigned grid = static_cast<unsigned>(t.n_chunks);
    auto* partial = static_cast<EcdSums*>(b.partial);
    auto* sums = static_cast<EcdSums*>(b.sums);
    auto* go = static_cast<int*>(b.flag);
    auto* g = static_cast<double*>(b.globals);
    const auto* loss = static_cast<const double*>(b.loss);
    auto reduce = [&] {
        if (grid > 0) reduce_kernel<<<grid, kThreads, 0, s>>>(t, partial);
        const int warps = kThreads / kWarp;  // tensors per block
        sums_kernel<<<static_cast<unsigned>(std::max(1, (t.n_tensors + warps - 1) / warps)), kThreads, 0, s>>>(
            t, partial, sums);
        SYMBREAK_CUDA_CHECK_LAUNCH();
        if (allreduce) allreduce(reinterpret_cast<double*>(sums), t.n_tensors * sizeof(EcdSums) / sizeof(double));
    };
    if (first) {
        reduce();
        init_scalar_kernel<<<1, 1, 0, s>>>(t, sums, hp, kind, loss, g, go);
        if (grid > 0) init_kernel<<<grid, kThreads, 0, s>>>(t, g, go);
        SYMBREAK_CUDA_CHECK_LAUNCH();
    }
    reduce();
    scalar_kernel<<<1, 1, 0, s>>>(t, sums, static_cast<EcdCoeffs*>(b.coeffs), hp, kind, loss, g, go);
    if (grid > 0) update_kernel<<<grid, kThreads, 0, s>>>(t, static_cast<const EcdCoeffs*>(b.coeffs), go);
    SYMBREAK_CUDA_CHECK_LAUNCH();
    if (hp.nu > 0) {
        auto* noise_partial = static_cast<double*>(b.noise_partial);
        auto* norm2 = static_cast<double*>(b.norm2);
        const RngId id = kind == 0 ? RngId::ecd_noise : RngId::ecdsep_noise;
        if (grid > 0) noise_kernel<<<grid, kThreads, 0, s>>>(t, g, go, philox_key(seed), id, noise_partial);
        norm_kernel<<<1, kThreads, 0, s>>>(t, noise_partial, norm2);
        SYMBREAK_CUDA_CHECK_LAUNCH();
        if (allreduce) allreduce(norm2, 1);
        if (grid > 0) rescale_kernel<<<grid, kThreads, 0, s>>>(t, norm2, g, go);
        SYMBREAK_CUDA_CHECK_LAUNCH();
    }
    finish_kernel<<<1, 1, 0, s>>>(g, go);
    SYMBREAK_CUDA_CHECK_LAUNCH();
}

}  // namespace

void ecd_step(const EcdStepTables& tables, const EcdStepBuffers& buf, const EcdHyper& hp, int kind, bool first,
              std::uint64_t seed, int device_id, std::uintptr_t stream, const DeviceAllReduce& allreduce)
{
    DeviceGuard guard(device_id);
    launch_step(tables, buf, hp, kind, first, seed, as_stream(stream), allreduce);
}

}  // namespace symbreak::cuda
