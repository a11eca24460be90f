// CPU driver of the XY rotors: OpenMP over fixed blocks of sites, each site calling the rules of xy.hpp.
#include "symbreak/lattice/xy_cpu.hpp"

#include <algorithm>
#include <vector>

namespace symbreak::cpu {
namespace {

constexpr std::int64_t kBlock = 4096;

std::int64_t blocks(std::int64_t n) { return (n + kBlock - 1) / kBlock; }

}  // namespace

template <class Real>
void xy_torques(const PeriodicGrid& g, int replicas, const Real* theta, Real* tau, double J, double h)
{
    const std::int64_t N = g.sites(), total = N * replicas;
#pragma omp parallel for schedule(static) if (total >= 4096)
    for (std::int64_t e = 0; e < total; ++e) {
        const std::int64_t r = e / N;
        tau[e] = xy_torque(g, theta + r * N, e - r * N, static_cast<Real>(J), static_cast<Real>(h));
    }
}

template <class Real>
void xy_langevin(const PeriodicGrid& g, int replicas, Real* theta, Real* omega, Real* tau, const XYStep* steps,
                 std::int64_t n, std::uint64_t seed, std::uint64_t step0, double* post_o)
{
    const std::int64_t N = g.sites(), total = N * replicas, nb = blocks(N);
    const PhiloxKey key = philox_key(seed);
    std::vector<double> partial(static_cast<std::size_t>(nb * replicas));
    for (std::int64_t i = 0; i < n; ++i) {
        const XYStep& c = steps[i];
        const std::uint64_t step = step0 + static_cast<std::uint64_t>(i);
        const bool last = i + 1 == n && post_o;
#pragma omp parallel for schedule(static) if (total >= 4096)
        for (std::int64_t b = 0; b < nb * replicas; ++b) {  // block b covers replica b / nb
            const std::int64_t r = b / nb, begin = r * N + (b % nb) * kBlock, end = std::min(begin + kBlock, (r + 1) * N);
            double w2 = 0;
            for (std::int64_t e = begin; e < end; ++e) {
                const Real xi = c.sigma > 0 ? static_cast<Real>(xy_normal(key, step, static_cast<std::uint64_t>(e))) : Real(0);
                const Real w = xy_baoa(theta[e], omega[e], tau[e], xi, c);
                w2 += static_cast<double>(w) * w;
            }
            partial[b] = w2;
        }
#pragma omp parallel for schedule(static) if (total >= 4096)
        for (std::int64_t e = 0; e < total; ++e) {
            const std::int64_t r = e / N;
            tau[e] = xy_torque(g, theta + r * N, e - r * N, static_cast<Real>(c.J), static_cast<Real>(c.h));
            xy_b(omega[e], tau[e], c);
        }
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
