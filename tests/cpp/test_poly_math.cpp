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
