// Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC'11): a counter-based generator. Output = bijection of a
// 128-bit counter under a 64-bit key; no hidden state, so any thread, block or backend can draw the number
// for any (seed, step, element) directly, and results never depend on thread count or launch order.
//
// Counter layout used by every symbreak rule:
//   key      k0 = low 32 bits of the user's seed,  k1 = high 32 bits of the seed
//   counter  c0 = element index, low 32 bits        (an element is what one call serves: e.g. 4 lattice sites)
//            c1 = bits 0-15: element index, bits 32-47
//                 bits 16-23: sub-step             (e.g. checkerboard colour, BAOAB O-step number)
//                 bits 24-31: RngId                (which rule is drawing; see ids.hpp)
//            c2 = step, low 32 bits                (sweep / time step / optimizer step)
//            c3 = step, high 32 bits
// Replicas (R independent lattices in one array) never get a key or id of their own: replica r's element e
// takes index r · (elements per replica) + e, so replica 0 draws exactly what a single lattice draws and no two
// replicas share a number (Ising: lattice/ising_cpu.hpp; XY: lattice/xy.hpp). Serial streams (Wolff) start
// replica r at word r · 2^34 of the step's stream.
// One call yields four 32-bit words = eight 16-bit half-words. Rules that need one half-word per element k
// take it from groups of 16 calls (128 half-words): with q = k % 128, half-word (q % 32) / 16 (0 = low,
// 1 = high) of word q / 32 of call 16 (k / 128) + q % 16 (philox_group_half). This layout lets the CPU
// compute 16 calls in vector lanes and store each half-word plane contiguously, and lets a GPU thread serve
// one call.
#pragma once
#include <cmath>
#include <cstdint>

#include "symbreak/core/hd.hpp"
#include "symbreak/rng/ids.hpp"

namespace symbreak {

struct Philox4x32 {
    std::uint32_t v[4];
};

struct PhiloxKey {
    std::uint32_t k0, k1;
};

SYMBREAK_HD PhiloxKey philox_key(std::uint64_t seed)
{
    return {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
}

SYMBREAK_HD Philox4x32 philox_counter(std::uint64_t index, std::uint32_t substep, RngId id, std::uint64_t step)
{
    return {{static_cast<std::uint32_t>(index),
             static_cast<std::uint32_t>((index >> 32) & 0xFFFFu) | ((substep & 0xFFu) << 16) |
                 (static_cast<std::uint32_t>(id) << 24),
             static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32)}};
}

SYMBREAK_HD void philox_mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo)
{
    const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
    hi = static_cast<std::uint32_t>(p >> 32);
    lo = static_cast<std::uint32_t>(p);
}

// Element k's half-word in the grouped layout described above.
struct PhiloxHalf {
    std::uint64_t call;  // counter index of the call
    int word;            // 0..3
    int half;            // 0: low 16 bits, 1: high 16 bits
};
SYMBREAK_HD PhiloxHalf philox_group_half(std::uint64_t k)
{
    const std::uint64_t q = k % 128;
    return {16 * (k / 128) + q % 16, static_cast<int>(q / 32), static_cast<int>((q % 32) / 16)};
}
SYMBREAK_HD std::uint16_t philox_half(const Philox4x32& x, int word, int half)
{
    return static_cast<std::uint16_t>(x.v[word] >> (16 * half));
}

// The ten-round bijection.
SYMBREAK_HD Philox4x32 philox4x32_10(Philox4x32 c, PhiloxKey k)
{
    constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int round = 0; round < 10; ++round) {
        std::uint32_t hi0, lo0, hi1, lo1;
        philox_mulhilo(M0, c.v[0], hi0, lo0);
        philox_mulhilo(M1, c.v[2], hi1, lo1);
        c = {{hi1 ^ c.v[1] ^ k.k0, lo1, hi0 ^ c.v[3] ^ k.k1, lo0}};
        k.k0 += W0;
        k.k1 += W1;
    }
    return c;
}

// Uniform float in [0, 1) with 24 random bits.
SYMBREAK_HD float uniform_float(std::uint32_t x) { return static_cast<float>(x >> 8) * 5.9604644775390625e-8f; }

// Uniform double in [0, 1) with 53 random bits from two words.
SYMBREAK_HD double uniform_double(std::uint32_t hi, std::uint32_t lo)
{
    const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 21) ^ (lo >> 11);
    return static_cast<double>(bits) * 1.1102230246251565e-16;
}

// A uniform 31-bit integer: probabilities are compared as (x >> 1) < round(p * 2^31), which can express
// both p = 0 and p = 1 exactly in 32-bit arithmetic (resolution 2^-31).
SYMBREAK_HD std::uint32_t probability_threshold(double p)
{
    if (!(p > 0.0)) return 0u;
    if (p >= 1.0) return 0x80000000u;
    return static_cast<std::uint32_t>(p * 2147483648.0 + 0.5);
}

SYMBREAK_HD bool bernoulli(std::uint32_t x, std::uint32_t threshold) { return (x >> 1) < threshold; }

// Two standard normals from one Philox call (Box-Muller on 53-bit uniforms; log argument in (0, 1]).
// CPU and CUDA libm may differ in the last ulp, so normals agree to round-off, not bitwise.
SYMBREAK_HD void normal2_double(Philox4x32 x, double& z0, double& z1)
{
    const double u1 = 1.0 - uniform_double(x.v[0], x.v[1]);
    const double u2 = uniform_double(x.v[2], x.v[3]);
    const double radius = sqrt(-2.0 * log(u1));
    const double angle = 6.283185307179586 * u2;
    z0 = radius * cos(angle);
    z1 = radius * sin(angle);
}

// Four standard normals in float from one call (Box-Muller on 24-bit uniforms).
SYMBREAK_HD void normal4_float(Philox4x32 x, float z[4])
{
    for (int i = 0; i < 2; ++i) {
        const float u1 = 1.0f - uniform_float(x.v[2 * i]);
        const float u2 = uniform_float(x.v[2 * i + 1]);
        const float radius = sqrtf(-2.0f * logf(u1));
        z[2 * i] = radius * cosf(6.2831853071795865f * u2);
        z[2 * i + 1] = radius * sinf(6.2831853071795865f * u2);
    }
}

// Sequential draws for inherently serial rules (Wolff clusters): element index = draw number / 4.
struct PhiloxStream {
    PhiloxKey key;
    RngId id;
    std::uint64_t step;
    std::uint64_t next = 0;  // index of the next 32-bit word
    Philox4x32 block{};

    SYMBREAK_HD std::uint32_t operator()()
    {
        const std::uint32_t lane = next & 3u;
        if (lane == 0) block = philox4x32_10(philox_counter(next >> 2, 0, id, step), key);
        ++next;
        return block.v[lane];
    }
    // Uniform integer in [0, n) by 64-bit multiply-shift; bias below n / 2^64.
    SYMBREAK_HD std::uint64_t below(std::uint64_t n)
    {
        const std::uint64_t r = (static_cast<std::uint64_t>((*this)()) << 32) | (*this)();
#if defined(__CUDA_ARCH__)
        return __umul64hi(r, n);
#else
        return static_cast<std::uint64_t>((static_cast<unsigned __int128>(r) * n) >> 64);
#endif
    }
};

}  // namespace symbreak
