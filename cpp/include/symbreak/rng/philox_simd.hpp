// Philox4x32-10 on N counters at once (host only), with GCC/Clang vector extensions. The including
// translation unit is compiled once per instruction set (see CMakeLists.txt): N = 16 with AVX-512, 8 with
// AVX2, 4 with SSE2. Lane i computes exactly philox4x32_10() of its counter (tests/cpp/test_philox.cpp).
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "symbreak/rng/philox.hpp"

// 32-bit lanes of this translation unit's widest vector: the N its kernels instantiate.
#if defined(__AVX512F__)
#define SYMBREAK_LANES 16
#elif defined(__AVX2__)
#define SYMBREAK_LANES 8
#else
#define SYMBREAK_LANES 4
#endif

namespace symbreak::simd {

template <int N>
struct Vec {
    typedef std::uint16_t u16 __attribute__((vector_size(2 * N)));
    typedef std::uint32_t u32 __attribute__((vector_size(4 * N)));
    typedef std::uint64_t u64 __attribute__((vector_size(4 * N)));
};

// Low 32 bits of every 64-bit lane of a times m, as 64-bit products (pmuludq).
template <int N>
inline typename Vec<N>::u64 mul_low32(typename Vec<N>::u64 a, std::uint32_t m)
{
#if defined(__AVX512F__)
    static_assert(N == 16);
    // Not (a & 0xFFFFFFFF) * m: GCC 12 lowers that to vpmullq (3 µops, latency 15) instead of vpmuludq. The
    // all-lanes masked form: the plain intrinsic's _mm512_undefined_epi32 trips -Wmaybe-uninitialized in GCC 12.
    return (typename Vec<N>::u64)_mm512_mask_mul_epu32(_mm512_setzero_si512(), 0xFF, (__m512i)a,
                                                        _mm512_set1_epi64(m));
#elif defined(__AVX2__)
    static_assert(N == 8);
    return (typename Vec<N>::u64)_mm256_mul_epu32((__m256i)a, _mm256_set1_epi64x(m));
#else
    static_assert(N == 4);
    return (typename Vec<N>::u64)_mm_mul_epu32((__m128i)a, _mm_set1_epi64x(m));
#endif
}

template <int N>
inline void mulhilo(typename Vec<N>::u32 a, std::uint32_t m, typename Vec<N>::u32& hi, typename Vec<N>::u32& lo)
{
    using u64 = typename Vec<N>::u64;
    u64 wide;
    __builtin_memcpy(&wide, &a, sizeof(a));
    const u64 even = mul_low32<N>(wide, m);
    const u64 odd = mul_low32<N>(wide >> 32, m);
    const u64 lo64 = (even & 0xFFFFFFFFull) | (odd << 32);
    const u64 hi64 = (even >> 32) | (odd & 0xFFFFFFFF00000000ull);
    __builtin_memcpy(&lo, &lo64, sizeof(lo));
    __builtin_memcpy(&hi, &hi64, sizeof(hi));
}

// Calls with counters (c0 + i, c1, c2, c3), i = 0..N-1; out[l] holds word l of every lane. c0 must be a
// multiple of N so that no lane wraps past 2^32.
template <int N>
inline void philox_lanes(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3, PhiloxKey key,
                         typename Vec<N>::u32 out[4])
{
    using u32 = typename Vec<N>::u32;
    u32 x0, x1 = u32{} + c1, x2 = u32{} + c2, x3 = u32{} + c3;
    for (int i = 0; i < N; ++i) x0[i] = c0 + static_cast<std::uint32_t>(i);
    std::uint32_t k0 = key.k0, k1 = key.k1;
    for (int round = 0; round < 10; ++round) {
        u32 hi0, lo0, hi1, lo1;
        mulhilo<N>(x0, 0xD2511F53u, hi0, lo0);
        mulhilo<N>(x2, 0xCD9E8D57u, hi1, lo1);
        x0 = hi1 ^ x1 ^ k0;
        x1 = lo1;
        x2 = hi0 ^ x3 ^ k1;
        x3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = x0;
    out[1] = x1;
    out[2] = x2;
    out[3] = x3;
}

// Half-words of `n_groups` groups of 16 calls counted under philox_counter(call, substep, id, step), in the
// layout of philox_group_half(): out[128 (g - first) + 32 w + 16 h + i] = half h of word w of call 16 g + i.
template <int N>
inline void philox_groups_u16(std::uint16_t* out, std::uint64_t first_group, std::int64_t n_groups,
                              std::uint32_t substep, RngId id, std::uint64_t step, PhiloxKey key)
{
    static_assert(16 % N == 0);
    using u16 = typename Vec<N>::u16;
    using u32 = typename Vec<N>::u32;
    for (std::int64_t g = 0; g < n_groups; ++g) {
        for (int part = 0; part < 16 / N; ++part) {
            const std::uint64_t call = 16 * (first_group + static_cast<std::uint64_t>(g)) + part * N;
            const Philox4x32 c = philox_counter(call, substep, id, step);
            u32 x[4];
            philox_lanes<N>(c.v[0], c.v[1], c.v[2], c.v[3], key, x);
            for (int w = 0; w < 4; ++w) {
                const u16 low = __builtin_convertvector(x[w], u16);
                const u16 high = __builtin_convertvector(x[w] >> 16, u16);
                std::uint16_t* dst = out + 128 * g + 32 * w + part * N;
                __builtin_memcpy(dst, &low, sizeof(low));
                __builtin_memcpy(dst + 16, &high, sizeof(high));
            }
        }
    }
}

}  // namespace symbreak::simd
