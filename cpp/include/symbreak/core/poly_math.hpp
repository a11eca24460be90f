// floor, sin, cos and log in double (and, below, float) precision from +, -, *, / and bit operations only, for
// hot loops that libm calls would keep scalar: written once, branch-free, so the compiler vectorises a loop of
// them on the CPU, and a CUDA kernel calling them computes the same bits as the CPU (no fused multiply-adds:
// build with -ffp-contract=off on the host; nvcc's default contraction must be disabled the same way where bitwise
// equality matters). Accuracy: within a few ulp of the precision used (tests/cpp/test_poly_math.cpp checks
// against libm).
#pragma once
#include <cstdint>

#include "symbreak/core/hd.hpp"

namespace symbreak {

// Round to the nearest integer (ties to even) for |x| < 2^51 by adding and subtracting 1.5 · 2^52.
SYMBREAK_HD double poly_round(double x)
{
    constexpr double magic = 6755399441055744.0;  // IEEE arithmetic (no -ffast-math) keeps (x + m) - m
    return (x + magic) - magic;
}

// floor(x) for |x| < 2^51, exactly.
SYMBREAK_HD double poly_floor(double x)
{
    const double k = poly_round(x);
    return k > x ? k - 1.0 : k;
}

// (sin x, cos x) from the series values ps = sin r, pc = cos r of the reduced argument r = x - k π/2, with
// k mod 4 in the low bits of `shifted` (the rounding sum): (ps, pc), (pc, -ps), (-ps, -pc), (-pc, ps) for
// k mod 4 = 0..3, i.e. a swap when it is odd, then sign bits (sin negative for 2, 3; cos for 1, 2) by integer
// operations, which vectorise. Bits: the unsigned integer of Real's width.
template <class Bits, class Real>
SYMBREAK_HD void poly_quadrant(Real shifted, Real ps, Real pc, Real& s, Real& c)
{
    constexpr int sign = 8 * sizeof(Bits) - 1;
    Bits q;
    __builtin_memcpy(&q, &shifted, sizeof q);
    q &= 3;
    const Real sa = (q & 1) != 0 ? pc : ps, ca = (q & 1) != 0 ? ps : pc;
    Bits sb, cb;
    __builtin_memcpy(&sb, &sa, sizeof sb);
    __builtin_memcpy(&cb, &ca, sizeof cb);
    sb ^= (q >> 1) << sign;
    cb ^= (((q + 1) >> 1) & 1) << sign;
    __builtin_memcpy(&s, &sb, sizeof s);
    __builtin_memcpy(&c, &cb, sizeof c);
}

// sin x and cos x for |x| <= 2^20 (meant for angles of a few turns). x = k π/2 + r with |r| <= π/4 (π/2 in three
// parts, the first two of 30 bits so k times them is exact, so r keeps full precision), then Taylor series of sin r to r^17 and cos r to r^18 (truncation < 1e-19).
SYMBREAK_HD void poly_sincos(double x, double& s, double& c)
{
    // k = poly_round(x 2/π); the sum before the subtraction holds k mod 4 in its two lowest bits (1.5 · 2^52 is a
    // multiple of 4 and the sum's ulp is 1).
    const double shifted = x * 0.63661977236758134308 + 6755399441055744.0;
    const double k = shifted - 6755399441055744.0;
    const double r = ((x - k * 1.5707963276654482) - k * -8.705515692000731e-10) - k * -3.50343439808993e-19;
    const double r2 = r * r;
    const double ps = r + r * r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880 + r2 * (
                              -1.0 / 39916800 + r2 * (1.0 / 6227020800.0 + r2 * (-1.0 / 1307674368000.0 + r2 * (
                              1.0 / 355687428096000.0))))))));
    const double pc = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 + r2 * (1.0 / 40320 + r2 * (
                              -1.0 / 3628800 + r2 * (1.0 / 479001600.0 + r2 * (-1.0 / 87178291200.0 + r2 * (
                              1.0 / 20922789888000.0 + r2 * (-1.0 / 6402373705728000.0)))))))));
    poly_quadrant<std::uint64_t>(shifted, ps, pc, s, c);
}

// Natural log of a normal positive double x: x = m 2^e with m in [√½, √2), log m = 2 atanh((m - 1)/(m + 1)) by
// its odd series to s^21 (|s| <= 0.1716, truncation < 1e-19), plus e ln 2 (ln 2 in two parts, the first of 32 bits).
SYMBREAK_HD double poly_log(double x)
{
    std::uint64_t bits;
    __builtin_memcpy(&bits, &x, sizeof bits);
    // The biased exponent as a double without an integer conversion: its bits placed under 2^52, minus 2^52.
    const std::uint64_t e_bits = ((bits >> 52) & 0x7FF) | 0x4330000000000000ull;
    const std::uint64_t m_bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;  // m in [1, 2)
    double e, m;
    __builtin_memcpy(&e, &e_bits, sizeof e);
    __builtin_memcpy(&m, &m_bits, sizeof m);
    e -= 4503599627370496.0 + 1023.0;
    const bool high = m > 1.4142135623730951;
    m = high ? 0.5 * m : m;
    e = high ? e + 1.0 : e;
    const double t = (m - 1.0) / (m + 1.0), t2 = t * t;
    const double series = 2.0 * t * (1.0 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 * (
                                         1.0 / 11 + t2 * (1.0 / 13 + t2 * (1.0 / 15 + t2 * (1.0 / 17 + t2 * (
                                         1.0 / 19 + t2 * (1.0 / 21)))))))))));
    return e * 0.6931471806019545 + (series + e * -4.2009150726810846e-11);
}

// The float versions (float32 XY lattices): the same constructions with float constants and shorter series, so a
// vector holds twice as many lanes as in double.

// Round to the nearest integer for |x| < 2^22 (1.5 · 2^23 added and subtracted).
SYMBREAK_HD float poly_round(float x)
{
    constexpr float magic = 12582912.0f;
    return (x + magic) - magic;
}

SYMBREAK_HD float poly_floor(float x)
{
    const float k = poly_round(x);
    return k > x ? k - 1.0f : k;
}

// sin x and cos x for |x| <= 2^11: π/2 in three float parts (the first two of at most 12 bits, so k times them is
// exact), Taylor series of sin r to r^9 and cos r to r^10 on |r| <= π/4 (truncation < 3e-9, below float's 6e-8).
SYMBREAK_HD void poly_sincos(float x, float& s, float& c)
{
    const float shifted = x * 0.636619772f + 12582912.0f;  // k mod 4 in its lowest bits, as in double
    const float k = shifted - 12582912.0f;
    const float r = ((x - k * 1.5703125f) - k * 4.837512969970703125e-4f) - k * 7.549790126404332e-8f;
    const float r2 = r * r;
    const float ps = r + r * r2 * (-1.0f / 6 + r2 * (1.0f / 120 + r2 * (-1.0f / 5040 + r2 * (1.0f / 362880))));
    const float pc = 1.0f + r2 * (-0.5f + r2 * (1.0f / 24 + r2 * (-1.0f / 720 + r2 * (1.0f / 40320 + r2 * (
                                  -1.0f / 3628800)))));
    poly_quadrant<std::uint32_t>(shifted, ps, pc, s, c);
}

// Natural log of a normal positive float, as the double version: atanh series to s^9 (truncation < 2e-9
// relative), ln 2 in two parts (the first of 16 bits).
SYMBREAK_HD float poly_log(float x)
{
    std::uint32_t bits;
    __builtin_memcpy(&bits, &x, sizeof bits);
    const std::uint32_t e_bits = ((bits >> 23) & 0xFF) | 0x4B000000u;  // biased exponent under 2^23
    const std::uint32_t m_bits = (bits & 0x007FFFFFu) | 0x3F800000u;  // m in [1, 2)
    float e, m;
    __builtin_memcpy(&e, &e_bits, sizeof e);
    __builtin_memcpy(&m, &m_bits, sizeof m);
    e -= 8388608.0f + 127.0f;
    const bool high = m > 1.41421356f;
    m = high ? 0.5f * m : m;
    e = high ? e + 1.0f : e;
    const float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
    const float series = 2.0f * t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9)))));
    return e * 0.693145751953125f + (series + e * 1.428606765330187e-6f);
}

}  // namespace symbreak
