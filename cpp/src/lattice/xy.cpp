// CPU driver of the XY rotors: OpenMP over fixed slabs of lines (steps) or blocks of lines (totals), each site
// calling the rules of xy.hpp.
#include "symbreak/lattice/xy_cpu.hpp"

#include "../core/isa.hpp"
#include "xy_blocks.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>
#include <vector>

namespace symbreak::cpu {
namespace {

constexpr std::int64_t kBlock = 4096;


// The per-ISA kernels of xy_blocks.cpp, for the widest instruction set this CPU runs.
template <class Real>
struct Kernels {
    void (*baoa)(const XYBlock<Real>&);
    void (*torque)(const XYLine<Real>&);
    XYTotals (*totals)(const XYTotalsBlock<Real>&);
};

template <class Real>
const Kernels<Real>& kernels()
{
#define SYMBREAK_XY_KERNELS(ns) Kernels<Real>{ns::xy_baoa_block, ns::xy_torque_line, ns::xy_totals_block}
    static const Kernels<Real> k = for_widest_isa(SYMBREAK_XY_KERNELS(x86_64_v4), SYMBREAK_XY_KERNELS(x86_64_v3),
                                                  SYMBREAK_XY_KERNELS(x86_64_v1));
#undef SYMBREAK_XY_KERNELS
    return k;
}

// cos θ and sin θ of every site: C and S, each `total` long.
template <class Real>
void cos_sin(std::int64_t total, const Real* theta, Real* C, Real* S)
{
#pragma omp parallel for schedule(static) if (total >= 4096)
    for (std::int64_t e = 0; e < total; ++e) xy_cos_sin(theta[e], C[e], S[e]);  // the step's rule: same torques
}

// Line `line` (of one replica, along the last axis) for the per-ISA line kernel (xy_blocks.cpp): τ = xy_torque
// from cos θ and sin θ, which at(q) finds for line q, and with omega != null the closing B step
// ω += (dt/2) τ / I; tau and omega point at the line. Its neighbouring lines are found once per line, so the
// kernel runs a contiguous, vectorised loop (PeriodicGrid::shift would divide per site).
template <class Real, class At>
XYLine<Real> line_of(const PeriodicGrid& g, std::int64_t line, const At& at, Real* tau, Real* omega, const XYStep& c)
{
    std::int64_t adj[4];
    const int n = xy_adjacent_lines(g, line, adj);
    const auto [cl, sl] = at(line);
    XYLine<Real> l{cl, sl, {cl, cl, cl, cl}, {sl, sl, sl, sl}, tau, omega, g.n[2], n,
                   static_cast<Real>(c.J), static_cast<Real>(c.h), static_cast<Real>(c.half_dt_over_I)};
    for (int a = 0; a < n; ++a) std::tie(l.c[a], l.s[a]) = at(adj[a]);
    return l;
}

template <class Real>
void torques_by_line(const PeriodicGrid& g, int replicas, const Real* C, const Real* S, Real* tau, const XYStep& c)
{
    const auto kernel = kernels<Real>().torque;
    const std::int64_t L = g.n[2], N = g.sites(), lines = g.n[0] * g.n[1];
#pragma omp parallel for schedule(static) if (N * replicas >= 4096)
    for (std::int64_t q = 0; q < lines * replicas; ++q) {
        const std::int64_t r = q / lines;
        const auto at = [&](std::int64_t line) { return std::pair{C + r * N + line * L, S + r * N + line * L}; };
        kernel(line_of(g, q % lines, at, tau + q * L, static_cast<Real*>(nullptr), c));
    }
}

}  // namespace

template <class Real>
void xy_torques(const PeriodicGrid& g, int replicas, const Real* theta, Real* tau, double J, double h)
{
    const std::int64_t total = g.sites() * replicas;
    std::vector<Real> cs(static_cast<std::size_t>(2 * total));
    cos_sin(total, theta, cs.data(), cs.data() + total);
    torques_by_line(g, replicas, cs.data(), cs.data() + total, tau, XYStep{0, 0, 0, 0, J, h});
}

// One pass per step. Each replica's lines (along the last axis) go in slabs of at least 64 lines, a fixed
// partition whatever the thread count; a slab's lines get B A O A in chunks of about 2048 sites, their cos θ and
// sin θ into a window of recent lines, and right behind them, once their neighbouring lines are done, the torques
// and the closing B, while those lines are still in cache; cos θ, sin θ never go to a lattice-sized array. The D
// lines at either end of a slab (D = 1 in 2D, one plane in 3D) need a neighbouring slab's angles: the 2D lines at
// each end keep their cos θ, sin θ in `edges`, and their torques wait for a barrier.
template <class Real>
void xy_langevin(const PeriodicGrid& g, int replicas, Real* theta, Real* omega, Real* tau, const XYStep* steps,
                 std::int64_t n, std::uint64_t seed, std::uint64_t step0, double* post_o)
{
    const auto baoa = kernels<Real>().baoa, torque = kernels<Real>().torque;
    const std::int64_t N = g.sites(), total = N * replicas, L = g.n[2], lines = g.n[0] * g.n[1];
    const std::int64_t D = g.dim == 3 ? g.n[1] : g.dim == 2 ? 1 : 0;  // a line's neighbours lie within ±D lines
    const std::int64_t slab = std::min(lines, std::max<std::int64_t>(64, 16384 / L));
    const std::int64_t per_replica = (lines + slab - 1) / slab, slabs = per_replica * replicas;
    const std::int64_t chunk = std::min(slab, std::max<std::int64_t>(1, 2048 / L));  // lines per B A O A call
    const std::int64_t kept = std::min(slab, 2 * D);  // lines at each end of a slab stored in `edges`
    const std::int64_t window = 2 * D + 4 * chunk;    // lines of the window
    const PhiloxKey key = philox_key(seed);
    std::vector<double> partial(static_cast<std::size_t>(slabs));
    // Slab b's first `kept` lines (cos θ then sin θ, L each), then its last `kept`.
    std::vector<Real> edges(static_cast<std::size_t>(slabs * 2 * kept * 2 * L));
    const auto bounds = [&](std::int64_t b) {  // slab b: replica r, lines [l0, l1)
        const std::int64_t r = b / per_replica, l0 = (b % per_replica) * slab;
        return std::tuple{r, l0, std::min(l0 + slab, lines)};
    };
    const auto edge_line = [&](std::int64_t r, std::int64_t q) {  // line q of replica r in `edges`
        const std::int64_t b = r * per_replica + q / slab, l0 = (q / slab) * slab, l1 = std::min(l0 + slab, lines);
        const std::int64_t slot = q < l0 + kept ? q - l0 : kept + q - (l1 - kept);
        Real* cq = edges.data() + ((b * 2 * kept + slot) * 2) * L;
        return std::pair{cq, cq + L};
    };
#pragma omp parallel if (total >= 4096)
    {
        std::vector<Philox4x32> words(kBlock / 2 + 34);
        std::vector<Real> z(kBlock + 6), after_o(kBlock), win(static_cast<std::size_t>(2 * window * L));
        Real* wc = win.data();  // cos θ of window line i at wc + i L, sin θ at ws + i L
        Real* ws = wc + window * L;
        for (std::int64_t i = 0; i < n; ++i) {
            const XYStep c = steps[i];  // a copy: stores to Real arrays could alias a reference
            const std::uint64_t step = step0 + static_cast<std::uint64_t>(i);
            const bool last = i + 1 == n && post_o;
#pragma omp for schedule(static)
            for (std::int64_t b = 0; b < slabs; ++b) {
                const auto [r, l0, l1] = bounds(b);
                double w2 = 0;
                std::int64_t next = l0 + D;  // the next line to take its torque
                std::int64_t w0 = l0;        // the window holds lines [w0, q)
                const auto at = [&](std::int64_t line) {
                    const std::int64_t at_line = (line - w0) * L;
                    return std::pair{static_cast<const Real*>(wc + at_line), static_cast<const Real*>(ws + at_line)};
                };
                for (std::int64_t q = l0; q < l1; q += chunk) {
                    const std::int64_t qe = std::min(q + chunk, l1);
                    if (q + chunk - w0 > window) {  // keep the lines still needed, from next - D on
                        const std::int64_t from = std::max(w0, next - D);
                        std::copy(wc + (from - w0) * L, wc + (q - w0) * L, wc);
                        std::copy(ws + (from - w0) * L, ws + (q - w0) * L, ws);
                        w0 = from;
                    }
                    const std::int64_t first = r * N + q * L;
                    for (std::int64_t a = first; a < r * N + qe * L; a += kBlock) {
                        const std::int64_t e = std::min(a + kBlock, r * N + qe * L), off = (q - w0) * L + a - first;
                        baoa({theta, omega, tau, wc + off, ws + off, after_o.data(), words.data(), z.data(), a, e, c,
                              key, step});
                        if (last)
                            for (std::int64_t j = 0; j < e - a; ++j) w2 += static_cast<double>(after_o[j]) * after_o[j];
                    }
                    for (std::int64_t line = q; line < qe; ++line)
                        if (line < l0 + kept || line >= l1 - kept) {
                            const auto [ec, es] = edge_line(r, line);
                            std::copy(wc + (line - w0) * L, wc + (line - w0 + 1) * L, ec);
                            std::copy(ws + (line - w0) * L, ws + (line - w0 + 1) * L, es);
                        }
                    for (; next < qe - D; ++next)
                        torque(line_of(g, next, at, tau + r * N + next * L, omega + r * N + next * L, c));
                }
                partial[b] = w2;
            }
#pragma omp for schedule(static)
            for (std::int64_t b = 0; b < slabs; ++b) {  // the lines at the slabs' ends
                const auto [r, l0, l1] = bounds(b);
                const auto at = [&, r = r](std::int64_t line) {
                    const auto [cq, sq] = edge_line(r, line);
                    return std::pair{static_cast<const Real*>(cq), static_cast<const Real*>(sq)};
                };
                for (std::int64_t q = l0; q < l1; ++q)
                    if (q < l0 + D || q >= std::max(l0 + D, l1 - D))
                        torque(line_of(g, q, at, tau + r * N + q * L, omega + r * N + q * L, c));
            }
        }
    }
    if (post_o)
        for (int r = 0; r < replicas; ++r) {
            post_o[r] = 0;
            for (std::int64_t b = 0; b < per_replica; ++b) post_o[r] += partial[r * per_replica + b];
        }
}

// Fixed blocks, whatever the thread count: whole lines, kTotalsBlock sites' worth, or kTotalsBlock-site pieces
// of one line when lines are longer; partials added per replica in block order.
template <class Real>
void xy_totals(const PeriodicGrid& g, int replicas, const Real* theta, const Real* omega, XYTotals* out)
{
    constexpr std::int64_t kTotalsBlock = 16384;
    const auto kernel = kernels<Real>().totals;
    const std::int64_t N = g.sites(), L = g.n[2], lines = g.n[0] * g.n[1];
    const std::int64_t pieces = (L + kTotalsBlock - 1) / kTotalsBlock;  // per line
    const std::int64_t per_block = pieces == 1 ? std::max<std::int64_t>(1, kTotalsBlock / L) : 1;  // lines
    const std::int64_t nb = pieces == 1 ? (lines + per_block - 1) / per_block : lines * pieces;
    const std::int64_t width = std::min(L, kTotalsBlock);
    std::vector<XYTotals> partial(static_cast<std::size_t>(nb * replicas));
#pragma omp parallel if (N * replicas >= 4096)
    {
        std::vector<double> scratch(static_cast<std::size_t>(2 * std::min(per_block, lines) * width + 6 * width));
#pragma omp for schedule(static)
        for (std::int64_t b = 0; b < nb * replicas; ++b) {
            const std::int64_t r = b / nb, k = b % nb;
            XYTotalsBlock<Real> blk{theta + r * N, omega + r * N, scratch.data(), g, 0, 0, 0, L};
            if (pieces == 1) {
                blk.q0 = k * per_block;
                blk.q1 = std::min(blk.q0 + per_block, lines);
            } else {
                blk.q0 = k / pieces;
                blk.q1 = blk.q0 + 1;
                blk.x0 = k % pieces * kTotalsBlock;
                blk.x1 = std::min(blk.x0 + kTotalsBlock, L);
            }
            partial[b] = kernel(blk);
        }
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
