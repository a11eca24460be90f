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
#include <cstdint>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "../core/check.cuh"
#include "md_kernels.cuh"
#include "symbreak/core/launch.hpp"
#include "symbreak/particles/md_cuda.hpp"

namespace symbreak {
namespace {

using namespace md_gpu;

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
    void upload(const std::vector<U>& h)
    {
        SYMBREAK_CUDA_CHECK(cudaMemcpy(p_, h.data(), h.size() * sizeof(U), cudaMemcpyHostToDevice));
    }
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
        for (auto* a : {&tag_, &tag_old_, &cell_of_, &cell_old_, &perm_, &count_})
            *a = DeviceArray<std::int32_t>(n, device_);
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
        status_.upload({Status{kNoPair, 0, 0, 0, 0, INT_MAX, 0}});
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
        const T reach2 = static_cast<T>((s_.pair.r_cut + s_.skin) * (s_.pair.r_cut + s_.skin));
        const PhiloxKey key = philox_key(s_.seed);
        for (std::int64_t s = 0; s < steps; ++s) {
            const MDStep c = md_step_coefficients(kind, dt, gamma, T_of ? T_of[s] : 0.0, s_.mass);
            SYMBREAK_CUDA_CHECK(cudaMemsetAsync(flags_.get(), 0, sizeof(int), 0));
            const View<T, D> a = view();
            const std::uint64_t step = static_cast<std::uint64_t>(step_);
            const unsigned g = grid_for(n_);
            if (kind == MDIntegrator::langevin)
                first_half_kernel<T, D, true><<<g, kThreads>>>(a, c, key, step, limit, reach2, flags_.get());
            else
                first_half_kernel<T, D, false><<<g, kThreads>>>(a, c, key, step, limit, reach2, flags_.get());
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
        const auto size = [](const auto& a) { return static_cast<std::int64_t>(a.size()); };
        if (size(st.tag) != n_ || size(st.x) != n_ * D)
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
        const T rc2 = static_cast<T>(s_.pair.r_cut * s_.pair.r_cut);
        const T inv_rc = static_cast<T>(1 / s_.pair.r_cut);
        const T damp = static_cast<T>(damping);
        double *e = block_e_.get(), *w = block_w_.get();
        const unsigned g = grid_for(n_);
        with_potential<T>(s_.pair, [&](const auto& pot) {
            using P = std::decay_t<decltype(pot)>;
            if (energy && damp != T(0))
                force_kernel<T, D, P, true, true><<<g, kThreads>>>(a, pot, o, rc2, inv_rc, damp, e, w);
            else if (energy)
                force_kernel<T, D, P, true, false><<<g, kThreads>>>(a, pot, o, rc2, inv_rc, damp, e, w);
            else if (damp != T(0))
                force_kernel<T, D, P, false, true><<<g, kThreads>>>(a, pot, o, rc2, inv_rc, damp, e, w);
            else
                force_kernel<T, D, P, false, false><<<g, kThreads>>>(a, pot, o, rc2, inv_rc, damp, e, w);
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
            st.nonfinite = st.runaway = 0;
            st.bad_index = INT_MAX;
            status_.upload({st});
            SYMBREAK_CUDA_CHECK(cudaMemset(cell_count_.get(), 0, cell_count_.size() * sizeof(std::int32_t)));
            step_ = st.error_step;
            std::ostringstream m;
            m << "step " << step_ << ": particle " << tag
              << " has a non-finite position or velocity; the time step is too large for these forces";
            throw std::runtime_error(m.str());
        }
        if (st.runaway) {
            st.runaway = 0;
            status_.upload({st});
            step_ = st.error_step;
            std::ostringstream m;
            m << "step " << step_ << ": a particle moved more than r_cut + skin = " << s_.pair.r_cut + s_.skin
              << " in one step; the time step is too large for these forces";
            throw std::runtime_error(m.str());
        }
        if (st.overlap != kNoPair) report_overlap(st);
        if (st.max_count > stride_) {
            stride_ = st.max_count + st.max_count / 4 + 8;  // room to grow before the next reallocation
            nbr_ = DeviceArray<std::int32_t>(static_cast<std::size_t>(blocks_ * stride_ * kMDBlock), device_);
            st.max_count = 0;
            status_.upload({st});
            build_kernel<T, D><<<grid_for(n_), kThreads>>>(view(), always(), step_, false);
            SYMBREAK_CUDA_CHECK_LAUNCH();
        }
        SYMBREAK_CUDA_CHECK(cudaDeviceSynchronize());  // asynchronous faults surface here
    }

    [[noreturn]] void report_overlap(Status st)
    {
        const auto i = static_cast<std::int64_t>(st.overlap >> 32);
        const auto j = static_cast<std::int64_t>(st.overlap & 0xFFFFFFFFull);
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
    DeviceArray<std::int32_t> tag_, tag_old_, cell_of_, cell_old_, perm_, nbr_, count_;
    DeviceArray<std::int32_t> cell_count_, cell_start_, run_start_, runs_;
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
