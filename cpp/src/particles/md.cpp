// CPU driver of the particle simulator: cell list, sorting, Verlet list, integration passes (OpenMP), and
// the dispatch of the force and list kernels to the best instruction set of this CPU.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "../core/isa.hpp"
#include "md_kernels.hpp"
#include "symbreak/particles/md_cells.hpp"
#include "symbreak/particles/md_cpu.hpp"

namespace symbreak {
namespace {

template <class T, int D>
struct Kernels {
    void (*forces)(const MDForceArgs<T, D>&, const PairParams&, std::int64_t, std::int64_t);
    void (*build)(const MDListArgs<T, D>&, std::int64_t, std::int64_t);
    void (*forces_half)(const MDForceArgs<T, D>&, const PairParams&, std::int64_t, std::int64_t);
    void (*build_half)(const MDListArgs<T, D>&, std::int64_t, std::int64_t);
};

template <class T, int D>
Kernels<T, D> pick_kernels()
{
    using namespace cpu;
#define SYMBREAK_MD_KERNELS(ns) \
    {ns::md_forces<T, D>, ns::md_build_list<T, D>, ns::md_forces_half<T, D>, ns::md_build_half_list<T, D>}
    return for_widest_isa(Kernels<T, D> SYMBREAK_MD_KERNELS(x86_64_v4), Kernels<T, D> SYMBREAK_MD_KERNELS(x86_64_v3),
                          Kernels<T, D> SYMBREAK_MD_KERNELS(x86_64_v1));
#undef SYMBREAK_MD_KERNELS
}

// Blocks of kMDBlock particles handed to one thread at a time (static: the same split every run).
constexpr std::int64_t kBlocksPerChunk = 4;
// Below this many particles a step takes microseconds and waking threads costs more than it saves.
constexpr std::int64_t kParallelMin = 4096;

template <class F>
void parallel_blocks(std::int64_t blocks, F&& f)
{
    const std::int64_t chunks = (blocks + kBlocksPerChunk - 1) / kBlocksPerChunk;
#pragma omp parallel for schedule(static) if (blocks * kMDBlock >= kParallelMin)
    for (std::int64_t c = 0; c < chunks; ++c) f(c * kBlocksPerChunk, std::min(blocks, (c + 1) * kBlocksPerChunk));
}

template <class T, int D>
class Engine final : public ParticleEngine {
public:
    Engine(const MDSetup& s, const double* x, const double* v, MDList list)
        : s_(s), n_(s.n), half_(list == MDList::half), kernels_(pick_kernels<T, D>())
    {
        blocks_ = (n_ + kMDBlock - 1) / kMDBlock;
        for (int d = 0; d < D; ++d) {
            x_[d].resize(n_);
            v_[d].resize(n_);
            f_[d].assign(n_, T(0));
            for (std::int64_t i = 0; i < n_; ++i) {
                x_[d][i] = static_cast<T>(x[i * D + d]);
                v_[d][i] = static_cast<T>(v[i * D + d]);
            }
        }
        tag_.resize(n_);
        for (std::int64_t i = 0; i < n_; ++i) tag_[i] = static_cast<std::int32_t>(i);
        make_cells();
        rebuild();
        compute_forces(false, 0, f_);
    }

    void advance(std::int64_t steps, const double* T_of, MDIntegrator kind, double dt, double gamma,
                 double damping, bool measure) override
    {
        measured_ = false;
        for (std::int64_t s = 0; s < steps; ++s) {
            const MDStep c = md_step_coefficients(kind, dt, gamma, T_of ? T_of[s] : 0.0, s_.mass);
            const T limit = static_cast<T>(0.25 * s_.skin * s_.skin);
            const T reach2 = static_cast<T>((s_.pair.r_cut + s_.skin) * (s_.pair.r_cut + s_.skin));
            const Moves m = kind == MDIntegrator::langevin ? first_half<true>(c) : first_half<false>(c);
            if (!(m.longest_step <= reach2)) report_runaway();
            if (!(m.since_build <= limit)) rebuild();
            compute_forces(measure && s == steps - 1, kind == MDIntegrator::damping ? damping : 0.0, f_);
            const T h = static_cast<T>(c.half_dt_over_m);
#pragma omp parallel for schedule(static) if (n_ >= kParallelMin)
            for (std::int64_t i = 0; i < n_; ++i)
                for (int d = 0; d < D; ++d) v_[d][i] += h * f_[d][i];
            ++step_;
        }
    }

    MDTotals totals() override
    {
        if (!measured_) {  // V and W of the current positions; f_ (which may hold damping forces) stays
            std::array<std::vector<T>, D> scratch;
            for (auto& a : scratch) a.resize(n_);
            compute_forces(true, 0, scratch);
        }
        MDTotals t;
        t.potential = potential_;
        t.virial = virial_;
        double ke = 0, p[3] = {0, 0, 0};
        for (std::int64_t i = 0; i < n_; ++i)
            for (int d = 0; d < D; ++d) {
                ke += static_cast<double>(v_[d][i]) * v_[d][i];
                p[d] += v_[d][i];
            }
        t.kinetic = 0.5 * s_.mass * ke;
        for (int d = 0; d < D; ++d) t.momentum[d] = s_.mass * p[d];
        return t;
    }

    void read(int field, double* out) const override
    {
        const auto& a = field == 0 ? x_ : field == 1 ? v_ : f_;
        for (std::int64_t i = 0; i < n_; ++i)
            for (int d = 0; d < D; ++d) out[static_cast<std::int64_t>(tag_[i]) * D + d] = a[d][i];
    }

    MDState state() const override
    {
        MDState st;
        st.step = step_;
        st.tag = tag_;
        for (auto* p : {&st.x, &st.v, &st.f, &st.x_ref}) p->resize(n_ * D);
        for (std::int64_t i = 0; i < n_; ++i)
            for (int d = 0; d < D; ++d) {
                st.x[i * D + d] = x_[d][i];
                st.v[i * D + d] = v_[d][i];
                st.f[i * D + d] = f_[d][i];
                st.x_ref[i * D + d] = xref_[d][i];
            }
        return st;
    }

    // The internal order is cell-sorted by x_ref, so the stable re-sort of rebuild() keeps it: the list,
    // and with it every later force, comes out exactly as in the saved run.
    void load(const MDState& st) override
    {
        if (static_cast<std::int64_t>(st.tag.size()) != n_ || static_cast<std::int64_t>(st.x.size()) != n_ * D)
            throw std::invalid_argument("state: sizes do not match this system");
        std::vector<char> seen(n_, 0);
        for (auto t : st.tag) {
            if (t < 0 || t >= n_ || seen[t]) throw std::invalid_argument("state: tag is not a permutation");
            seen[t] = 1;
        }
        step_ = st.step;
        tag_ = st.tag;
        for (std::int64_t i = 0; i < n_; ++i)
            for (int d = 0; d < D; ++d) {
                x_[d][i] = static_cast<T>(st.x[i * D + d]);
                v_[d][i] = static_cast<T>(st.v[i * D + d]);
                f_[d][i] = static_cast<T>(st.f[i * D + d]);
            }
        std::array<std::vector<T>, D> x_now = x_;
        for (int d = 0; d < D; ++d)
            for (std::int64_t i = 0; i < n_; ++i) x_[d][i] = static_cast<T>(st.x_ref[i * D + d]);
        rebuild();
        x_now = permuted(x_now);
        x_ = x_now;
        measured_ = false;
    }

    MDCounters counters() const override
    {
        double total = 0;
        for (std::int64_t i = 0; i < n_; ++i) total += count_[i];
        if (half_) total *= 2;  // each pair is listed once
        return {step_, rebuilds_, stride_, n_ ? total / n_ : 0.0};
    }

    void rebuild_now() override { rebuild(); }
    void forces_now() override { compute_forces(false, 0, f_); }

private:
    // Largest squared displacements: since the last list build, and within this one step (before wrapping).
    struct Moves {
        T since_build, longest_step;
    };

    // md_first_half over all particles; the largest moves of the step.
    template <bool kLangevin>
    Moves first_half(const MDStep& c)
    {
        const PhiloxKey key = philox_key(s_.seed);
        const std::uint64_t step = static_cast<std::uint64_t>(step_);
        T *x[D], *v[D];
        const T *f[D], *xref[D];
        for (int d = 0; d < D; ++d) {
            x[d] = x_[d].data();
            v[d] = v_[d].data();
            f[d] = f_[d].data();
            xref[d] = xref_[d].data();
        }
        T max_d2 = 0, max_step2 = 0;
#pragma omp parallel for schedule(static) reduction(max : max_d2, max_step2) if (n_ >= kParallelMin)
        for (std::int64_t i = 0; i < n_; ++i) {
            const MDMove<T> m = md_first_half<T, D, kLangevin>(x, v, f, xref, i, static_cast<std::uint64_t>(tag_[i]),
                                                               c, key, step, L_, half_L_);
            // NaN compares false: make it win the max so the caller reports it.
            max_d2 = std::max(max_d2, m.since_build == m.since_build ? m.since_build : std::numeric_limits<T>::infinity());
            max_step2 = std::max(max_step2, m.this_step == m.this_step ? m.this_step : std::numeric_limits<T>::infinity());
        }
        return {max_d2, max_step2};
    }

    // A particle jumped further than the list reaches in one step (or went non-finite): nothing after this
    // step could be trusted, so stop with the reason rather than wrap it back into the box.
    [[noreturn]] void report_runaway() const
    {
        check_finite();
        std::ostringstream m;
        m << "step " << step_ << ": a particle moved more than r_cut + skin = " << s_.pair.r_cut + s_.skin
          << " in one step; the time step is too large for these forces";
        throw std::runtime_error(m.str());
    }

    void compute_forces(bool energy, double damping, std::array<std::vector<T>, D>& out)
    {
        MDForceArgs<T, D> a{};
        for (int d = 0; d < D; ++d) {
            a.x[d] = x_[d].data();
            a.v[d] = v_[d].data();
            a.f[d] = out[d].data();
            a.L[d] = L_[d];
            a.half_L[d] = half_L_[d];
        }
        a.nbr = nbr_.data();
        a.count = count_.data();
        a.kmax = kmax_.data();
        a.stride = stride_;
        a.n = n_;
        a.rc2 = static_cast<T>(s_.pair.r_cut * s_.pair.r_cut);
        a.inv_rc = static_cast<T>(1 / s_.pair.r_cut);
        a.damping = static_cast<T>(damping);
        if (energy) {
            block_e_.assign(blocks_, 0);
            block_w_.assign(blocks_, 0);
            a.energy = block_e_.data();
            a.virial = block_w_.data();
        }
        const PairParams p = s_.pair;
        if (half_) half_forces(a, out);
        else parallel_blocks(blocks_, [&](std::int64_t b0, std::int64_t b1) { kernels_.forces(a, p, b0, b1); });
        if (energy) {
            potential_ = virial_ = 0;
            for (std::int64_t b = 0; b < blocks_; ++b) {  // fixed order: the same sum for every thread count
                potential_ += block_e_[b];
                virial_ += block_w_[b];
            }
        }
        measured_ = energy;
    }

    // Half list: thread t scatters into its own array (thread 0 into out), zeroed first; out += the others
    // after. Contiguous block ranges per thread; energy and virial per block as in the full list.
    void half_forces(MDForceArgs<T, D> a, std::array<std::vector<T>, D>& out)
    {
        const bool parallel = blocks_ * kMDBlock >= kParallelMin;
        const int threads = parallel ? omp_get_max_threads() : 1;
        if (static_cast<int>(half_f_.size()) < threads - 1) half_f_.resize(threads - 1);
#pragma omp parallel num_threads(threads)
        {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            MDForceArgs<T, D> mine = a;
            for (int d = 0; d < D; ++d) {
                std::vector<T>& dst = t == 0 ? out[d] : half_f_[t - 1][d];
                dst.assign(n_, T(0));
                mine.f[d] = dst.data();
            }
            kernels_.forces_half(mine, s_.pair, blocks_ * t / nt, blocks_ * (t + 1) / nt);
#pragma omp barrier
#pragma omp for schedule(static)
            for (std::int64_t i = 0; i < n_; ++i)
                for (int d = 0; d < D; ++d)
                    for (int u = 1; u < nt; ++u) out[d][i] += half_f_[u - 1][d][i];
        }
    }

    // The cell grid of md_cells.hpp (shared with the CUDA engine, which must sort exactly as this driver).
    void make_cells()
    {
        for (int d = 0; d < D; ++d) {
            L_[d] = static_cast<T>(s_.box[d]);
            half_L_[d] = static_cast<T>(0.5 * s_.box[d]);
        }
        grid_ = md_cell_grid(D, s_.box, s_.pair.r_cut + s_.skin);
        stride_ = 32;
    }

    std::int32_t cell_index(std::int64_t i) const
    {
        T x[D];
        for (int d = 0; d < D; ++d) x[d] = x_[d][i];
        return md_cell_index<T, D>(x, grid_.cells, grid_.inv_cell);
    }

    // Arrays of the previous order in the order of the last sort.
    std::array<std::vector<T>, D> permuted(const std::array<std::vector<T>, D>& a) const
    {
        std::array<std::vector<T>, D> out;
        for (int d = 0; d < D; ++d) {
            out[d].resize(n_);
            for (std::int64_t i = 0; i < n_; ++i) out[d][i] = a[d][perm_[i]];
        }
        return out;
    }

    void check_finite() const
    {
        for (std::int64_t i = 0; i < n_; ++i)
            for (int d = 0; d < D; ++d)
                if (!std::isfinite(static_cast<double>(x_[d][i])) || !std::isfinite(static_cast<double>(v_[d][i]))) {
                    std::ostringstream m;
                    m << "step " << step_ << ": particle " << tag_[i]
                      << " has a non-finite position or velocity; the time step is too large for these forces";
                    throw std::runtime_error(m.str());
                }
    }

    // Sort by cell (stable counting sort: particles keep their relative order within a cell), then build the
    // Verlet list from the sorted positions, which become the reference for the displacement check.
    void rebuild()
    {
        check_finite();
        cell_of_.resize(n_);
        cell_start_.assign(grid_.n_cells + 1, 0);
        for (std::int64_t i = 0; i < n_; ++i) ++cell_start_[(cell_of_[i] = cell_index(i)) + 1];
        for (std::int64_t c = 0; c < grid_.n_cells; ++c) cell_start_[c + 1] += cell_start_[c];
        std::vector<std::int32_t> next(cell_start_.begin(), cell_start_.end() - 1);
        perm_.resize(n_);
        for (std::int64_t i = 0; i < n_; ++i) perm_[next[cell_of_[i]]++] = static_cast<std::int32_t>(i);
        x_ = permuted(x_);
        v_ = permuted(v_);
        f_ = permuted(f_);
        std::vector<std::int32_t> tag(n_), cell(n_);
        for (std::int64_t i = 0; i < n_; ++i) {
            tag[i] = tag_[perm_[i]];
            cell[i] = cell_of_[perm_[i]];
        }
        tag_.swap(tag);
        cell_of_.swap(cell);
        xref_ = x_;
        build_list();
        ++rebuilds_;
    }

    void build_list()
    {
        const double rl = s_.pair.r_cut + s_.skin;
        count_.assign(n_, 0);
        kmax_.assign(blocks_, 0);
        min_r2_.assign(blocks_, 0);
        for (;;) {
            nbr_.resize(static_cast<std::size_t>(blocks_ * stride_ * kMDBlock));
            MDListArgs<T, D> a{};
            for (int d = 0; d < D; ++d) {
                a.x[d] = x_[d].data();
                a.L[d] = L_[d];
                a.half_L[d] = half_L_[d];
            }
            a.cell_start = cell_start_.data();
            a.cell_of = cell_of_.data();
            a.run_start = grid_.run_start.data();
            a.runs = grid_.runs.data();
            a.nbr = nbr_.data();
            a.count = count_.data();
            a.kmax = kmax_.data();
            a.stride = stride_;
            a.n = n_;
            a.rl2 = static_cast<T>(rl * rl);
            a.min_r2 = min_r2_.data();
            const auto build = half_ ? kernels_.build_half : kernels_.build;
            parallel_blocks(blocks_, [&](std::int64_t b0, std::int64_t b1) { build(a, b0, b1); });
            const std::int64_t longest = blocks_ ? *std::max_element(kmax_.begin(), kmax_.end()) : 0;
            if (longest <= stride_) break;
            stride_ = longest + longest / 4 + 8;  // room to grow before the next reallocation
        }
        const double closest = blocks_ ? *std::min_element(min_r2_.begin(), min_r2_.end()) : INFINITY;
        if (closest < s_.min_distance * s_.min_distance) report_overlap();
    }

    [[noreturn]] void report_overlap() const
    {
        const double limit2 = s_.min_distance * s_.min_distance;
        for (std::int64_t i = 0; i < n_; ++i)
            for (std::int64_t k = 0; k < std::min<std::int64_t>(count_[i], stride_); ++k) {
                const std::int64_t b = i / kMDBlock, l = i % kMDBlock;
                const std::int32_t j = nbr_[(b * stride_ + k) * kMDBlock + l];
                double r2 = 0;
                for (int d = 0; d < D; ++d) {
                    const double dx = md_min_image<double>(x_[d][i] - static_cast<double>(x_[d][j]), L_[d], half_L_[d]);
                    r2 += dx * dx;
                }
                if (r2 < limit2) {
                    std::ostringstream m;
                    m << "particles " << std::min(tag_[i], tag_[j]) << " and " << std::max(tag_[i], tag_[j])
                      << " are " << std::sqrt(r2) << " apart at step " << step_ << ", closer than min_distance = "
                      << s_.min_distance << ": the pair force would be enormous";
                    throw std::domain_error(m.str());
                }
            }
        throw std::domain_error("particles closer than min_distance");
    }

    MDSetup s_;
    std::int64_t n_, blocks_ = 0, step_ = 0, rebuilds_ = 0, stride_ = 0;
    bool half_;  // MDList::half: j > i only, Newton's third law
    Kernels<T, D> kernels_;
    std::vector<std::array<std::vector<T>, D>> half_f_;  // force arrays of threads 1, 2, ...
    std::array<std::vector<T>, D> x_, v_, f_, xref_;
    std::vector<std::int32_t> tag_, perm_, cell_of_, cell_start_, nbr_, count_, kmax_;
    MDCellGrid grid_;
    std::vector<double> min_r2_, block_e_, block_w_;
    T L_[D], half_L_[D];
    double potential_ = 0, virial_ = 0;
    bool measured_ = false;
};

}  // namespace

std::unique_ptr<ParticleEngine> make_particle_engine(const MDSetup& s, const double* x, const double* v,
                                                     MDList list)
{
    if (s.dim == 2) {
        if (s.single) return std::make_unique<Engine<float, 2>>(s, x, v, list);
        return std::make_unique<Engine<double, 2>>(s, x, v, list);
    }
    if (s.single) return std::make_unique<Engine<float, 3>>(s, x, v, list);
    return std::make_unique<Engine<double, 3>>(s, x, v, list);
}

const char* md_kernel_isa() { return cpu::isa_name(cpu::widest_isa()); }

}  // namespace symbreak
