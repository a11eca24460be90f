// The particle simulator's CUDA kernels, one thread per particle (or per cell), each the GPU twin of a loop
// of the CPU driver (cpp/src/particles/md.cpp, md_kernels.cpp) with the same expressions in the same order.
// Included by md.cu only, which documents the launch sequence of a step.
#pragma once
#include <algorithm>
#include <cstdint>

#include "symbreak/particles/md.hpp"
#include "symbreak/particles/md_cells.hpp"

namespace symbreak::md_gpu {

constexpr int kThreads = 256;  // a multiple of kMDBlock: the lanes of a list block share a CUDA block
constexpr int kScanThreads = 1024;
constexpr unsigned long long kNoPair = ~0ull;
static_assert(kThreads % kMDBlock == 0, "list blocks must not straddle CUDA blocks");

// Written by the kernels, read by the host after each advance() and forced rebuild.
struct Status {
    unsigned long long overlap;  // (i << 32) | j of the first pair closer than min_distance; kNoPair if none
    long long rebuilds;
    long long error_step;
    int nonfinite;  // some position or velocity is not finite
    int runaway;    // some particle moved further than r_cut + skin in one step (the CPU's report_runaway)
    int bad_index;  // the first such particle (sorted order)
    int max_count;  // longest list built since the host last looked
};

// A rebuild is cut short by these (set before it starts, or by its own first kernel)...
__device__ inline bool stopped(const Status* s) { return s->nonfinite != 0 || s->runaway != 0; }
// ...and every later kernel of the call by these as well.
__device__ inline bool failed(const Status* s) { return stopped(s) || s->overlap != kNoPair; }
// For first_half: an error of an earlier step. Its own threads may raise the flags of this step, which must not
// stop the others halfway (the CPU moves every particle before it reports).
__device__ inline bool failed_before(const Status* s, std::uint64_t step)
{
    return s->overlap != kNoPair || (stopped(s) && static_cast<std::uint64_t>(s->error_step) < step);
}

// Every device array and constant the kernels need (passed by value).
template <class T, int D>
struct View {
    T *x[D], *v[D], *f[D], *xref[D];  // xref: the positions at the last list build
    T *x_old[D], *v_old[D], *f_old[D];  // the previous order during a sort
    std::int32_t *tag, *tag_old, *cell_of, *cell_old, *cell_count, *cell_start, *perm, *nbr, *count;
    const std::int32_t *run_start, *runs;
    Status* status;
    std::int64_t n, n_cells, stride;
    std::int64_t cells[D];
    double inv_cell[D], limit2;  // limit2 = min_distance²
    T L[D], half_L[D], rl2;
};

template <class T, int D>
struct Field {
    T* p[D];
};

__device__ inline std::int64_t thread_index()
{
    return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// The list build's distance: the same expression as the CPU's, so the same pairs pass r² < (r_cut + skin)².
template <class T, int D>
__device__ T distance2(const T (&xi)[D], T* const* xs, std::int64_t j, const View<T, D>& a)
{
    T r2 = 0;
    for (int d = 0; d < D; ++d) {
        const T dx = md_min_image(xi[d] - xs[d][j], a.L[d], a.half_L[d]);
        r2 += dx * dx;
    }
    return r2;
}

// md_first_half, as the CPU's first_half, and the flags it raises.
template <class T, int D, bool kLangevin>
__global__ void first_half_kernel(View<T, D> a, MDStep c, PhiloxKey key, std::uint64_t step, T limit,
                                  T reach2, int* flag)
{
    const std::int64_t i = thread_index();
    if (i >= a.n || failed_before(a.status, step)) return;
    const MDMove<T> m = md_first_half<T, D, kLangevin>(a.x, a.v, a.f, a.xref, i, static_cast<std::uint64_t>(a.tag[i]),
                                                       c, key, step, a.L, a.half_L);
    const T d2 = m.since_build, s2 = m.this_step;
    const bool finite = m.finite;
    if (!(d2 <= limit)) *flag = 1;
    if (!(s2 <= reach2)) {  // the CPU stops before the rebuild: name a non-finite particle first, as it does
        if (!finite) {
            atomicMin(&a.status->bad_index, static_cast<int>(i));
            a.status->nonfinite = 1;
        }
        a.status->runaway = 1;
        a.status->error_step = static_cast<long long>(step);
    }
}

// Rebuild 1/5: non-finite check, cell of each particle, cell occupancy, and a copy of the current order.
// Gated on the flag only: every non-finite particle must take part in the minimum index.
template <class T, int D>
__global__ void count_kernel(View<T, D> a, const int* go, std::int64_t step)
{
    const std::int64_t i = thread_index();
    if (i >= a.n || *go == 0 || a.status->runaway) return;
    T xi[D];
    bool finite = true;
    for (int d = 0; d < D; ++d) {
        xi[d] = a.x[d][i];
        finite = finite && isfinite(xi[d]) && isfinite(a.v[d][i]);
    }
    if (!finite) {
        atomicMin(&a.status->bad_index, static_cast<int>(i));
        a.status->nonfinite = 1;
        a.status->error_step = step;
        return;
    }
    const std::int32_t c = md_cell_index<T, D>(xi, a.cells, a.inv_cell);
    a.cell_old[i] = c;
    atomicAdd(&a.cell_count[c], 1);
    for (int d = 0; d < D; ++d) {
        a.x_old[d][i] = xi[d];
        a.v_old[d][i] = a.v[d][i];
        a.f_old[d][i] = a.f[d][i];
    }
    a.tag_old[i] = a.tag[i];
}

// Rebuild 2/5, one block: cell_start = exclusive prefix sum of the occupancies (each thread scans a chunk of
// cells, the chunk totals are scanned in shared memory); the occupancies are zeroed for the scatter.
__global__ void scan_kernel(std::int32_t* cell_count, std::int32_t* cell_start, std::int64_t n_cells,
                            const int* go, const Status* status)
{
    if (*go == 0 || stopped(status)) return;
    __shared__ std::int32_t total[kScanThreads];
    const int t = threadIdx.x;
    const std::int64_t chunk = (n_cells + kScanThreads - 1) / kScanThreads;
    const std::int64_t c0 = std::min<std::int64_t>(n_cells, t * chunk);
    const std::int64_t c1 = std::min<std::int64_t>(n_cells, c0 + chunk);
    std::int32_t own = 0;
    for (std::int64_t c = c0; c < c1; ++c) own += cell_count[c];
    total[t] = own;
    __syncthreads();
    for (int offset = 1; offset < kScanThreads; offset <<= 1) {  // inclusive scan of the chunk totals
        const std::int32_t add = t >= offset ? total[t - offset] : 0;
        __syncthreads();
        total[t] += add;
        __syncthreads();
    }
    std::int32_t start = total[t] - own;
    for (std::int64_t c = c0; c < c1; ++c) {
        cell_start[c] = start;
        start += cell_count[c];
        cell_count[c] = 0;
    }
    if (t == kScanThreads - 1) cell_start[n_cells] = total[t];
}

// Rebuild 3/5: each particle takes a slot of its cell (in any order; sort_gather restores the stable one).
template <class T, int D>
__global__ void scatter_kernel(View<T, D> a, const int* go)
{
    const std::int64_t i = thread_index();
    if (i >= a.n || *go == 0 || stopped(a.status)) return;
    const std::int32_t c = a.cell_old[i];
    a.perm[a.cell_start[c] + atomicAdd(&a.cell_count[c], 1)] = static_cast<std::int32_t>(i);
}

// Rebuild 4/5, one thread per cell: the cell's slots in increasing old index (the CPU's stable counting
// sort; cells hold a few particles, so insertion sort), then the new order of x, v, f, tag; xref = x.
template <class T, int D>
__global__ void sort_gather_kernel(View<T, D> a, const int* go)
{
    const std::int64_t c = thread_index();
    if (c >= a.n_cells || *go == 0 || stopped(a.status)) return;
    const std::int32_t s0 = a.cell_start[c], s1 = a.cell_start[c + 1];
    for (std::int32_t k = s0 + 1; k < s1; ++k) {
        const std::int32_t p = a.perm[k];
        std::int32_t m = k;
        for (; m > s0 && a.perm[m - 1] > p; --m) a.perm[m] = a.perm[m - 1];
        a.perm[m] = p;
    }
    for (std::int32_t k = s0; k < s1; ++k) {
        const std::int32_t o = a.perm[k];
        for (int d = 0; d < D; ++d) {
            const T x = a.x_old[d][o];
            a.x[d][k] = x;
            a.xref[d][k] = x;
            a.v[d][k] = a.v_old[d][o];
            a.f[d][k] = a.f_old[d][o];
        }
        a.tag[k] = a.tag_old[o];
        a.cell_of[k] = static_cast<std::int32_t>(c);
    }
    a.cell_count[c] = 0;
}

// Rebuild 5/5: the full Verlet list of the positions xref, in the CPU's order (runs of cells in increasing
// id, so neighbours in increasing sorted index). Entries past the stride are counted, not stored. The first
// pair closer than min_distance (smallest i, then smallest j: the pair the CPU reports) is recorded.
template <class T, int D>
__global__ void build_kernel(View<T, D> a, const int* go, std::int64_t step, bool count_rebuild)
{
    if (*go == 0 || stopped(a.status)) return;  // the same for the whole block
    __shared__ int block_max;
    if (threadIdx.x == 0) block_max = 0;
    __syncthreads();
    const std::int64_t i = thread_index();
    if (i < a.n) {
        if (count_rebuild && i == 0) ++a.status->rebuilds;
        T xi[D];
        for (int d = 0; d < D; ++d) xi[d] = a.xref[d][i];
        const std::int32_t cell = a.cell_of[i];
        std::int32_t* nb = a.nbr + (i / kMDBlock) * a.stride * kMDBlock + i % kMDBlock;
        std::int32_t c = 0;
        bool overlap = false;
        for (std::int32_t r = a.run_start[cell]; r < a.run_start[cell + 1]; ++r) {
            const std::int32_t j1 = a.cell_start[a.runs[2 * r + 1]];
            for (std::int32_t j = a.cell_start[a.runs[2 * r]]; j < j1; ++j) {
                const T r2 = distance2<T, D>(xi, a.xref, j, a);
                if (!(r2 < a.rl2) || j == i) continue;
                if (c < a.stride) nb[static_cast<std::int64_t>(c) * kMDBlock] = j;
                ++c;
                if (!overlap && static_cast<double>(r2) < a.limit2) {
                    overlap = true;
                    const auto key = (static_cast<unsigned long long>(i) << 32) | static_cast<unsigned>(j);
                    atomicMin(&a.status->overlap, key);
                    a.status->error_step = step;
                }
            }
        }
        a.count[i] = c;
        atomicMax(&block_max, c);
    }
    __syncthreads();
    if (threadIdx.x == 0) atomicMax(&a.status->max_count, block_max);
}

// Forces of one particle from its list (or, if the list overflowed, from its cells with the list's
// criterion), in list order, as the CPU's force_blocks lane does. Pairs beyond r_cut are skipped where the
// CPU adds +0. With kEnergy, V and W of each list block of 16 are summed in lane order in double and halved.
template <class T, int D, class P, bool kEnergy, bool kDamp>
__global__ void __launch_bounds__(kThreads)
    force_kernel(View<T, D> a, P pot, Field<T, D> out, T rc2, T inv_rc, T damping, double* block_e,
                 double* block_w)
{
    if (failed(a.status)) return;  // the same for the whole block
    const std::int64_t i = thread_index();
    const bool active = i < a.n;
    T fi[D] = {}, e = 0, w = 0;
    if (active) {
        T xi[D], vi[D];
        for (int d = 0; d < D; ++d) {
            xi[d] = a.x[d][i];
            vi[d] = kDamp ? a.v[d][i] : T(0);
        }
        auto visit = [&](std::int32_t j) {
            T dx[D], r2 = 0;
            for (int d = 0; d < D; ++d) {
                dx[d] = md_min_image(xi[d] - a.x[d][j], a.L[d], a.half_L[d]);
                r2 += dx[d] * dx[d];
            }
            if (!(r2 < rc2)) return;
            T fr, en;
            pot.eval(r2, fr, en);
            if constexpr (kEnergy) {  // conservative forces only
                e += en;
                w += fr * r2;
            }
            if constexpr (kDamp) {
                T dv = 0;
                for (int d = 0; d < D; ++d) dv += dx[d] * (vi[d] - a.v[d][j]);
                const T wgt = T(1) - sqrt(r2) * inv_rc;
                fr -= damping * wgt * wgt * dv / r2;
            }
            for (int d = 0; d < D; ++d) fi[d] += fr * dx[d];
        };
        const std::int32_t cnt = a.count[i];
        if (cnt <= a.stride) {
            const std::int32_t* nb = a.nbr + (i / kMDBlock) * a.stride * kMDBlock + i % kMDBlock;
            for (std::int32_t k = 0; k < cnt; ++k) visit(nb[static_cast<std::int64_t>(k) * kMDBlock]);
        } else {
            T xr[D];
            for (int d = 0; d < D; ++d) xr[d] = a.xref[d][i];
            const std::int32_t cell = a.cell_of[i];
            for (std::int32_t r = a.run_start[cell]; r < a.run_start[cell + 1]; ++r) {
                const std::int32_t j1 = a.cell_start[a.runs[2 * r + 1]];
                for (std::int32_t j = a.cell_start[a.runs[2 * r]]; j < j1; ++j)
                    if (j != i && distance2<T, D>(xr, a.xref, j, a) < a.rl2) visit(j);
            }
        }
        for (int d = 0; d < D; ++d) out.p[d][i] = fi[d];
    }
    if constexpr (kEnergy) {
        __shared__ T se[kThreads], sw[kThreads];
        se[threadIdx.x] = e;
        sw[threadIdx.x] = w;
        __syncthreads();
        if (active && i % kMDBlock == 0) {
            double es = 0, ws = 0;  // every pair is seen from both ends: halve
            for (int l = 0; l < kMDBlock && i + l < a.n; ++l) {
                es += se[threadIdx.x + l];
                ws += sw[threadIdx.x + l];
            }
            block_e[i / kMDBlock] = 0.5 * es;
            block_w[i / kMDBlock] = 0.5 * ws;
        }
    }
}

template <class T, int D>
__global__ void second_half_kernel(View<T, D> a, T h)
{
    const std::int64_t i = thread_index();
    if (i >= a.n || failed(a.status)) return;
    for (int d = 0; d < D; ++d) a.v[d][i] += h * a.f[d][i];
}

// Per CUDA block: Σ v² and Σ v (float64, a fixed tree: the same sums every run).
template <class T, int D>
__global__ void __launch_bounds__(kThreads) kinetic_kernel(View<T, D> a, double* partial)
{
    __shared__ double s[D + 1][kThreads];
    const std::int64_t i = thread_index();
    const int t = threadIdx.x;
    for (int q = 0; q <= D; ++q) s[q][t] = 0;
    if (i < a.n)
        for (int d = 0; d < D; ++d) {
            const double v = a.v[d][i];
            s[0][t] += v * v;
            s[d + 1][t] = v;
        }
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half >>= 1) {
        if (t < half)
            for (int q = 0; q <= D; ++q) s[q][t] += s[q][t + half];
        __syncthreads();
    }
    if (t == 0)
        for (int q = 0; q <= D; ++q) partial[blockIdx.x * (D + 1) + q] = s[q][0];
}

// x in the order of the last sort, from x_old in the order before it.
template <class T, int D>
__global__ void permute_kernel(View<T, D> a)
{
    const std::int64_t k = thread_index();
    if (k >= a.n) return;
    for (int d = 0; d < D; ++d) a.x[d][k] = a.x_old[d][a.perm[k]];
}

}  // namespace symbreak::md_gpu
