// The particle simulator on a CUDA device: the CPU driver's algorithm (cpp/src/particles/md.cpp) with one
// thread per particle, the same rules (pair.hpp, md.hpp), the same cell sort (md_cells.hpp) and the same
// neighbour-list layout and order. Each particle sums its own full list in list order, and this file is
// compiled without FMA contraction (as the CPU kernels are), so forces built from +, -, ×, ÷ and √ round
// exactly as on the CPU; exp (Morse) and the Box-Muller normals differ from glibc's in the last ulp.
//
// One step is a fixed sequence of launches on the legacy default stream, with no host synchronisation:
//   memset      clears the step's rebuild flag
//   first_half  B, then A (or A O A), wrap; raises the flag when a particle has moved more than skin/2 since
//               the last list build, or is not finite
//   count, scan, scatter, sort_gather, build
//               the rebuild: every thread returns at once while the flag is clear. Launching them every
//               step costs a few microseconds of idle kernels; reading the flag on the host instead would
//               stall the pipeline every step, and a graph with conditional nodes buys little over this.
//   forces      conservative and damping forces; V and W per list block of 16 on measured steps
//   second_half B
// The host reads a small status record once per advance() call and after forced rebuilds: errors found on
// the device (non-finite values, overlapping pairs) are thrown then, with the CPU's messages, and a list
// longer than the stride is regrown then. Until the regrowth, a particle whose list overflowed walks its
// cells in the force pass instead, with the same candidates, order and criterion as the list build: its
// force is the one the full list gives, so the trajectory does not depend on when the host looks.
#include <algorithm>
#include <climits>
#include <cmath>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "../core/check.cuh"
#include "symbreak/core/launch.hpp"
#include "symbreak/particles/md_cells.hpp"
#include "symbreak/particles/md_cuda.hpp"

namespace symbreak {
namespace {

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
    int bad_index;  // the first such particle (sorted order)
    int max_count;  // longest list built since the host last looked
};

__device__ bool failed(const Status* s) { return s->nonfinite != 0 || s->overlap != kNoPair; }

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

__device__ std::int64_t thread_index() { return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }

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

// B then A (verlet, damping) or A O A (langevin), as the CPU's first_half.
template <class T, int D, bool kLangevin>
__global__ void first_half_kernel(View<T, D> a, MDStep c, PhiloxKey key, std::uint64_t step, T limit, int* flag)
{
    const std::int64_t i = thread_index();
    if (i >= a.n || failed(a.status)) return;
    const T h = static_cast<T>(c.half_dt_over_m), half_dt = static_cast<T>(c.half_dt), dt = static_cast<T>(c.dt);
    const T c1 = static_cast<T>(c.c1);
    double z[4];
    if constexpr (kLangevin) {
        for (int k = 0; 2 * k < D; ++k)
            normal2_double(philox4x32_10(philox_counter(static_cast<std::uint64_t>(a.tag[i]), k,
                                                        RngId::particles_langevin, step),
                                         key),
                           z[2 * k], z[2 * k + 1]);
    }
    T d2 = 0;
    for (int d = 0; d < D; ++d) {
        T v = a.v[d][i] + h * a.f[d][i], x = a.x[d][i];
        if constexpr (kLangevin) {
            x += half_dt * v;
            v = c1 * v + static_cast<T>(c.sigma * z[d]);
            x += half_dt * v;
        } else {
            x += dt * v;
        }
        x = md_wrap(x, a.L[d]);
        a.v[d][i] = v;
        a.x[d][i] = x;
        const T dx = md_min_image(x - a.xref[d][i], a.L[d], a.half_L[d]);
        d2 += dx * dx;
    }
    if (!(d2 <= limit)) *flag = 1;  // NaN too: the rebuild then reports it
}

// Rebuild 1/5: non-finite check, cell of each particle, cell occupancy, and a copy of the current order.
// Gated on the flag only: every non-finite particle must take part in the minimum index.
template <class T, int D>
__global__ void count_kernel(View<T, D> a, const int* go, std::int64_t step)
{
    const std::int64_t i = thread_index();
    if (i >= a.n || *go == 0) return;
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
    if (*go == 0 || status->nonfinite) return;
    __shared__ std::int32_t total[kScanThreads];
    const int t = threadIdx.x;
    const std::int64_t chunk = (n_cells + kScanThreads - 1) / kScanThreads;
    const std::int64_t c0 = std::min<std::int64_t>(n_cells, t * chunk), c1 = std::min<std::int64_t>(n_cells, c0 + chunk);
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
    if (i >= a.n || *go == 0 || a.status->nonfinite) return;
    const std::int32_t c = a.cell_old[i];
    a.perm[a.cell_start[c] + atomicAdd(&a.cell_count[c], 1)] = static_cast<std::int32_t>(i);
}

// Rebuild 4/5, one thread per cell: the cell's slots in increasing old index (the CPU's stable counting
// sort; cells hold a few particles, so insertion sort), then the new order of x, v, f, tag; xref = x.
template <class T, int D>
__global__ void sort_gather_kernel(View<T, D> a, const int* go)
{
    const std::int64_t c = thread_index();
    if (c >= a.n_cells || *go == 0 || a.status->nonfinite) return;
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
    if (*go == 0 || a.status->nonfinite) return;  // the same for the whole block
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
                    atomicMin(&a.status->overlap, (static_cast<unsigned long long>(i) << 32) | static_cast<unsigned>(j));
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

unsigned grid_for(std::int64_t threads)
{
    const std::int64_t blocks = (threads + kThreads - 1) / kThreads;
    if (blocks > 0x7FFFFFFF) throw std::invalid_argument("too many particles or cells for one CUDA launch");
    return static_cast<unsigned>(blocks > 0 ? blocks : 1);
}

// An owning device array (freed with the engine, also when a constructor throws half-way).
template <class U>
class DeviceArray {
public:
    DeviceArray() = default;
    DeviceArray(std::size_t count, int device)
        : p_(static_cast<U*>(cuda::malloc(std::max<std::size_t>(count, 1) * sizeof(U), device))), n_(count),
          device_(device)
    {
    }
    ~DeviceArray()
    {
        if (p_) cuda::free(p_, device_);
    }
    DeviceArray(DeviceArray&& o) noexcept { swap(o); }
    DeviceArray& operator=(DeviceArray&& o) noexcept
    {
        swap(o);
        return *this;
    }
    U* get() const { return p_; }
    std::size_t size() const { return n_; }
    void upload(const std::vector<U>& h) { SYMBREAK_CUDA_CHECK(cudaMemcpy(p_, h.data(), h.size() * sizeof(U), cudaMemcpyHostToDevice)); }
    std::vector<U> download() const
    {
        std::vector<U> h(n_);
        SYMBREAK_CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(U), cudaMemcpyDeviceToHost));
        return h;
    }
    U at(std::size_t k) const
    {
        U value;
        SYMBREAK_CUDA_CHECK(cudaMemcpy(&value, p_ + k, sizeof(U), cudaMemcpyDeviceToHost));
        return value;
    }

private:
    void swap(DeviceArray& o) noexcept
    {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        std::swap(device_, o.device_);
    }
    U* p_ = nullptr;
    std::size_t n_ = 0;
    int device_ = 0;
};

template <class T, int D>
class CudaEngine final : public ParticleEngine {
public:
    CudaEngine(const MDSetup& s, const double* x, const double* v, int device_id)
        : s_(s), n_(s.n), device_(device_id)
    {
        cuda::require_device(device_id);
        cuda::DeviceGuard guard(device_);
        blocks_ = (n_ + kMDBlock - 1) / kMDBlock;
        grid_ = md_cell_grid(D, s_.box, s_.pair.r_cut + s_.skin);
        for (int d = 0; d < D; ++d) {
            L_[d] = static_cast<T>(s_.box[d]);
            half_L_[d] = static_cast<T>(0.5 * s_.box[d]);
        }
        const std::size_t nd = static_cast<std::size_t>(n_ * D), n = static_cast<std::size_t>(n_);
        for (auto* a : {&x_, &v_, &f_, &xref_, &x_old_, &v_old_, &f_old_}) *a = DeviceArray<T>(nd, device_);
        for (auto* a : {&tag_, &tag_old_, &cell_of_, &cell_old_, &perm_, &count_}) *a = DeviceArray<std::int32_t>(n, device_);
        cell_count_ = DeviceArray<std::int32_t>(static_cast<std::size_t>(grid_.n_cells), device_);
        cell_start_ = DeviceArray<std::int32_t>(static_cast<std::size_t>(grid_.n_cells + 1), device_);
        run_start_ = DeviceArray<std::int32_t>(grid_.run_start.size(), device_);
        runs_ = DeviceArray<std::int32_t>(grid_.runs.size(), device_);
        nbr_ = DeviceArray<std::int32_t>(static_cast<std::size_t>(blocks_ * stride_ * kMDBlock), device_);
        block_e_ = DeviceArray<double>(static_cast<std::size_t>(blocks_), device_);
        block_w_ = DeviceArray<double>(static_cast<std::size_t>(blocks_), device_);
        partial_ = DeviceArray<double>(static_cast<std::size_t>(grid_for(n_)) * (D + 1), device_);
        status_ = DeviceArray<Status>(1, device_);
        flags_ = DeviceArray<int>(2, device_);

        run_start_.upload(grid_.run_start);
        runs_.upload(grid_.runs);
        x_.upload(to_fields(x));
        v_.upload(to_fields(v));
        SYMBREAK_CUDA_CHECK(cudaMemset(f_.get(), 0, nd * sizeof(T)));
        SYMBREAK_CUDA_CHECK(cudaMemset(cell_count_.get(), 0, cell_count_.size() * sizeof(std::int32_t)));
        std::vector<std::int32_t> tag(n);
        std::iota(tag.begin(), tag.end(), 0);
        tag_.upload(tag);
        status_.upload({Status{kNoPair, 0, 0, 0, INT_MAX, 0}});
        flags_.upload({0, 1});
        rebuild(always());
        check_status();
        compute_forces(false, 0, f_);
    }

    void advance(std::int64_t steps, const double* T_of, MDIntegrator kind, double dt, double gamma,
                 double damping, bool measure) override
    {
        cuda::DeviceGuard guard(device_);
        measured_ = false;
        const T limit = static_cast<T>(0.25 * s_.skin * s_.skin);
        const PhiloxKey key = philox_key(s_.seed);
        for (std::int64_t s = 0; s < steps; ++s) {
            const MDStep c = md_step_coefficients(kind, dt, gamma, T_of ? T_of[s] : 0.0, s_.mass);
            SYMBREAK_CUDA_CHECK(cudaMemsetAsync(flags_.get(), 0, sizeof(int), 0));
            const View<T, D> a = view();
            const std::uint64_t step = static_cast<std::uint64_t>(step_);
            if (kind == MDIntegrator::langevin)
                first_half_kernel<T, D, true><<<grid_for(n_), kThreads>>>(a, c, key, step, limit, flags_.get());
            else
                first_half_kernel<T, D, false><<<grid_for(n_), kThreads>>>(a, c, key, step, limit, flags_.get());
            SYMBREAK_CUDA_CHECK_LAUNCH();
            rebuild(flags_.get());
            compute_forces(measure && s == steps - 1, kind == MDIntegrator::damping ? damping : 0.0, f_);
            second_half_kernel<T, D><<<grid_for(n_), kThreads>>>(view(), static_cast<T>(c.half_dt_over_m));
            SYMBREAK_CUDA_CHECK_LAUNCH();
            ++step_;
        }
        check_status();
    }

    MDTotals totals() override
    {
        cuda::DeviceGuard guard(device_);
        if (!measured_) compute_forces(true, 0, f_old_);  // V and W of the current positions; f_ stays
        MDTotals t;
        const std::vector<double> e = block_e_.download(), w = block_w_.download();
        for (std::int64_t b = 0; b < blocks_; ++b) {  // in order, as the CPU sums its blocks
            t.potential += e[b];
            t.virial += w[b];
        }
        kinetic_kernel<T, D><<<grid_for(n_), kThreads>>>(view(), partial_.get());
        SYMBREAK_CUDA_CHECK_LAUNCH();
        const std::vector<double> p = partial_.download();
        double ke = 0, m[3] = {0, 0, 0};
        for (std::size_t b = 0; b < p.size() / (D + 1); ++b) {
            ke += p[b * (D + 1)];
            for (int d = 0; d < D; ++d) m[d] += p[b * (D + 1) + 1 + d];
        }
        t.kinetic = 0.5 * s_.mass * ke;
        for (int d = 0; d < D; ++d) t.momentum[d] = s_.mass * m[d];
        return t;
    }

    void read(int field, double* out) const override
    {
        cuda::DeviceGuard guard(device_);
        const std::vector<T> a = (field == 0 ? x_ : field == 1 ? v_ : f_).download();
        const std::vector<std::int32_t> tag = tag_.download();
        for (std::int64_t i = 0; i < n_; ++i)
            for (int d = 0; d < D; ++d) out[static_cast<std::int64_t>(tag[i]) * D + d] = a[d * n_ + i];
    }

    MDState state() const override
    {
        cuda::DeviceGuard guard(device_);
        MDState st;
        st.step = step_;
        st.tag = tag_.download();
        st.x = from_fields(x_.download());
        st.v = from_fields(v_.download());
        st.f = from_fields(f_.download());
        st.x_ref = from_fields(xref_.download());
        return st;
    }

    // As on the CPU: sort and list the saved reference positions (the saved order is cell-sorted by them, so
    // the stable sort keeps it and the list comes out as in the saved run), then put the current positions
    // into that order.
    void load(const MDState& st) override
    {
        cuda::DeviceGuard guard(device_);
        if (static_cast<std::int64_t>(st.tag.size()) != n_ || static_cast<std::int64_t>(st.x.size()) != n_ * D)
            throw std::invalid_argument("state: sizes do not match this system");
        std::vector<char> seen(n_, 0);
        for (auto t : st.tag) {
            if (t < 0 || t >= n_ || seen[t]) throw std::invalid_argument("state: tag is not a permutation");
            seen[t] = 1;
        }
        step_ = st.step;
        tag_.upload(st.tag);
        x_.upload(to_fields(st.x_ref.data()));
        v_.upload(to_fields(st.v.data()));
        f_.upload(to_fields(st.f.data()));
        rebuild(always());
        check_status();
        x_old_.upload(to_fields(st.x.data()));
        permute_kernel<T, D><<<grid_for(n_), kThreads>>>(view());
        SYMBREAK_CUDA_CHECK_LAUNCH();
        measured_ = false;
    }

    MDCounters counters() const override
    {
        cuda::DeviceGuard guard(device_);
        const std::vector<std::int32_t> count = count_.download();
        double total = 0;
        for (std::int64_t i = 0; i < n_; ++i) total += count[i];
        return {step_, static_cast<std::int64_t>(status_.at(0).rebuilds), stride_, n_ ? total / n_ : 0.0};
    }

    void rebuild_now() override
    {
        cuda::DeviceGuard guard(device_);
        rebuild(always());
        check_status();
    }

    void forces_now() override
    {
        cuda::DeviceGuard guard(device_);
        compute_forces(false, 0, f_);
        SYMBREAK_CUDA_CHECK(cudaDeviceSynchronize());
    }

private:
    const int* always() const { return flags_.get() + 1; }

    View<T, D> view() const
    {
        View<T, D> a{};
        for (int d = 0; d < D; ++d) {
            a.x[d] = x_.get() + d * n_;
            a.v[d] = v_.get() + d * n_;
            a.f[d] = f_.get() + d * n_;
            a.xref[d] = xref_.get() + d * n_;
            a.x_old[d] = x_old_.get() + d * n_;
            a.v_old[d] = v_old_.get() + d * n_;
            a.f_old[d] = f_old_.get() + d * n_;
            a.cells[d] = grid_.cells[d];
            a.inv_cell[d] = grid_.inv_cell[d];
            a.L[d] = L_[d];
            a.half_L[d] = half_L_[d];
        }
        a.tag = tag_.get();
        a.tag_old = tag_old_.get();
        a.cell_of = cell_of_.get();
        a.cell_old = cell_old_.get();
        a.cell_count = cell_count_.get();
        a.cell_start = cell_start_.get();
        a.perm = perm_.get();
        a.nbr = nbr_.get();
        a.count = count_.get();
        a.run_start = run_start_.get();
        a.runs = runs_.get();
        a.status = status_.get();
        a.n = n_;
        a.n_cells = grid_.n_cells;
        a.stride = stride_;
        a.limit2 = s_.min_distance * s_.min_distance;
        const double rl = s_.pair.r_cut + s_.skin;
        a.rl2 = static_cast<T>(rl * rl);
        return a;
    }

    // User-order, particle-major doubles → internal field-major T (and back).
    std::vector<T> to_fields(const double* src) const
    {
        std::vector<T> out(static_cast<std::size_t>(n_ * D));
        for (std::int64_t i = 0; i < n_; ++i)
            for (int d = 0; d < D; ++d) out[d * n_ + i] = static_cast<T>(src[i * D + d]);
        return out;
    }
    std::vector<double> from_fields(const std::vector<T>& src) const
    {
        std::vector<double> out(static_cast<std::size_t>(n_ * D));
        for (std::int64_t i = 0; i < n_; ++i)
            for (int d = 0; d < D; ++d) out[i * D + d] = src[d * n_ + i];
        return out;
    }

    // The five rebuild kernels, each returning at once when *go is 0.
    void rebuild(const int* go)
    {
        const View<T, D> a = view();
        const auto step = static_cast<std::int64_t>(step_);
        count_kernel<T, D><<<grid_for(n_), kThreads>>>(a, go, step);
        SYMBREAK_CUDA_CHECK_LAUNCH();
        scan_kernel<<<1, kScanThreads>>>(a.cell_count, a.cell_start, a.n_cells, go, a.status);
        SYMBREAK_CUDA_CHECK_LAUNCH();
        scatter_kernel<T, D><<<grid_for(n_), kThreads>>>(a, go);
        SYMBREAK_CUDA_CHECK_LAUNCH();
        sort_gather_kernel<T, D><<<grid_for(grid_.n_cells), kThreads>>>(a, go);
        SYMBREAK_CUDA_CHECK_LAUNCH();
        build_kernel<T, D><<<grid_for(n_), kThreads>>>(a, go, step, true);
        SYMBREAK_CUDA_CHECK_LAUNCH();
    }

    void compute_forces(bool energy, double damping, const DeviceArray<T>& out)
    {
        Field<T, D> o;
        for (int d = 0; d < D; ++d) o.p[d] = out.get() + d * n_;
        const View<T, D> a = view();
        const T rc2 = static_cast<T>(s_.pair.r_cut * s_.pair.r_cut), inv_rc = static_cast<T>(1 / s_.pair.r_cut);
        const T damp = static_cast<T>(damping);
        double *e = block_e_.get(), *w = block_w_.get();
        with_potential<T>(s_.pair, [&](const auto& pot) {
            using P = std::decay_t<decltype(pot)>;
            const unsigned g = grid_for(n_);
            if (energy && damp != T(0)) force_kernel<T, D, P, true, true><<<g, kThreads>>>(a, pot, o, rc2, inv_rc, damp, e, w);
            else if (energy) force_kernel<T, D, P, true, false><<<g, kThreads>>>(a, pot, o, rc2, inv_rc, damp, e, w);
            else if (damp != T(0)) force_kernel<T, D, P, false, true><<<g, kThreads>>>(a, pot, o, rc2, inv_rc, damp, e, w);
            else force_kernel<T, D, P, false, false><<<g, kThreads>>>(a, pot, o, rc2, inv_rc, damp, e, w);
        });
        SYMBREAK_CUDA_CHECK_LAUNCH();
        measured_ = energy;
    }

    // The one synchronisation of an advance() call: report device-side errors as the CPU does, and regrow an
    // overflowed list (rebuilt from xref with the same cells, so it is the list of the last build).
    void check_status()
    {
        Status st = status_.at(0);
        if (st.nonfinite) {
            const std::int32_t tag = tag_.at(static_cast<std::size_t>(st.bad_index));
            st.nonfinite = 0;
            st.bad_index = INT_MAX;
            status_.upload({st});
            SYMBREAK_CUDA_CHECK(cudaMemset(cell_count_.get(), 0, cell_count_.size() * sizeof(std::int32_t)));
            step_ = st.error_step;
            std::ostringstream m;
            m << "step " << step_ << ": particle " << tag
              << " has a non-finite position or velocity; the time step is too large for these forces";
            throw std::runtime_error(m.str());
        }
        if (st.overlap != kNoPair) report_overlap(st);
        if (st.max_count > stride_) {
            stride_ = st.max_count + st.max_count / 4 + 8;  // room to grow before the next reallocation
            nbr_ = DeviceArray<std::int32_t>(static_cast<std::size_t>(blocks_ * stride_ * kMDBlock), device_);
            st.max_count = 0;
            status_.upload({st});
            build_kernel<T, D><<<grid_for(n_), kThreads>>>(view(), always(), static_cast<std::int64_t>(step_), false);
            SYMBREAK_CUDA_CHECK_LAUNCH();
        }
        SYMBREAK_CUDA_CHECK(cudaDeviceSynchronize());  // asynchronous faults surface here
    }

    [[noreturn]] void report_overlap(Status st)
    {
        const std::int64_t i = static_cast<std::int64_t>(st.overlap >> 32), j = static_cast<std::int64_t>(st.overlap & 0xFFFFFFFFull);
        const std::int32_t ti = tag_.at(i), tj = tag_.at(j);
        double r2 = 0;
        for (int d = 0; d < D; ++d) {  // the build positions, as the CPU's report
            const T xi = xref_.at(d * n_ + i), xj = xref_.at(d * n_ + j);
            const double dx = md_min_image<double>(xi - static_cast<double>(xj), L_[d], half_L_[d]);
            r2 += dx * dx;
        }
        st.overlap = kNoPair;
        --st.rebuilds;  // the failed build does not count
        status_.upload({st});
        step_ = st.error_step;
        std::ostringstream m;
        m << "particles " << std::min(ti, tj) << " and " << std::max(ti, tj) << " are " << std::sqrt(r2)
          << " apart at step " << step_ << ", closer than min_distance = " << s_.min_distance
          << ": the pair force would be enormous";
        throw std::domain_error(m.str());
    }

    MDSetup s_;
    std::int64_t n_, blocks_ = 0, step_ = 0, stride_ = 32;
    int device_;
    MDCellGrid grid_;
    DeviceArray<T> x_, v_, f_, xref_, x_old_, v_old_, f_old_;  // n · D each, field-major
    DeviceArray<std::int32_t> tag_, tag_old_, cell_of_, cell_old_, cell_count_, cell_start_, perm_, run_start_, runs_,
        nbr_, count_;
    DeviceArray<double> block_e_, block_w_, partial_;
    DeviceArray<Status> status_;
    DeviceArray<int> flags_;  // [0]: this step's rebuild flag; [1]: always 1 (forced rebuilds)
    T L_[D], half_L_[D];
    bool measured_ = false;
};

}  // namespace

std::unique_ptr<ParticleEngine> make_particle_engine_cuda(const MDSetup& s, const double* x, const double* v,
                                                          int device_id)
{
    if (s.dim == 2) {
        if (s.single) return std::make_unique<CudaEngine<float, 2>>(s, x, v, device_id);
        return std::make_unique<CudaEngine<double, 2>>(s, x, v, device_id);
    }
    if (s.single) return std::make_unique<CudaEngine<float, 3>>(s, x, v, device_id);
    return std::make_unique<CudaEngine<double, 3>>(s, x, v, device_id);
}

}  // namespace symbreak
