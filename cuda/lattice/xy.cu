// XY rotors on a CUDA device: the CPU driver's step (cpp/src/lattice/xy.cpp) with the same per-site rules
// (lattice/xy.hpp), all R replicas in each launch. One step is two launches on the legacy default stream:
//   baoa      thread k serves Philox call k, i.e. the xy_sites_per_call (2 in float64, 4 in float32) global
//             sites from per · k (the group may straddle two replicas, as on the CPU): B A O A, then cos θ and
//             sin θ of the new angle into C and S
//   torque_b  one thread per site: the neighbours' C and S summed in the CPU line kernel's order
//             (xy_neighbour_sum), the torque, the closing B
// This file is compiled with --fmad=false and the rules use only +, -, ×, ÷, √ and bit operations (poly_math
// instead of libm), so θ, ω and τ are bitwise equal to the CPU's for the same seed, in float32 and float64.
// Sums over sites (the observables' totals, the post-O Σ ω²) are per-block partials in a fixed order, added
// in float64 on the host in a fixed order: deterministic, but ordered differently from the CPU's sequential
// blocks, and the totals call CUDA's cos/sin where the CPU calls glibc's: equal to round-off, not bitwise.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "../core/check.cuh"
#include "symbreak/core/launch.hpp"

namespace symbreak::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kPerThread = static_cast<int>(kXYReduceSites / kThreads);  // sites one thread adds in a reduction

unsigned grid_for(std::int64_t threads)
{
    const std::int64_t blocks = (threads + kThreads - 1) / kThreads;
    if (blocks > 0x7FFFFFFF) throw std::invalid_argument("XY lattice too large for one CUDA launch");
    return static_cast<unsigned>(blocks > 0 ? blocks : 1);
}

__device__ std::int64_t thread_index() { return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }

// With keep_after_o, ω right after O replaces τ (dead until torque_b rewrites it) for the post-O reduction.
template <class Real>
__global__ void baoa_kernel(Real* __restrict__ theta, Real* __restrict__ omega, Real* __restrict__ tau,
                            Real* __restrict__ C, Real* __restrict__ S, std::int64_t total, XYStep c, PhiloxKey key,
                            std::uint64_t step, bool keep_after_o)
{
    constexpr int per = xy_sites_per_call<Real>;
    const std::int64_t k = thread_index(), e0 = per * k;
    if (e0 >= total) return;
    Real z[per] = {};
    if (c.sigma > 0)
        xy_call_normals(philox4x32_10(philox_counter(static_cast<std::uint64_t>(k), 0, RngId::xy_langevin, step), key),
                        z);
    for (int lane = 0; lane < per && e0 + lane < total; ++lane) {
        const std::int64_t e = e0 + lane;
        Real th = theta[e], om = omega[e], cs, sn;
        const Real after_o = xy_baoa_cs(th, om, tau[e], z[lane], c, cs, sn);
        theta[e] = th;
        omega[e] = om;
        C[e] = cs;
        S[e] = sn;
        if (keep_after_o) tau[e] = after_o;
    }
}

template <class Real>
__global__ void torque_b_kernel(PeriodicGrid g, const Real* __restrict__ C, const Real* __restrict__ S,
                                Real* __restrict__ tau, Real* __restrict__ omega, std::int64_t total, XYStep c)
{
    const std::int64_t e = thread_index();
    if (e >= total) return;
    const std::int64_t N = g.sites(), L = g.n[2];
    const std::int64_t r = e / N, s = e - r * N, line = s / L, x = s - line * L, base = e - x;
    std::int64_t adj[4];
    const int n = xy_adjacent_lines(g, line, adj);
    for (auto& a : adj) a = r * N + a * L + x;
    const std::int64_t right = base + (x + 1 == L ? 0 : x + 1), left = base + (x == 0 ? L - 1 : x - 1);
    Real sc, ss;
    if (n == 4) {
        sc = xy_neighbour_sum<4>(C[right], C[left], C[adj[0]], C[adj[1]], C[adj[2]], C[adj[3]]);
        ss = xy_neighbour_sum<4>(S[right], S[left], S[adj[0]], S[adj[1]], S[adj[2]], S[adj[3]]);
    } else if (n == 2) {
        sc = xy_neighbour_sum<2>(C[right], C[left], C[adj[0]], C[adj[1]], Real(0), Real(0));
        ss = xy_neighbour_sum<2>(S[right], S[left], S[adj[0]], S[adj[1]], Real(0), Real(0));
    } else {
        sc = xy_neighbour_sum<0>(C[right], C[left], Real(0), Real(0), Real(0), Real(0));
        ss = xy_neighbour_sum<0>(S[right], S[left], Real(0), Real(0), Real(0), Real(0));
    }
    const Real t = xy_torque(C[e], S[e], sc, ss, static_cast<Real>(c.J), static_cast<Real>(c.h));
    tau[e] = t;
    Real om = omega[e];
    xy_b(om, t, c);
    omega[e] = om;
}

// Block b sums kXYReduceSites sites of replica b / per_replica (thread t takes sites t, t + kThreads, ... in
// turn), then a tree over its threads; partial[b] gets the fields' sums. kTotals: the four XYTotals; else Σ v²
// of `values` (one field).
template <class Real, bool kTotals>
__global__ void reduce_kernel(PeriodicGrid g, const Real* __restrict__ theta, const Real* __restrict__ values,
                              std::int64_t per_replica, double* __restrict__ partial)
{
    constexpr int F = kTotals ? 4 : 1;
    __shared__ double sum[F][kThreads];
    const std::int64_t N = g.sites(), r = blockIdx.x / per_replica;
    const std::int64_t begin = (blockIdx.x - r * per_replica) * kXYReduceSites;
    const int t = threadIdx.x;
    XYTotals acc;
    for (int i = 0; i < kPerThread; ++i) {
        const std::int64_t s = begin + static_cast<std::int64_t>(i) * kThreads + t;
        if (s >= N) break;
        if constexpr (kTotals)
            xy_accumulate(g, theta + r * N, values + r * N, s, acc);
        else
            acc.omega2 += static_cast<double>(values[r * N + s]) * values[r * N + s];
    }
    const double fields[4] = {acc.cos_sum, acc.sin_sum, acc.bond_sum, acc.omega2};
    for (int f = 0; f < F; ++f) sum[f][t] = fields[kTotals ? f : 3];
    __syncthreads();
    for (int width = kThreads / 2; width > 0; width /= 2) {
        if (t < width)
            for (int f = 0; f < F; ++f) sum[f][t] += sum[f][t + width];
        __syncthreads();
    }
    if (t == 0)
        for (int f = 0; f < F; ++f) partial[blockIdx.x * F + f] = sum[f][0];
}

// Launches the reduction and adds its partials per replica in block order: out[r · F + f].
template <class Real, bool kTotals>
void reduce(const PeriodicGrid& g, int replicas, const Real* theta, const Real* values, double* partial, double* out)
{
    constexpr int F = kTotals ? 4 : 1;
    const std::int64_t per_replica = (g.sites() + kXYReduceSites - 1) / kXYReduceSites, blocks = per_replica * replicas;
    if (blocks > 0x7FFFFFFF) throw std::invalid_argument("XY lattice too large for one CUDA launch");
    reduce_kernel<Real, kTotals><<<static_cast<unsigned>(blocks), kThreads>>>(g, theta, values, per_replica, partial);
    SYMBREAK_CUDA_CHECK_LAUNCH();
    std::vector<double> host(static_cast<std::size_t>(blocks * F));
    SYMBREAK_CUDA_CHECK(cudaMemcpy(host.data(), partial, host.size() * sizeof(double), cudaMemcpyDeviceToHost));
    for (int r = 0; r < replicas; ++r)
        for (int f = 0; f < F; ++f) {
            double s = 0;
            for (std::int64_t b = 0; b < per_replica; ++b) s += host[(r * per_replica + b) * F + f];
            out[r * F + f] = s;
        }
}

template <class Real>
void langevin(const PeriodicGrid& g, int replicas, const XYDeviceArrays<Real>& a, const XYStep* steps,
              std::int64_t n, std::uint64_t seed, std::uint64_t step0, double* post_o, int device_id)
{
    DeviceGuard guard(device_id);
    const std::int64_t total = g.sites() * replicas;
    const PhiloxKey key = philox_key(seed);
    constexpr int per = xy_sites_per_call<Real>;
    const unsigned calls = grid_for((total + per - 1) / per), sites = grid_for(total);
    for (std::int64_t i = 0; i < n; ++i) {
        const XYStep c = steps[i];
        const std::uint64_t step = step0 + static_cast<std::uint64_t>(i);
        const bool last = i + 1 == n && post_o;
        baoa_kernel<Real><<<calls, kThreads>>>(a.theta, a.omega, a.tau, a.C, a.S, total, c, key, step, last);
        SYMBREAK_CUDA_CHECK_LAUNCH();
        if (last) reduce<Real, false>(g, replicas, a.theta, a.tau, a.partial, post_o);
        torque_b_kernel<Real><<<sites, kThreads>>>(g, a.C, a.S, a.tau, a.omega, total, c);
        SYMBREAK_CUDA_CHECK_LAUNCH();
    }
    SYMBREAK_CUDA_CHECK(cudaDeviceSynchronize());  // faults surface here; DLPack readers see the finished step
}

template <class Real>
void totals(const PeriodicGrid& g, int replicas, const XYDeviceArrays<Real>& a, XYTotals* out, int device_id)
{
    DeviceGuard guard(device_id);
    std::vector<double> sums(static_cast<std::size_t>(4 * replicas));
    reduce<Real, true>(g, replicas, a.theta, a.omega, a.partial, sums.data());
    for (int r = 0; r < replicas; ++r) out[r] = {sums[4 * r], sums[4 * r + 1], sums[4 * r + 2], sums[4 * r + 3]};
}

}  // namespace

void xy_langevin(const PeriodicGrid& g, int replicas, const XYDeviceArrays<float>& a, const XYStep* steps,
                 std::int64_t n, std::uint64_t seed, std::uint64_t step0, double* post_o, int device_id)
{
    langevin(g, replicas, a, steps, n, seed, step0, post_o, device_id);
}
void xy_langevin(const PeriodicGrid& g, int replicas, const XYDeviceArrays<double>& a, const XYStep* steps,
                 std::int64_t n, std::uint64_t seed, std::uint64_t step0, double* post_o, int device_id)
{
    langevin(g, replicas, a, steps, n, seed, step0, post_o, device_id);
}
void xy_totals(const PeriodicGrid& g, int replicas, const XYDeviceArrays<float>& a, XYTotals* out, int device_id)
{
    totals(g, replicas, a, out, device_id);
}
void xy_totals(const PeriodicGrid& g, int replicas, const XYDeviceArrays<double>& a, XYTotals* out, int device_id)
{
    totals(g, replicas, a, out, device_id);
}

}  // namespace symbreak::cuda
