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
// kHalf (half list, j > i only): the pair forces of the block are also kept and subtracted from the j's after
// it, in scalar code (lanes may share a j; padding entries subtract zero from i itself). f is added to, not
// overwritten: the caller zeroes it, one array per thread, and adds them up.
template <class T, int D, class P, bool kEnergy, bool kDamp, bool kHalf>
void force_blocks(const MDForceArgs<T, D>& a, const P pot, std::int64_t b0, std::int64_t b1)
{
    thread_local std::vector<T> pair_force;  // kHalf: the pair forces of one block, [k][d][lane]
    if constexpr (kHalf) pair_force.resize(static_cast<std::size_t>(a.stride * D * W));
    T* const g = pair_force.data();
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
                for (int d = 0; d < D; ++d) {
                    fi[d][l] += fr * dx[d];
                    if constexpr (kHalf) g[(k * D + d) * W + l] = fr * dx[d];
                }
            }
        }
        if constexpr (kHalf) {
            for (int k = 0; k < km; ++k) {
                const std::int32_t* row = nb + static_cast<std::int64_t>(k) * W;
                for (int l = 0; l < W; ++l)
                    for (int d = 0; d < D; ++d) a.f[d][row[l]] -= g[(k * D + d) * W + l];
            }
            for (int l = 0; l < lanes; ++l)
                for (int d = 0; d < D; ++d) a.f[d][i0 + l] += fi[d][l];
        } else {
            for (int l = 0; l < lanes; ++l)
                for (int d = 0; d < D; ++d) a.f[d][i0 + l] = fi[d][l];
        }
        if constexpr (kEnergy) {
            double es = 0, ws = 0;
            for (int l = 0; l < lanes; ++l) {
                es += e[l];
                ws += w[l];
            }
            const double share = kHalf ? 1.0 : 0.5;  // a full list sees every pair from both ends
            a.energy[b] = share * es;
            a.virial[b] = share * ws;
        }
    }
}

template <bool kHalf, class T, int D, class P>
void force_dispatch(const MDForceArgs<T, D>& a, const P& pot, std::int64_t b0, std::int64_t b1)
{
    const bool energy = a.energy != nullptr, damp = a.damping != T(0);
    if (energy && damp) force_blocks<T, D, P, true, true, kHalf>(a, pot, b0, b1);
    else if (energy) force_blocks<T, D, P, true, false, kHalf>(a, pot, b0, b1);
    else if (damp) force_blocks<T, D, P, false, true, kHalf>(a, pot, b0, b1);
    else force_blocks<T, D, P, false, false, kHalf>(a, pot, b0, b1);
}

// The neighbours of the particles of blocks [b0, b1): full lists, or (kHalf) only the candidates after i.
template <bool kHalf, class T, int D>
void build_lists(const MDListArgs<T, D>& a, std::int64_t b0, std::int64_t b1);

}  // namespace

template <class T, int D>
void md_forces(const MDForceArgs<T, D>& a, const PairParams& p, std::int64_t b0, std::int64_t b1)
{
    with_potential<T>(p, [&](const auto& pot) { force_dispatch<false>(a, pot, b0, b1); });
}

template <class T, int D>
void md_forces_half(const MDForceArgs<T, D>& a, const PairParams& p, std::int64_t b0, std::int64_t b1)
{
    with_potential<T>(p, [&](const auto& pot) { force_dispatch<true>(a, pot, b0, b1); });
}

// Full lists (both i→j and j→i): each particle sums its own force, so no two threads write the same
// particle and the result is the same for every thread count. Lists longer than the stride are counted but
// not stored; the driver then grows the stride and builds again.
template <class T, int D>
void md_build_list(const MDListArgs<T, D>& a, std::int64_t b0, std::int64_t b1)
{
    build_lists<false>(a, b0, b1);
}

// Half lists (j > i in the sorted order), in the same layout: each pair once, for md_forces_half.
template <class T, int D>
void md_build_half_list(const MDListArgs<T, D>& a, std::int64_t b0, std::int64_t b1)
{
    build_lists<true>(a, b0, b1);
}

namespace {

template <bool kHalf, class T, int D>
void build_lists(const MDListArgs<T, D>& a, std::int64_t b0, std::int64_t b1)
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
                    std::int32_t first = a.cell_start[a.runs[2 * r]];
                    if constexpr (kHalf) first = std::max(first, static_cast<std::int32_t>(i + 1));
                    for (std::int32_t j0 = first; j0 < j1; j0 += kChunk) {
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

}  // namespace

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
