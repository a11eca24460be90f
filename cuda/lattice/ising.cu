// Checkerboard Ising kernels. The per-site rule is ising_update() from lattice/ising.hpp, the same function
// the CPU driver calls; each thread serves one Philox call, i.e. four consecutive sites of one colour.
#include "../core/check.cuh"
#include "symbreak/core/launch.hpp"

namespace symbreak::cuda {
namespace {

constexpr int kBlock = 256;

__global__ void ising_colour_kernel(CheckerboardGeometry g, std::int8_t* __restrict__ spins, IsingFlipTable table,
                                    IsingTieStream tie)
{
    const std::int64_t P = g.sites_per_colour();
    const std::int64_t call = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const std::int64_t k0 = 128 * (call / 16) + call % 16;  // this call's first site (philox_group_half)
    if (k0 >= P) return;
    std::int8_t* self = spins + tie.colour * P;
    const std::int8_t* other = spins + (1 - tie.colour) * P;
    const Philox4x32 x = philox4x32_10(ising_counter(call, tie.colour, tie.algorithm, tie.step), tie.key);
#pragma unroll
    for (int q = 0; q < 8; ++q) {  // half-word q % 2 of word q / 2 serves site k0 + 16 q
        const std::int64_t k = k0 + 16 * q;
        if (k >= P) break;
        const std::int64_t r = k / g.W, j = k - r * g.W;
        const int n = ising_neighbour_sum(g, other, tie.colour, r, j);
        self[k] = ising_update(self[k], n, philox_half(x, q / 2, q % 2), table, tie, k);
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

// Integer sums, so atomics are exact and the result is independent of the order blocks finish in.
__global__ void ising_totals_kernel(CheckerboardGeometry g, const std::int8_t* __restrict__ spins,
                                    unsigned long long* out)
{
    const std::int64_t P = g.sites_per_colour();
    long long magnet = 0, bonds = 0;
    for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < P;
         k += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t r = k / g.W, j = k - r * g.W;
        const int s = spins[k];
        magnet += s + spins[P + k];
        bonds += s * ising_neighbour_sum(g, spins + P, 0, r, j);  // every bond joins colour 0 to colour 1
    }
    magnet = block_sum(magnet);
    __syncthreads();
    bonds = block_sum(bonds);
    if (threadIdx.x == 0) {
        atomicAdd(out, static_cast<unsigned long long>(magnet));
        atomicAdd(out + 1, static_cast<unsigned long long>(bonds));
    }
}

unsigned grid_for(std::int64_t threads)
{
    const std::int64_t blocks = (threads + kBlock - 1) / kBlock;
    if (blocks > 0x7FFFFFFF) throw std::invalid_argument("lattice too large for one CUDA launch");
    return static_cast<unsigned>(blocks > 0 ? blocks : 1);
}

}  // namespace

void ising_sweep(const CheckerboardGeometry& g, std::int8_t* spins, const IsingFlipTable& table,
                 IsingAlgorithm algorithm, std::uint64_t seed, std::uint64_t step, int device_id,
                 std::uintptr_t stream)
{
    DeviceGuard guard(device_id);
    const unsigned grid = grid_for(16 * ((g.sites_per_colour() + 127) / 128));  // one thread per Philox call
    for (int colour = 0; colour < 2; ++colour) {
        const IsingTieStream tie{philox_key(seed), colour, algorithm, step};
        ising_colour_kernel<<<grid, kBlock, 0, as_stream(stream)>>>(g, spins, table, tie);
        SYMBREAK_CUDA_CHECK_LAUNCH();
    }
}

void ising_totals(const CheckerboardGeometry& g, const std::int8_t* spins, std::int64_t out[2], int device_id,
                  std::uintptr_t stream)
{
    DeviceGuard guard(device_id);
    unsigned long long* d_out = nullptr;
    SYMBREAK_CUDA_CHECK(cudaMallocAsync(&d_out, 2 * sizeof(unsigned long long), as_stream(stream)));
    SYMBREAK_CUDA_CHECK(cudaMemsetAsync(d_out, 0, 2 * sizeof(unsigned long long), as_stream(stream)));
    int sms = 0;
    SYMBREAK_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_id));
    const unsigned grid = std::min<unsigned>(grid_for(g.sites_per_colour()), 8u * static_cast<unsigned>(sms));
    ising_totals_kernel<<<grid, kBlock, 0, as_stream(stream)>>>(g, spins, d_out);
    SYMBREAK_CUDA_CHECK_LAUNCH();
    unsigned long long host[2];
    SYMBREAK_CUDA_CHECK(cudaMemcpyAsync(host, d_out, sizeof(host), cudaMemcpyDeviceToHost, as_stream(stream)));
    SYMBREAK_CUDA_CHECK(cudaFreeAsync(d_out, as_stream(stream)));
    SYMBREAK_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream)));
    out[0] = static_cast<std::int64_t>(host[0]);
    out[1] = static_cast<std::int64_t>(host[1]);
}

}  // namespace symbreak::cuda
