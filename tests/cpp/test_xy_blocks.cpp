// Every instruction-set variant of the XY block kernel (not only the one this CPU dispatches to) computes the
// same bits, and the block equals the per-site rules of xy.hpp.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../../cpp/src/lattice/xy_blocks.hpp"

using namespace symbreak;

namespace {

template <class Real>
struct State {
    std::vector<Real> theta, omega, tau, C, S, after_o;
    explicit State(int n) : theta(n), omega(n), tau(n), C(n), S(n), after_o(n)
    {
        for (int i = 0; i < n; ++i) {
            theta[i] = static_cast<Real>(std::fmod(0.7 * i, 6.2) - 3.1);
            omega[i] = static_cast<Real>(0.01 * (i % 17) - 0.08);
            tau[i] = static_cast<Real>(0.3 * std::sin(0.1 * i));
        }
    }
};

template <class Real>
void check_variants()
{
    using Kernel = void (*)(const cpu::XYBlock<Real>&);
    struct Variant {
        const char* isa;
        bool supported;
        Kernel kernel;
    };
    __builtin_cpu_init();
    const Variant variants[] = {{"x86-64", true, cpu::x86_64_v1::xy_baoa_block},
                                {"x86-64-v3", __builtin_cpu_supports("x86-64-v3") != 0, cpu::x86_64_v3::xy_baoa_block},
                                {"x86-64-v4", __builtin_cpu_supports("x86-64-v4") != 0, cpu::x86_64_v4::xy_baoa_block}};
    const int n = 1000;
    const std::int64_t begin = 301, end = 977;  // odd start: the first site takes the second normal of its call
    const XYStep step = xy_step_coefficients(0.1, 1.0, 0.9, 1.0, 1.0, 0.0);
    const PhiloxKey key = philox_key(17);

    State<Real> want(n);  // the per-site rules
    for (std::int64_t e = begin; e < end; ++e) {
        double z[2];
        xy_normal_pair(philox4x32_10(philox_counter(e / 2, 0, RngId::xy_langevin, 5), key), z[0], z[1]);
        want.after_o[e - begin] = xy_baoa(want.theta[e], want.omega[e], want.tau[e], static_cast<Real>(z[e % 2]), step);
        double s, c;
        poly_sincos(static_cast<double>(want.theta[e]), s, c);
        want.C[e] = static_cast<Real>(c);
        want.S[e] = static_cast<Real>(s);
    }
    for (const auto& v : variants) {
        if (!v.supported) continue;
        State<Real> got(n);
        std::vector<Philox4x32> words(n);
        std::vector<double> z(n + 2);
        v.kernel({got.theta.data(), got.omega.data(), got.tau.data(), got.C.data(), got.S.data(), got.after_o.data(),
                  words.data(), z.data(), begin, end, step, key, 5});
        EXPECT_EQ(got.theta, want.theta) << v.isa;
        EXPECT_EQ(got.omega, want.omega) << v.isa;
        EXPECT_EQ(got.C, want.C) << v.isa;
        EXPECT_EQ(got.S, want.S) << v.isa;
        EXPECT_EQ(got.after_o, want.after_o) << v.isa;
    }
}

}  // namespace

TEST(XYBlocks, EveryIsaVariantEqualsPerSiteRulesDouble) { check_variants<double>(); }
TEST(XYBlocks, EveryIsaVariantEqualsPerSiteRulesFloat) { check_variants<float>(); }
