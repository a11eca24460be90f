// Built with -march=x86-64-v4, -v3 and plain x86-64 into namespaces of those names (SYMBREAK_ISA).
#include "md_kernels.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace symbreak::cpu::SYMBREAK_ISA {
namespace {

constexpr int W = kMDBlock;
constexpr int kChunk = 64;  // candidates whose distances are computed together in the list build

std::vector<std::int32_t>& scratch_list()
{
    thread_local std::vector<std::int32_t> v;
    return v;
}

// Appends j0 + t, for each t < m with r2[t] < rl2 that is not particle i itself, to found[c...] and returns
// the new count. Writes land at min(c, cap), so found needs cap + kChunk slots; r2 needs kChunk entries.
// The order of the list is the candidates' order on every instruction set.
template <class T>
int append_neighbours(T* r2, int m, std::int32_t j0, std::int64_t i, T rl2, std::int32_t* found, int c, int cap)
{
#if defined(__AVX512F__)
    for (int t = m; t < ((m + 15) & ~15); ++t) r2[t] = std::numeric_limits<T>::infinity();
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int t = 0; t < m; t += 16) {
        __mmask16 keep;
        if constexpr (sizeof(T) == 4) {
            keep = _mm512_cmp_ps_mask(_mm512_loadu_ps(r2 + t), _mm512_set1_ps(rl2), _CMP_LT_OQ);
        } else {
            const __m512d limit = _mm512_set1_pd(rl2);
            keep = static_cast<__mmask16>(_mm512_cmp_pd_mask(_mm512_loadu_pd(r2 + t), limit, _CMP_LT_OQ) |
                                          (_mm512_cmp_pd_mask(_mm512_loadu_pd(r2 + t + 8), limit, _CMP_LT_OQ) << 8));
        }
        const std::int64_t self = i - (j0 + t);
        if (self >= 0 && self < 16) keep = static_cast<__mmask16>(keep & ~(1u << self));
        // Compress in a register and store all 16 lanes (the tail is overwritten later): a masked compress
        // straight to memory is microcoded and slow on some CPUs (AMD Zen 4).
        _mm512_storeu_si512(found + std::min(c, cap),
                            _mm512_maskz_compress_epi32(keep, _mm512_add_epi32(_mm512_set1_epi32(j0 + t), iota)));
        c += __builtin_popcount(keep);
    }
#else
    for (int t = 0; t < m; ++t) {  // branch-free: every candidate is written, the slot advances for neighbours
        const std::int32_t j = j0 + t;
        found[std::min(c, cap)] = j;
        c += (r2[t] < rl2) & (j != i);
    }
#endif
    return c;
}

// One block of kMDBlock particles, one SIMD lane each (gathers of the neighbours' coordinates). A lane past
// its own list, or a pair beyond r_cut, evaluates the potential at r_cut and adds zero: branch-free, and the
// sum of each particle still runs over its own neighbours in list order.
template <class T, int D, class P, bool kEnergy, bool kDamp>
void force_blocks(const MDForceArgs<T, D>& a, const P pot, std::int64_t b0, std::int64_t b1)
{
    for (std::int64_t b = b0; b < b1; ++b) {
        const std::int64_t i0 = b * W;
        const int lanes = static_cast<int>(std::min<std::int64_t>(W, a.n - i0));
        T xi[D][W], vi[D][W], fi[D][W] = {}, e[W] = {}, w[W] = {};
        int cnt[W];
        for (int l = 0; l < W; ++l) {
            const std::int64_t i = i0 + std::min(l, lanes - 1);
            cnt[l] = l < lanes ? a.count[i] : 0;
            for (int d = 0; d < D; ++d) {
                xi[d][l] = a.x[d][i];
                vi[d][l] = kDamp ? a.v[d][i] : T(0);
            }
        }
        const std::int32_t* nb = a.nbr + b * a.stride * W;
        const int km = a.kmax[b];
        for (int k = 0; k < km; ++k) {
            const std::int32_t* row = nb + static_cast<std::int64_t>(k) * W;
#pragma omp simd
            for (int l = 0; l < W; ++l) {
                const std::int32_t j = row[l];
                T dx[D], r2 = 0;
                for (int d = 0; d < D; ++d) {
                    dx[d] = md_min_image(xi[d][l] - a.x[d][j], a.L[d], a.half_L[d]);
                    r2 += dx[d] * dx[d];
                }
                const bool in = (k < cnt[l]) & (r2 < a.rc2);
                const T rs = in ? r2 : a.rc2;
                T fr, en;
                pot.eval(rs, fr, en);
                if constexpr (kEnergy) {  // conservative forces only: V and W do not depend on damping
                    e[l] += in ? en : T(0);
                    w[l] += in ? fr * r2 : T(0);
                }
                if constexpr (kDamp) {
                    T dv = 0;
                    for (int d = 0; d < D; ++d) dv += dx[d] * (vi[d][l] - a.v[d][j]);
                    const T wgt = T(1) - std::sqrt(rs) * a.inv_rc;
                    fr -= a.damping * wgt * wgt * dv / rs;
                }
                fr = in ? fr : T(0);
                for (int d = 0; d < D; ++d) fi[d][l] += fr * dx[d];
            }
        }
        for (int l = 0; l < lanes; ++l)
            for (int d = 0; d < D; ++d) a.f[d][i0 + l] = fi[d][l];
        if constexpr (kEnergy) {
            double es = 0, ws = 0;  // every pair is seen from both ends: halve
            for (int l = 0; l < lanes; ++l) {
                es += e[l];
                ws += w[l];
            }
            a.energy[b] = 0.5 * es;
            a.virial[b] = 0.5 * ws;
        }
    }
}

template <class T, int D, class P>
void force_dispatch(const MDForceArgs<T, D>& a, const P& pot, std::int64_t b0, std::int64_t b1)
{
    const bool energy = a.energy != nullptr, damp = a.damping != T(0);
    if (energy && damp) force_blocks<T, D, P, true, true>(a, pot, b0, b1);
    else if (energy) force_blocks<T, D, P, true, false>(a, pot, b0, b1);
    else if (damp) force_blocks<T, D, P, false, true>(a, pot, b0, b1);
    else force_blocks<T, D, P, false, false>(a, pot, b0, b1);
}

}  // namespace

template <class T, int D>
void md_forces(const MDForceArgs<T, D>& a, const PairParams& p, std::int64_t b0, std::int64_t b1)
{
    with_potential<T>(p, [&](const auto& pot) { force_dispatch(a, pot, b0, b1); });
}

// Full lists (both i→j and j→i): each particle sums its own force, so no two threads write the same
// particle and the result is the same for every thread count. Lists longer than the stride are counted but
// not stored; the driver then grows the stride and builds again.
template <class T, int D>
void md_build_list(const MDListArgs<T, D>& a, std::int64_t b0, std::int64_t b1)
{
    for (std::int64_t b = b0; b < b1; ++b) {
        const std::int64_t i0 = b * W;
        const int lanes = static_cast<int>(std::min<std::int64_t>(W, a.n - i0));
        std::int32_t* nb = a.nbr + b * a.stride * W;
        double min_r2 = std::numeric_limits<double>::infinity();
        int km = 0;
        std::vector<std::int32_t>& found_list = scratch_list();
        found_list.resize(static_cast<std::size_t>(a.stride) + kChunk);
        std::int32_t* found = found_list.data();
        const int kMaxFound = static_cast<int>(a.stride);
        for (int l = 0; l < W; ++l) {
            int c = 0;
            if (l < lanes) {
                const std::int64_t i = i0 + l;
                T xi[D];
                for (int d = 0; d < D; ++d) xi[d] = a.x[d][i];
                const std::int32_t cell = a.cell_of[i];
                // Neighbours go to a contiguous scratch list first, then into the block's columns.
                for (std::int32_t r = a.run_start[cell]; r < a.run_start[cell + 1]; ++r) {
                    const std::int32_t j1 = a.cell_start[a.runs[2 * r + 1]];
                    // A run is a contiguous range of particles: distances in SIMD over chunks of it, then the
                    // neighbours among them are appended.
                    for (std::int32_t j0 = a.cell_start[a.runs[2 * r]]; j0 < j1; j0 += kChunk) {
                        const int m = std::min<std::int32_t>(kChunk, j1 - j0);
                        T r2[kChunk];
#pragma omp simd
                        for (int t = 0; t < m; ++t) {
                            T s = 0;
                            for (int d = 0; d < D; ++d) {
                                const T dx = md_min_image(xi[d] - a.x[d][j0 + t], a.L[d], a.half_L[d]);
                                s += dx * dx;
                            }
                            r2[t] = s;
                        }
                        c = append_neighbours(r2, m, j0, i, a.rl2, found, c, kMaxFound);
                    }
                }
                const int stored = static_cast<int>(std::min<std::int64_t>(c, a.stride));
                for (int k = 0; k < stored; ++k) nb[static_cast<std::int64_t>(k) * W + l] = found[k];
                a.count[i] = c;
            }
            km = std::max(km, c);
        }
        // Pad the shorter lists (and absent lanes) with a valid index, so the force loop can gather blindly.
        const int stored = static_cast<int>(std::min<std::int64_t>(km, a.stride));
        for (int l = 0; l < W; ++l) {
            const std::int32_t self = static_cast<std::int32_t>(i0 + std::min(l, lanes - 1));
            const int c = l < lanes ? a.count[i0 + l] : 0;
            for (int k = c; k < stored; ++k) nb[static_cast<std::int64_t>(k) * W + l] = self;
        }
        a.kmax[b] = km;
        // The closest pair of the block, for the overlap check (a pass over the stored lists: cheaper than a
        // dependency chain through every candidate above).
        T closest[W];
        for (int l = 0; l < W; ++l) closest[l] = std::numeric_limits<T>::infinity();
        for (int k = 0; k < stored; ++k) {
            const std::int32_t* row = nb + static_cast<std::int64_t>(k) * W;
#pragma omp simd
            for (int l = 0; l < W; ++l) {
                const std::int64_t i = i0 + std::min(l, lanes - 1);
                T r2 = 0;
                for (int d = 0; d < D; ++d) {
                    const T dx = md_min_image(a.x[d][i] - a.x[d][row[l]], a.L[d], a.half_L[d]);
                    r2 += dx * dx;
                }
                closest[l] = row[l] != i && r2 < closest[l] ? r2 : closest[l];
            }
        }
        for (int l = 0; l < W; ++l) min_r2 = std::min(min_r2, static_cast<double>(closest[l]));
        a.min_r2[b] = min_r2;
    }
}

namespace {

// Half lists (only j > i in the sorted order; row i at nbr[i · stride]), summed with Newton's third law:
// each pair is evaluated once and its force added to i and subtracted from j. SIMD runs over the j's of one
// i, which are distinct, so the scatter to them has no conflicts within a vector. Rows are padded with i to
// whole 64-byte vectors (no scalar remainder loop; the padding adds zero to i). The caller zeroes f (one
// array per thread: rows of different threads reach the same j) and adds the arrays up.
template <class T>
constexpr int kHalfPad = 64 / sizeof(T);

template <class T, int D, class P, bool kEnergy, bool kDamp>
void half_force_blocks(const MDForceArgs<T, D>& a, const P pot, std::int64_t b0, std::int64_t b1)
{
    T* f[D];
    for (int d = 0; d < D; ++d) f[d] = a.f[d];
    for (std::int64_t b = b0; b < b1; ++b) {
        double eb = 0, wb = 0;
        for (std::int64_t i = b * W; i < std::min<std::int64_t>((b + 1) * W, a.n); ++i) {
            const std::int32_t* row = a.nbr + i * a.stride;
            const int cnt = a.count[i], padded = (cnt + kHalfPad<T> - 1) & ~(kHalfPad<T> - 1);
            T xi[D], vi[D];
            for (int d = 0; d < D; ++d) {
                xi[d] = a.x[d][i];
                vi[d] = kDamp ? a.v[d][i] : T(0);
            }
            T f0 = 0, f1 = 0, f2 = 0, e = 0, w = 0;
#pragma omp simd reduction(+ : f0, f1, f2, e, w)
            for (int k = 0; k < padded; ++k) {
                const std::int32_t j = row[k];
                T dx[D], r2 = 0;
                for (int d = 0; d < D; ++d) {
                    dx[d] = md_min_image(xi[d] - a.x[d][j], a.L[d], a.half_L[d]);
                    r2 += dx[d] * dx[d];
                }
                const bool in = (k < cnt) & (r2 < a.rc2);
                const T rs = in ? r2 : a.rc2;
                T fr, en;
                pot.eval(rs, fr, en);
                if constexpr (kEnergy) {
                    e += in ? en : T(0);
                    w += in ? fr * r2 : T(0);
                }
                if constexpr (kDamp) {
                    T dv = 0;
                    for (int d = 0; d < D; ++d) dv += dx[d] * (vi[d] - a.v[d][j]);
                    const T wgt = T(1) - std::sqrt(rs) * a.inv_rc;
                    fr -= a.damping * wgt * wgt * dv / rs;
                }
                fr = in ? fr : T(0);
                const T g0 = fr * dx[0], g1 = fr * dx[1];
                f0 += g0;
                f1 += g1;
                f[0][j] -= g0;
                f[1][j] -= g1;
                if constexpr (D == 3) {
                    const T g2 = fr * dx[D - 1];
                    f2 += g2;
                    f[2][j] -= g2;
                }
            }
            f[0][i] += f0;
            f[1][i] += f1;
            if constexpr (D == 3) f[2][i] += f2;
            eb += e;
            wb += w;
        }
        if constexpr (kEnergy) {
            a.energy[b] = eb;
            a.virial[b] = wb;
        }
    }
}

template <class T, int D, class P>
void half_force_dispatch(const MDForceArgs<T, D>& a, const P& pot, std::int64_t b0, std::int64_t b1)
{
    const bool energy = a.energy != nullptr, damp = a.damping != T(0);
    if (energy && damp) half_force_blocks<T, D, P, true, true>(a, pot, b0, b1);
    else if (energy) half_force_blocks<T, D, P, true, false>(a, pot, b0, b1);
    else if (damp) half_force_blocks<T, D, P, false, true>(a, pot, b0, b1);
    else half_force_blocks<T, D, P, false, false>(a, pot, b0, b1);
}

}  // namespace

template <class T, int D>
void md_forces_half(const MDForceArgs<T, D>& a, const PairParams& p, std::int64_t b0, std::int64_t b1)
{
    with_potential<T>(p, [&](const auto& pot) { half_force_dispatch(a, pot, b0, b1); });
}

// The half list of the particles of blocks [b0, b1): the candidates of each run that come after i.
// kmax[b] is the longest list of the block (the driver grows the stride from it, in whole vectors).
template <class T, int D>
void md_build_half_list(const MDListArgs<T, D>& a, std::int64_t b0, std::int64_t b1)
{
    std::vector<std::int32_t>& found_list = scratch_list();
    found_list.resize(static_cast<std::size_t>(a.stride) + kChunk);
    std::int32_t* found = found_list.data();
    const int kMaxFound = static_cast<int>(a.stride);
    for (std::int64_t b = b0; b < b1; ++b) {
        int km = 0;
        T closest = std::numeric_limits<T>::infinity();
        for (std::int64_t i = b * W; i < std::min<std::int64_t>((b + 1) * W, a.n); ++i) {
            T xi[D];
            for (int d = 0; d < D; ++d) xi[d] = a.x[d][i];
            const std::int32_t cell = a.cell_of[i];
            int c = 0;
            for (std::int32_t r = a.run_start[cell]; r < a.run_start[cell + 1]; ++r) {
                const std::int32_t j1 = a.cell_start[a.runs[2 * r + 1]];
                for (std::int32_t j0 = std::max<std::int32_t>(a.cell_start[a.runs[2 * r]], static_cast<std::int32_t>(i + 1));
                     j0 < j1; j0 += kChunk) {
                    const int m = std::min<std::int32_t>(kChunk, j1 - j0);
                    T r2[kChunk];
#pragma omp simd
                    for (int t = 0; t < m; ++t) {
                        T s = 0;
                        for (int d = 0; d < D; ++d) {
                            const T dx = md_min_image(xi[d] - a.x[d][j0 + t], a.L[d], a.half_L[d]);
                            s += dx * dx;
                        }
                        r2[t] = s;
                    }
                    c = append_neighbours(r2, m, j0, i, a.rl2, found, c, kMaxFound);
                }
            }
            const int stored = std::min(c, kMaxFound);
            std::int32_t* row = a.nbr + i * a.stride;
            std::copy(found, found + stored, row);
            std::fill(row + stored, row + ((stored + kHalfPad<T> - 1) & ~(kHalfPad<T> - 1)), static_cast<std::int32_t>(i));
            a.count[i] = c;
            km = std::max(km, c);
            // The closest pair (overlap check), over the stored row as in the full list.
#pragma omp simd reduction(min : closest)
            for (int k = 0; k < stored; ++k) {
                T r2 = 0;
                for (int d = 0; d < D; ++d) {
                    const T dx = md_min_image(xi[d] - a.x[d][row[k]], a.L[d], a.half_L[d]);
                    r2 += dx * dx;
                }
                closest = std::min(closest, r2);
            }
        }
        a.kmax[b] = km;
        a.min_r2[b] = static_cast<double>(closest);
    }
}

#define SYMBREAK_MD_INSTANTIATE(T, D)                                                                         \
    template void md_forces<T, D>(const MDForceArgs<T, D>&, const PairParams&, std::int64_t, std::int64_t); \
    template void md_build_list<T, D>(const MDListArgs<T, D>&, std::int64_t, std::int64_t);                 \
    template void md_forces_half<T, D>(const MDForceArgs<T, D>&, const PairParams&, std::int64_t, std::int64_t); \
    template void md_build_half_list<T, D>(const MDListArgs<T, D>&, std::int64_t, std::int64_t);
SYMBREAK_MD_INSTANTIATE(float, 2)
SYMBREAK_MD_INSTANTIATE(float, 3)
SYMBREAK_MD_INSTANTIATE(double, 2)
SYMBREAK_MD_INSTANTIATE(double, 3)
#undef SYMBREAK_MD_INSTANTIATE

}  // namespace symbreak::cpu::SYMBREAK_ISA
