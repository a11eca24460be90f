// Checkerboard Ising kernels. The per-site rule is ising_update() from lattice/ising.hpp, the same function
// the CPU driver calls; each thread serves one Philox call, i.e. four consecutive sites of one colour.
#include <algorithm>
#include <vector>

#include "../core/check.cuh"
#include "symbreak/core/launch.hpp"

namespace symbreak::cuda {
namespace {

constexpr int kBlock = 256;

// Sites are counted over the stacked replicas: global index k = replica P + (offset in its colour), the
// index that keys its Philox half-word (as on the CPU).
__global__ void ising_colour_kernel(CheckerboardGeometry g, std::int8_t* __restrict__ spins, std::int64_t total,
                                    IsingFlipTable table, IsingTieStream tie)
{
    const std::int64_t P = g.sites_per_colour();
    const std::int64_t call = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const std::int64_t k0 = 128 * (call / 16) + call % 16;  // this call's first site (philox_group_half)
    if (k0 >= total) return;
    const Philox4x32 x = philox4x32_10(ising_counter(call, tie.colour, tie.algorithm, tie.step), tie.key);
#pragma unroll
    for (int q = 0; q < 8; ++q) {  // half-word q % 2 of word q / 2 serves site k0 + 16 q
        const std::int64_t k = k0 + 16 * q;
        if (k >= total) break;
        const std::int64_t replica = k / P, kk = k - replica * P;
        std::int8_t* self = spins + (2 * replica + tie.colour) * P;
        const std::int8_t* other = spins + (2 * replica + 1 - tie.colour) * P;
        const std::int64_t r = kk / g.W, j = kk - r * g.W;
        const int n = ising_neighbour_sum(g, other, tie.colour, r, j);
        self[kk] = ising_update(self[kk], n, philox_half(x, q / 2, q % 2), table, tie, k);
    }
}

__device__ long long block_sum(long long v)
{
    __shared__ long long partial[kBlock / 32];
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = (threadIdx.x < kBlock / 32) ? partial[threadIdx.x] : 0;
    if (warp == 0)
        for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

// Integer sums, so atomics are exact and the result is independent of the order blocks finish in. Blocks
// along y take replicas in turn.
__global__ void ising_totals_kernel(CheckerboardGeometry g, const std::int8_t* __restrict__ spins,
                                    std::int64_t replicas, unsigned long long* out)
{
    const std::int64_t P = g.sites_per_colour();
    for (std::int64_t replica = blockIdx.y; replica < replicas; replica += gridDim.y) {
        const std::int8_t* s = spins + 2 * replica * P;
        long long magnet = 0, bonds = 0;
        for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < P;
             k += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
            const std::int64_t r = k / g.W, j = k - r * g.W;
            const int v = s[k];
            magnet += v + s[P + k];
            bonds += v * ising_neighbour_sum(g, s + P, 0, r, j);  // every bond joins colour 0 to colour 1
        }
        magnet = block_sum(magnet);
        __syncthreads();
        bonds = block_sum(bonds);
        if (threadIdx.x == 0) {
            atomicAdd(out + 2 * replica, static_cast<unsigned long long>(magnet));
            atomicAdd(out + 2 * replica + 1, static_cast<unsigned long long>(bonds));
        }
        __syncthreads();  // block_sum's shared scratch is reused by the next replica
    }
}

unsigned grid_for(std::int64_t threads)
{
    const std::int64_t blocks = (threads + kBlock - 1) / kBlock;
    if (blocks > 0x7FFFFFFF) throw std::invalid_argument("lattice too large for one CUDA launch");
    return static_cast<unsigned>(blocks > 0 ? blocks : 1);
}

}  // namespace

void ising_sweep(const CheckerboardGeometry& g, std::int8_t* spins, std::int64_t replicas,
                 const IsingFlipTable& table, IsingAlgorithm algorithm, std::uint64_t seed, std::uint64_t step,
                 int device_id, std::uintptr_t stream)
{
    DeviceGuard guard(device_id);
    const std::int64_t total = replicas * g.sites_per_colour();
    const unsigned grid = grid_for(16 * ((total + 127) / 128));  // one thread per Philox call
    for (int colour = 0; colour < 2; ++colour) {
        const IsingTieStream tie{philox_key(seed), colour, algorithm, step};
        ising_colour_kernel<<<grid, kBlock, 0, as_stream(stream)>>>(g, spins, total, table, tie);
        SYMBREAK_CUDA_CHECK_LAUNCH();
    }
}

void ising_totals(const CheckerboardGeometry& g, const std::int8_t* spins, std::int64_t replicas,
                  std::int64_t* out, int device_id, std::uintptr_t stream)
{
    DeviceGuard guard(device_id);
    const std::size_t bytes = static_cast<std::size_t>(2 * replicas) * sizeof(unsigned long long);
    unsigned long long* d_out = nullptr;
    SYMBREAK_CUDA_CHECK(cudaMallocAsync(&d_out, bytes, as_stream(stream)));
    SYMBREAK_CUDA_CHECK(cudaMemsetAsync(d_out, 0, bytes, as_stream(stream)));
    int sms = 0;
    SYMBREAK_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_id));
    const unsigned budget = 8u * static_cast<unsigned>(sms);  // blocks in flight, split between x and y
    const unsigned gx = std::min<unsigned>(grid_for(g.sites_per_colour()), budget);
    const unsigned gy = static_cast<unsigned>(std::min<std::int64_t>({replicas, budget / gx + 1, 65535}));
    ising_totals_kernel<<<dim3(gx, gy), kBlock, 0, as_stream(stream)>>>(g, spins, replicas, d_out);
    SYMBREAK_CUDA_CHECK_LAUNCH();
    std::vector<unsigned long long> host(static_cast<std::size_t>(2 * replicas));
    SYMBREAK_CUDA_CHECK(cudaMemcpyAsync(host.data(), d_out, bytes, cudaMemcpyDeviceToHost, as_stream(stream)));
    SYMBREAK_CUDA_CHECK(cudaFreeAsync(d_out, as_stream(stream)));
    SYMBREAK_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream)));
    for (std::int64_t i = 0; i < 2 * replicas; ++i) out[i] = static_cast<std::int64_t>(host[i]);
}

}  // namespace symbreak::cuda
