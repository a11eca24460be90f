// ECD family: the element rule by hand, the scalar phase against an explicit two-tensor computation, and the
// CPU passes' independence of thread count and instruction set.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "../../cpp/src/optim/ecd_blocks.hpp"
#include "symbreak/optim/ecd_cpu.hpp"

using namespace symbreak;

TEST(EcdRule, ElementUpdateByHand)
{
    float theta = 2.0f, p = 0.5f;
    ecd_element(theta, /*g=*/1.0f, p, /*w=*/0.1f, EcdCoeffs{0.9f, 0.2f, 0.05f});
    // G = 1 + 0.1*2 = 1.2; p = 0.9*0.5 - 0.2*1.2 = 0.21; θ = 2 + 0.05*0.21
    EXPECT_FLOAT_EQ(p, 0.21f);
    EXPECT_FLOAT_EQ(theta, 2.0f + 0.05f * 0.21f);
    EcdSums s;
    ecd_accumulate(2.0f, INFINITY, 0.5f, 0.0f, s);
    ecd_accumulate(2.0f, NAN, 0.5f, 0.0f, s);
    ecd_accumulate(2.0f, 1.0f, 0.5f, 0.0f, s);
    EXPECT_EQ(s.nonfinite, 2.0);
}

TEST(EcdRule, EcdScalarsMatchExplicitProjection)
{
    // Two tensors with given sums: the closed-form P² equals ‖c p - k (G - δ c p)‖² computed explicitly.
    const std::vector<std::vector<double>> p = {{0.6, -0.2}, {0.3, 0.7, -0.1}}, G = {{1.0, 0.5}, {-0.4, 0.2, 0.9}};
    EcdSums sums[2];
    for (int i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < p[i].size(); ++j) {
            sums[i].pp += p[i][j] * p[i][j];
            sums[i].pG += p[i][j] * G[i][j];
            sums[i].GG += G[i][j] * G[i][j];
        }
    const float lr[2] = {0.5f, 0.5f}, eta[2] = {4.0f, 4.0f}, wd[2] = {0.0f, 0.0f};
    const EcdHyper hp{4.0, 0.25, 0.0, 1.0, 0.0, 1e-10, 1e-40, true, false};
    double g[kSlotCount] = {};
    g[kSlotD] = 5;
    g[kSlotP2] = 0.64 + 0.04 + 0.09 + 0.49 + 0.01;
    EcdCoeffs c[2];
    ASSERT_TRUE(ecd_scalars(sums, lr, eta, wd, 2, 3.0, hp, g, c));
    const double h = 0.5 / 2.0, F = 3.0 - 0.25, k = h * 4.0 * 5 / (2.0 * 4 * F), cc = 1.0 / std::sqrt(1.27);
    double P2 = 0;
    for (int i = 0; i < 2; ++i) {
        double delta = 0;
        for (std::size_t j = 0; j < p[i].size(); ++j) delta += cc * p[i][j] * G[i][j];
        for (std::size_t j = 0; j < p[i].size(); ++j) {
            const double pn = cc * p[i][j] - k * (G[i][j] - delta * cc * p[i][j]);
            P2 += pn * pn;
            EXPECT_NEAR(c[i].a * p[i][j] - c[i].k * G[i][j], pn, 1e-6);
        }
        EXPECT_FLOAT_EQ(c[i].h, static_cast<float>(h));
    }
    EXPECT_NEAR(g[kSlotP2], P2, 1e-12);
    EXPECT_FALSE(ecd_scalars(sums, lr, eta, wd, 2, 0.25, hp, g, c));  // F̃ = 0 <= eps2: skip
}

namespace {
struct Fixture {
    std::vector<std::vector<float>> theta, grad, mom;
    std::vector<void*> tp;
    std::vector<const void*> gp;
    std::vector<float*> mp;
    std::vector<std::int64_t> numel{5, 20000, 8193, 1}, offset{0, 5, 20005, 28198};
    std::vector<float> wd{0.0f, 0.1f, 0.01f, 0.0f};
    std::vector<DType> dtypes = std::vector<DType>(5, DType::float32);
    TensorList list;
    Fixture()
    {
        for (std::size_t i = 0; i < numel.size(); ++i) {
            theta.emplace_back(numel[i]);
            grad.emplace_back(numel[i]);
            mom.emplace_back(numel[i]);
            for (std::int64_t j = 0; j < numel[i]; ++j) {
                theta[i][j] = std::sin(0.37f * j + i);
                grad[i][j] = std::cos(0.11f * j - i);
                mom[i][j] = std::sin(0.05f * j * j + 2 * i);
            }
            tp.push_back(theta[i].data());
            gp.push_back(grad[i].data());
            mp.push_back(mom[i].data());
        }
        list = {4, tp.data(), dtypes.data(), gp.data(), dtypes.data(), mp.data(), numel.data(), offset.data(), wd.data()};
    }
};
}  // namespace

TEST(EcdPasses, ReduceIsIndependentOfThreadsAndIsa)
{
    Fixture f;
    std::vector<EcdSums> one(4), two(4);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    cpu::ecd_reduce(f.list, one.data());
    omp_set_num_threads(3);
    cpu::ecd_reduce(f.list, two.data());
    omp_set_num_threads(saved);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(one[i].pp, two[i].pp);
        EXPECT_EQ(one[i].pG, two[i].pG);
        EXPECT_EQ(one[i].tt, two[i].tt);
    }
    __builtin_cpu_init();
    const cpu::EcdBlock block{1, 3, 9000};
    const EcdSums base = cpu::x86_64_v1::ecd_reduce_block(f.list, block, true);
    double pp = 0;
    for (std::int64_t j = 3; j < 9000; ++j) pp += static_cast<double>(f.mom[1][j]) * f.mom[1][j];
    EXPECT_NEAR(base.pp, pp, 1e-9 * pp);
    // Every variant gives the same bits (the fused multiply-adds of v3 and v4 included), with and without
    // weight decay and the optional sums.
    Fixture z;
    z.wd[1] = 0.0f;
    for (const TensorList* list : {&f.list, &z.list})
        for (bool all : {true, false}) {
            const EcdSums v1 = cpu::x86_64_v1::ecd_reduce_block(*list, block, all);
            auto same = [&](const EcdSums& s) {
                EXPECT_EQ(s.pp, v1.pp);
                EXPECT_EQ(s.pG, v1.pG);
                EXPECT_EQ(s.GG, v1.GG);
                EXPECT_EQ(s.tt, v1.tt);
                EXPECT_EQ(s.gg, v1.gg);
            };
            if (__builtin_cpu_supports("x86-64-v3")) same(cpu::x86_64_v3::ecd_reduce_block(*list, block, all));
            if (__builtin_cpu_supports("x86-64-v4")) same(cpu::x86_64_v4::ecd_reduce_block(*list, block, all));
        }
}

TEST(EcdPasses, ReduceWithoutWeightDecayTakesGAsG)
{
    // w = 0: G = g exactly (as in the reference), so the step's sums do not read θ.
    Fixture a, nan;
    a.wd[1] = nan.wd[1] = 0.0f;
    for (float& v : nan.theta[1]) v = NAN;
    std::vector<EcdSums> sa(4), sn(4);
    cpu::ecd_reduce(a.list, sa.data(), false);
    cpu::ecd_reduce(nan.list, sn.data(), false);
    EXPECT_EQ(sn[1].pp, sa[1].pp);
    EXPECT_EQ(sn[1].pG, sa[1].pG);
    EXPECT_EQ(sn[1].GG, sa[1].GG);
    double GG = 0;
    for (float g : a.grad[1]) GG += static_cast<double>(g) * g;
    EXPECT_NEAR(sa[1].GG, GG, 1e-12 * GG);
    cpu::ecd_reduce(nan.list, sn.data(), true);  // ‖θ‖² does read it
    EXPECT_TRUE(std::isnan(sn[1].tt));
}

TEST(EcdPasses, NoiseKeepsNormAndDependsOnlyOnGlobalIndex)
{
    Fixture a, b;
    const double n2 = cpu::ecd_add_noise(a.list, 0.5f, 0.1f, 9, 4, RngId::ecd_noise);
    double check = 0;
    for (const auto& m : a.mom)
        for (float v : m) check += static_cast<double>(v) * v;
    EXPECT_NEAR(n2, check, 1e-9 * check);
    // The same elements split into other tensors (same global offsets) receive the same noise.
    std::vector<std::int64_t> numel{5, 10000, 10000, 8193, 1}, offset{0, 5, 10005, 20005, 28198};
    std::vector<void*> tp{b.tp[0], b.theta[1].data(), b.theta[1].data() + 10000, b.tp[2], b.tp[3]};
    std::vector<const void*> gp{b.gp[0], b.grad[1].data(), b.grad[1].data() + 10000, b.gp[2], b.gp[3]};
    std::vector<float*> mp{b.mp[0], b.mom[1].data(), b.mom[1].data() + 10000, b.mp[2], b.mp[3]};
    std::vector<float> wd(5, 0.0f);
    const TensorList split{5, tp.data(), b.dtypes.data(), gp.data(), b.dtypes.data(), mp.data(), numel.data(), offset.data(), wd.data()};
    cpu::ecd_add_noise(split, 0.5f, 0.1f, 9, 4, RngId::ecd_noise);
    EXPECT_EQ(a.mom, b.mom);
}

TEST(EcdPasses, HalfPrecisionPassesMatchTheElementRuleOnEveryIsa)
{
    __builtin_cpu_init();
    const std::int64_t n = 1005;  // vector body and a tail
    const EcdCoeffs c{0.999f, 0.37f, 0.0123f};
    for (DType dt : {DType::bfloat16, DType::float16})
        for (float w : {0.0f, 0.05f}) {
            std::vector<std::uint16_t> theta(n), grad(n);
            std::vector<float> mom(n);
            for (std::int64_t j = 0; j < n; ++j) {
                store_from_float(dt, theta.data(), j, 3.0f * std::sin(0.37f * j));
                store_from_float(dt, grad.data(), j, std::cos(0.11f * j));
                mom[j] = std::sin(0.05f * j * j);
            }
            // The rule element by element.
            std::vector<std::uint16_t> want_theta = theta;
            std::vector<float> want_mom = mom;
            for (std::int64_t j = 0; j < n; ++j) {
                float th = load_as_float(dt, want_theta.data(), j);
                ecd_element(th, load_as_float(dt, grad.data(), j), want_mom[j], w, c);
                store_from_float(dt, want_theta.data(), j, th);
            }
            using Update = void (*)(const TensorList&, const cpu::EcdBlock&, const EcdCoeffs&);
            using Reduce = EcdSums (*)(const TensorList&, const cpu::EcdBlock&, bool);
            std::vector<std::pair<Update, Reduce>> isas{{cpu::x86_64_v1::ecd_update_block, cpu::x86_64_v1::ecd_reduce_block}};
            if (__builtin_cpu_supports("x86-64-v3")) isas.push_back({cpu::x86_64_v3::ecd_update_block, cpu::x86_64_v3::ecd_reduce_block});
            if (__builtin_cpu_supports("x86-64-v4")) isas.push_back({cpu::x86_64_v4::ecd_update_block, cpu::x86_64_v4::ecd_reduce_block});
            const std::int64_t numel[1] = {n}, offset[1] = {0};
            const DType dtypes[1] = {dt};
            const EcdSums sums = [&] {
                void* tp[1] = {theta.data()};
                const void* gp[1] = {grad.data()};
                float* mp[1] = {mom.data()};
                const TensorList list{1, tp, dtypes, gp, dtypes, mp, numel, offset, &w};
                return cpu::x86_64_v1::ecd_reduce_block(list, {0, 0, n}, false);
            }();
            for (const auto& [update, reduce] : isas) {
                std::vector<std::uint16_t> th = theta;
                std::vector<float> m = mom;
                void* tp[1] = {th.data()};
                const void* gp[1] = {grad.data()};
                float* mp[1] = {m.data()};
                const TensorList list{1, tp, dtypes, gp, dtypes, mp, numel, offset, &w};
                const EcdSums s = reduce(list, {0, 0, n}, false);
                EXPECT_EQ(s.pp, sums.pp);
                EXPECT_EQ(s.pG, sums.pG);
                EXPECT_EQ(s.GG, sums.GG);
                update(list, {0, 0, n}, c);
                EXPECT_EQ(th, want_theta);
                EXPECT_EQ(m, want_mom);
            }
        }
}
