// CPU driver of the XY rotors: OpenMP over fixed blocks of sites, each site calling the rules of xy.hpp.
#include "symbreak/lattice/xy_cpu.hpp"

#include "xy_blocks.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace symbreak::cpu {
namespace {

constexpr std::int64_t kBlock = 4096;

std::int64_t blocks(std::int64_t n) { return (n + kBlock - 1) / kBlock; }

// The widest instruction set this CPU runs; all variants compute identical bits.
template <class Real>
auto baoa_kernel() -> void (*)(const XYBlock<Real>&)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return x86_64_v4::xy_baoa_block;
    if (__builtin_cpu_supports("x86-64-v3")) return x86_64_v3::xy_baoa_block;
#endif
    return x86_64_v1::xy_baoa_block;
}

template <class Real>
auto torque_kernel() -> void (*)(const XYLine<Real>&)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return x86_64_v4::xy_torque_line;
    if (__builtin_cpu_supports("x86-64-v3")) return x86_64_v3::xy_torque_line;
#endif
    return x86_64_v1::xy_torque_line;
}

// cos θ and sin θ of every site: C and S, each `total` long.
template <class Real>
void cos_sin(std::int64_t total, const Real* theta, Real* C, Real* S)
{
#pragma omp parallel for schedule(static) if (total >= 4096)
    for (std::int64_t e = 0; e < total; ++e) {
        poly_sincos(theta[e], S[e], C[e]);  // the step's rule (Real precision), so resumed torques are identical
    }
}

// τ = xy_torque from C and S for every site, and with omega != null the closing B step ω += (dt/2) τ / I.
// Work goes by lines along the last axis: their neighbouring lines are found once per line, and the per-ISA
// line kernel (xy_blocks.cpp) runs a contiguous, vectorised loop over the line (PeriodicGrid::shift would
// divide per site).
template <class Real>
void torques_by_line(const PeriodicGrid& g, int replicas, const Real* C, const Real* S, Real* tau, Real* omega,
                     const XYStep& c)
{
    static const auto kernel = torque_kernel<Real>();
    const std::int64_t L = g.n[2], lines = g.n[0] * g.n[1], N = g.sites();
#pragma omp parallel for schedule(static) if (N * replicas >= 4096)
    for (std::int64_t q = 0; q < lines * replicas; ++q) {
        const std::int64_t r = q / lines, line = q - r * lines, base = r * N + line * L;
        const std::int64_t q0 = line / g.n[1], q1 = line - q0 * g.n[1];
        // A 1D chain has no neighbouring lines and a 2D lattice two: unused slots repeat the line with weight 0
        // (keeps the inner loop free of a variable trip count).
        XYLine<Real> l{C, S, tau, omega, base, L, {base, base, base, base}, {0, 0, 0, 0}, static_cast<Real>(c.J),
                       static_cast<Real>(c.h), static_cast<Real>(c.half_dt_over_I)};
        if (g.dim >= 2) {
            l.adj[0] = r * N + (q0 * g.n[1] + (q1 + 1) % g.n[1]) * L;
            l.adj[1] = r * N + (q0 * g.n[1] + (q1 + g.n[1] - 1) % g.n[1]) * L;
            l.wgt[0] = l.wgt[1] = 1;
        }
        if (g.dim == 3) {
            l.adj[2] = r * N + (((q0 + 1) % g.n[0]) * g.n[1] + q1) * L;
            l.adj[3] = r * N + (((q0 + g.n[0] - 1) % g.n[0]) * g.n[1] + q1) * L;
            l.wgt[2] = l.wgt[3] = 1;
        }
        kernel(l);
    }
}

}  // namespace

template <class Real>
void xy_torques(const PeriodicGrid& g, int replicas, const Real* theta, Real* tau, double J, double h)
{
    const std::int64_t total = g.sites() * replicas;
    std::vector<Real> cs(static_cast<std::size_t>(2 * total));
    cos_sin(total, theta, cs.data(), cs.data() + total);
    torques_by_line(g, replicas, cs.data(), cs.data() + total, tau, static_cast<Real*>(nullptr),
                    XYStep{0, 0, 0, 0, J, h});
}

template <class Real>
void xy_langevin(const PeriodicGrid& g, int replicas, Real* theta, Real* omega, Real* tau, const XYStep* steps,
                 std::int64_t n, std::uint64_t seed, std::uint64_t step0, double* post_o)
{
    static const auto kernel = baoa_kernel<Real>();
    const std::int64_t N = g.sites(), total = N * replicas, nb = blocks(N);
    const PhiloxKey key = philox_key(seed);
    std::vector<double> partial(static_cast<std::size_t>(nb * replicas));
    std::vector<Real> cs(static_cast<std::size_t>(2 * total));
    Real* C = cs.data();
    Real* S = C + total;
    for (std::int64_t i = 0; i < n; ++i) {
        const XYStep c = steps[i];  // a copy: stores to double arrays could alias the reference
        const std::uint64_t step = step0 + static_cast<std::uint64_t>(i);
        const bool last = i + 1 == n && post_o;
#pragma omp parallel if (total >= 4096)
        {
            std::vector<Philox4x32> words(kBlock / 2 + 2);
            std::vector<Real> z(kBlock + 6);
            std::vector<Real> after_o(kBlock);
#pragma omp for schedule(static)
            for (std::int64_t b = 0; b < nb * replicas; ++b) {  // block b covers replica b / nb
                const std::int64_t r = b / nb, begin = r * N + (b % nb) * kBlock;
                const std::int64_t end = std::min(begin + kBlock, (r + 1) * N);
                kernel({theta, omega, tau, C, S, after_o.data(), words.data(), z.data(), begin, end, c, key, step});
                if (last) {
                    double w2 = 0;
                    for (std::int64_t j = 0; j < end - begin; ++j) w2 += static_cast<double>(after_o[j]) * after_o[j];
                    partial[b] = w2;
                }
            }
        }
        torques_by_line(g, replicas, C, S, tau, omega, c);
        if (last)
            for (int r = 0; r < replicas; ++r) {
                post_o[r] = 0;
                for (std::int64_t b = 0; b < nb; ++b) post_o[r] += partial[r * nb + b];
            }
    }
}

template <class Real>
void xy_totals(const PeriodicGrid& g, int replicas, const Real* theta, const Real* omega, XYTotals* out)
{
    const std::int64_t N = g.sites(), nb = blocks(N);
    std::vector<XYTotals> partial(static_cast<std::size_t>(nb * replicas));
#pragma omp parallel for schedule(static) if (N * replicas >= 4096)
    for (std::int64_t b = 0; b < nb * replicas; ++b) {
        const std::int64_t r = b / nb, begin = (b % nb) * kBlock, end = std::min(begin + kBlock, N);
        XYTotals t;
        for (std::int64_t s = begin; s < end; ++s) xy_accumulate(g, theta + r * N, omega + r * N, s, t);
        partial[b] = t;
    }
    for (int r = 0; r < replicas; ++r) {
        out[r] = XYTotals{};
        for (std::int64_t b = 0; b < nb; ++b) out[r].add(partial[r * nb + b]);
    }
}

template <class Real>
double xy_metropolis(const PeriodicGrid& g, int replicas, Real* theta, std::int64_t n, double T, double J, double h,
                     double delta, std::uint64_t seed, std::uint64_t step0)
{
    const std::int64_t N = g.sites();
    const PhiloxKey key = philox_key(seed);
    std::vector<std::int64_t> accepted(static_cast<std::size_t>(replicas), 0);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < replicas; ++r) {
        Real* th = theta + r * N;
        for (std::int64_t i = 0; i < n; ++i)
            for (std::int64_t s = 0; s < N; ++s) {
                const std::uint64_t e = static_cast<std::uint64_t>(r * N + s);
                const Philox4x32 x = philox4x32_10(philox_counter(e, 0, RngId::xy_metropolis, step0 + i), key);
                const double old = th[s], proposal = old + delta * (2.0 * uniform_double(x.v[0], x.v[1]) - 1.0);
                double dH = -h * (std::cos(proposal) - std::cos(old));
                for (int a = g.first_axis(); a < 3; ++a)
                    for (int d = -1; d <= 1; d += 2) {
                        const double nb = th[g.shift(s, a, d)];
                        dH -= J * (std::cos(proposal - nb) - std::cos(old - nb));
                    }
                if (dH <= 0 || uniform_double(x.v[2], x.v[3]) < std::exp(-dH / T)) {
                    th[s] = xy_wrap(static_cast<Real>(proposal));
                    ++accepted[r];
                }
            }
    }
    std::int64_t acc = 0;
    for (auto a : accepted) acc += a;
    return static_cast<double>(acc) / static_cast<double>(std::max<std::int64_t>(1, n * N * replicas));
}

#define SYMBREAK_XY_INSTANTIATE(Real)                                                                          \
    template void xy_torques<Real>(const PeriodicGrid&, int, const Real*, Real*, double, double);               \
    template void xy_langevin<Real>(const PeriodicGrid&, int, Real*, Real*, Real*, const XYStep*, std::int64_t, \
                                    std::uint64_t, std::uint64_t, double*);                                     \
    template void xy_totals<Real>(const PeriodicGrid&, int, const Real*, const Real*, XYTotals*);               \
    template double xy_metropolis<Real>(const PeriodicGrid&, int, Real*, std::int64_t, double, double, double,  \
                                        double, std::uint64_t, std::uint64_t);
SYMBREAK_XY_INSTANTIATE(float)
SYMBREAK_XY_INSTANTIATE(double)
#undef SYMBREAK_XY_INSTANTIATE

}  // namespace symbreak::cpu
