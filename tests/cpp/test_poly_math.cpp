// poly_math.hpp against libm: sin, cos and log within a few ulp over the ranges the XY step uses; the XY
// step's conversion-free uniform equals uniform_double bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "symbreak/core/poly_math.hpp"
#include "symbreak/lattice/xy.hpp"

using namespace symbreak;

namespace {
double ulps(double got, double want)
{
    const double ulp = std::nextafter(std::fabs(want), INFINITY) - std::fabs(want);
    return std::fabs(got - want) / ulp;
}
}  // namespace

TEST(PolyMath, SinCosAgreeWithLibm)
{
    double worst = 0, worst_abs = 0;
    for (int i = 0; i <= 2000000; ++i) {
        const double x = -13.0 + 26.0 * i / 2000000.0;  // about four turns, quadrant edges included
        double s, c;
        poly_sincos(x, s, c);
        worst_abs = std::fmax(worst_abs, std::fmax(std::fabs(s - std::sin(x)), std::fabs(c - std::cos(x))));
        if (std::fabs(std::sin(x)) > 1e-3) worst = std::fmax(worst, ulps(s, std::sin(x)));
        if (std::fabs(std::cos(x)) > 1e-3) worst = std::fmax(worst, ulps(c, std::cos(x)));
    }
    EXPECT_LT(worst, 4.0);
    EXPECT_LT(worst_abs, 4e-16);
    double s, c;
    poly_sincos(0.0, s, c);
    EXPECT_EQ(s, 0.0);
    EXPECT_EQ(c, 1.0);
}

TEST(PolyMath, LogAgreesWithLibm)
{
    double worst = 0;
    for (int i = 1; i <= 2000000; ++i) {
        const double x = std::ldexp(1.0 + (i % 1000003) / 1000003.0, -(i % 60));  // mantissas over 60 octaves
        worst = std::fmax(worst, std::fabs(poly_log(x) - std::log(x)) / std::fmax(1e-300, std::fabs(std::log(x))) / 2.2e-16);
    }
    EXPECT_LT(worst, 4.0);
    EXPECT_EQ(poly_log(1.0), 0.0);
    EXPECT_NEAR(poly_log(1.1102230246251565e-16), std::log(1.1102230246251565e-16), 1e-13);  // Box-Muller's smallest u
}

TEST(PolyMath, XYUniformEqualsUniformDouble)
{
    for (std::uint32_t i = 0; i < 100000; ++i) {
        const Philox4x32 x = philox4x32_10(philox_counter(i, 0, RngId::test, 3), philox_key(9));
        ASSERT_EQ(xy_uniform(x.v[0], x.v[1]), uniform_double(x.v[0], x.v[1]));
    }
    EXPECT_EQ(xy_uniform(0xFFFFFFFFu, 0xFFFFFFFFu), uniform_double(0xFFFFFFFFu, 0xFFFFFFFFu));
    EXPECT_EQ(xy_uniform(0, 0), 0.0);
}

// The float versions against libm in double, in units of 2^-24 relative to the larger of the result and 1/8: sin
// and cos within 2 over the angles the float32 XY step takes (wrapped θ, Box–Muller's 2π u), log within 4 over
// the 24-bit arguments of its Box–Muller (float rounding of the e ln 2 + series sum, up to 1 ulp, dominates).
TEST(PolyMath, FloatSinCosAndLogAgreeWithLibm)
{
    const double ulp = 5.9604644775390625e-8;  // float ulp at 1 / 2
    double worst = 0;
    for (int i = 0; i <= 2000000; ++i) {
        const float x = static_cast<float>(-7.0 + 14.0 * i / 2000000.0);
        float s, c;
        poly_sincos(x, s, c);
        const double sx = std::sin(static_cast<double>(x)), cx = std::cos(static_cast<double>(x));
        worst = std::fmax(worst, std::fabs(s - sx) / std::fmax(std::fabs(sx), 0.125));
        worst = std::fmax(worst, std::fabs(c - cx) / std::fmax(std::fabs(cx), 0.125));
    }
    EXPECT_LT(worst / ulp, 2.0);
    double worst_log = 0;
    for (std::uint32_t i = 1; i <= (1u << 24); i += 7) {  // every 7th 24-bit uniform 1 - u of xy_normal_pair_float
        const float x = static_cast<float>(i) * 5.9604644775390625e-8f;
        const double want = std::log(static_cast<double>(x));
        worst_log = std::fmax(worst_log, std::fabs(poly_log(x) - want) / std::fmax(std::fabs(want), 0.125));
    }
    EXPECT_LT(worst_log / ulp, 4.0);
    EXPECT_EQ(poly_log(1.0f), 0.0f);
    float s, c;
    poly_sincos(0.0f, s, c);
    EXPECT_EQ(s, 0.0f);
    EXPECT_EQ(c, 1.0f);
}

// float32 normals: mean 0, variance 1 and kurtosis 3 over 2^20 draws (statistical errors 1e-3, 1.4e-3, 5e-3).
TEST(PolyMath, FloatNormalsHaveUnitVariance)
{
    double m1 = 0, m2 = 0, m4 = 0;
    const int n = 1 << 20;
    for (int e = 0; e < n; ++e) {
        const double z = xy_normal<float>(philox_key(5), 2, static_cast<std::uint64_t>(e));
        m1 += z;
        m2 += z * z;
        m4 += z * z * z * z;
    }
    EXPECT_NEAR(m1 / n, 0.0, 5e-3);
    EXPECT_NEAR(m2 / n, 1.0, 7e-3);
    EXPECT_NEAR(m4 / n, 3.0, 2.5e-2);
}
