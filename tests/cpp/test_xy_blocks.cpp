// Every instruction-set variant of the XY block and torque-line kernels (not only the one this CPU dispatches
// to) computes the same bits as the per-site rules of xy.hpp.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>
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
    const XYStep step = xy_step_coefficients(0.1, 1.0, 0.9, 1.0, 1.0, 0.0);
    const PhiloxKey key = philox_key(17);
    // Starts at every offset inside a Philox call: the first sites take the later normals of their call.
    const std::pair<std::int64_t, std::int64_t> ranges[] = {{301, 977}, {302, 999}, {303, 1000}, {300, 998}};
    for (const auto& [begin, end] : ranges) {
        State<Real> want(n);  // the per-site rules
        for (std::int64_t e = begin; e < end; ++e) {
            const Real xi = xy_normal<Real>(key, 5, e);
            want.after_o[e - begin] = xy_baoa(want.theta[e], want.omega[e], want.tau[e], xi, step);
            poly_sincos(want.theta[e], want.S[e], want.C[e]);
        }
        for (const auto& v : variants) {
            if (!v.supported) continue;
            State<Real> got(n);
            std::vector<Philox4x32> words(n);
            std::vector<Real> z(n + 6);
            v.kernel({got.theta.data(), got.omega.data(), got.tau.data(), got.C.data() + begin, got.S.data() + begin,
                      got.after_o.data(), words.data(), z.data(), begin, end, step, key, 5});
            EXPECT_EQ(got.theta, want.theta) << v.isa;
            EXPECT_EQ(got.omega, want.omega) << v.isa;
            EXPECT_EQ(got.C, want.C) << v.isa;
            EXPECT_EQ(got.S, want.S) << v.isa;
            EXPECT_EQ(got.after_o, want.after_o) << v.isa;
        }
    }
}

}  // namespace

// A line of a 5-line array with four, two or no neighbouring lines: every variant equals the per-site sums taken
// in the same order, with and without the closing B step.
template <class Real>
void check_torque_variants()
{
    using Kernel = void (*)(const cpu::XYLine<Real>&);
    __builtin_cpu_init();
    const std::pair<bool, Kernel> variants[] = {{true, cpu::x86_64_v1::xy_torque_line},
                                                {__builtin_cpu_supports("x86-64-v3") != 0, cpu::x86_64_v3::xy_torque_line},
                                                {__builtin_cpu_supports("x86-64-v4") != 0, cpu::x86_64_v4::xy_torque_line}};
    const std::int64_t L = 37;
    std::vector<Real> C(5 * L), S(5 * L);
    for (std::int64_t i = 0; i < 5 * L; ++i) {
        C[i] = static_cast<Real>(std::cos(0.37 * i));
        S[i] = static_cast<Real>(std::sin(0.37 * i));
    }
    const Real J = 1.3, h = 0.2, k = 0.05;
    // 3D (four neighbouring lines), 2D (two), 1D (none), with and without the closing B.
    const std::vector<std::int64_t> neighbours[] = {{3, 1, 4, 0}, {3, 1}, {}};
    for (const auto& adj : neighbours) {
        for (const bool closing_b : {true, false}) {
            std::vector<Real> want_tau(5 * L, 0), want_omega(5 * L, 1);
            for (std::int64_t x = 0; x < L; ++x) {
                const std::int64_t e = 2 * L + x;
                Real sc = C[2 * L + (x + 1) % L] + C[2 * L + (x + L - 1) % L];
                Real ss = S[2 * L + (x + 1) % L] + S[2 * L + (x + L - 1) % L];
                for (std::int64_t a : adj) {
                    sc += C[a * L + x];
                    ss += S[a * L + x];
                }
                want_tau[e] = xy_torque(C[e], S[e], sc, ss, J, h);
                if (closing_b) want_omega[e] += k * want_tau[e];
            }
            const Real *cl = C.data() + 2 * L, *sl = S.data() + 2 * L;
            cpu::XYLine<Real> line{cl, sl, {cl, cl, cl, cl}, {sl, sl, sl, sl}, nullptr, nullptr, L,
                                   static_cast<int>(adj.size()), J, h, k};
            for (std::size_t a = 0; a < adj.size(); ++a) {
                line.c[a] = C.data() + adj[a] * L;
                line.s[a] = S.data() + adj[a] * L;
            }
            for (const auto& [supported, kernel] : variants) {
                if (!supported) continue;
                std::vector<Real> tau(5 * L, 0), omega(5 * L, 1);
                line.tau = tau.data() + 2 * L;
                line.omega = closing_b ? omega.data() + 2 * L : nullptr;
                kernel(line);
                EXPECT_EQ(tau, want_tau) << adj.size();
                EXPECT_EQ(omega, want_omega) << adj.size();
            }
        }
    }
}

TEST(XYBlocks, EveryIsaVariantEqualsPerSiteRulesDouble) { check_variants<double>(); }
TEST(XYBlocks, EveryTorqueLineVariantEqualsPerSiteSumsDouble) { check_torque_variants<double>(); }
TEST(XYBlocks, EveryTorqueLineVariantEqualsPerSiteSumsFloat) { check_torque_variants<float>(); }
TEST(XYBlocks, EveryIsaVariantEqualsPerSiteRulesFloat) { check_variants<float>(); }
