// The CUDA XY kernels and their host code (cuda/lattice/xy.cu) run on the CPU through cuda_emulation/, against
// the CPU driver: θ, ω and τ bit for bit after every chunk of steps (1D, 2D, 3D; float32 and float64; several
// replicas with odd site counts, so Philox calls and thread blocks straddle replicas; NVE and Langevin; more
// than one reduction block per replica), the post-O Σ ω² and the totals to round-off (fixed, different
// summation orders). Then XYModel with Device::cuda (device memory emulated on the host) against Device::cpu:
// the dispatch, state copies, measurements and the host-copy Metropolis. Device rounding, the memory model and
// speed are left to tests/test_lattice_xy_cuda.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "symbreak/core/launch.hpp"
#include "symbreak/lattice/xy_cpu.hpp"
#include "symbreak/lattice/xy_model.hpp"

using namespace symbreak;

namespace {

PeriodicGrid grid(std::vector<std::int64_t> shape)
{
    PeriodicGrid g;
    g.dim = static_cast<int>(shape.size());
    for (int a = 0; a < g.dim; ++a) g.n[3 - g.dim + a] = shape[a];
    return g;
}

// "Device" memory of the emulation is host memory; scratch starts as garbage, as cudaMalloc'd memory may.
template <class Real>
struct DeviceCopy {
    std::vector<Real> theta, omega, tau, cs;
    std::vector<double> partial;
    cuda::XYDeviceArrays<Real> arrays()
    {
        const std::size_t n = theta.size();
        return {theta.data(), omega.data(), tau.data(), cs.data(), cs.data() + n, partial.data()};
    }
};

bool same_bits(const void* a, const void* b, std::size_t bytes) { return std::memcmp(a, b, bytes) == 0; }

void expect_close(double want, double got, double scale, const char* what)
{
    EXPECT_NEAR(want, got, 1e-12 * scale) << what;  // reordering N O(1) terms moves the sum by < N² ε
}

template <class Real>
void compare(std::vector<std::int64_t> shape, int replicas, double gamma, double T, double J, double h)
{
    const PeriodicGrid g = grid(shape);
    const std::int64_t N = g.sites(), total = N * replicas;
    const std::uint64_t seed = 0x5eed0000000017ull;
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> angle(-3.14159, 3.14159), speed(-0.8, 0.8);
    std::vector<Real> theta(total), omega(total), tau(total);
    for (std::int64_t e = 0; e < total; ++e) {
        theta[e] = static_cast<Real>(angle(rng));
        omega[e] = static_cast<Real>(speed(rng));
    }
    cpu::xy_torques(g, replicas, theta.data(), tau.data(), J, h);
    const std::vector<Real> start = theta;
    DeviceCopy<Real> dev{theta, omega, tau, std::vector<Real>(2 * total), {}};
    std::memset(dev.cs.data(), 0xA5, dev.cs.size() * sizeof(Real));
    dev.partial.assign(static_cast<std::size_t>(cuda::xy_partial_count(g, replicas)), std::nan(""));

    std::uint64_t step = 3;
    for (int chunk = 0; chunk < 4; ++chunk) {
        std::vector<XYStep> steps;
        for (int i = 0; i < 5 + chunk; ++i)  // a falling temperature, as in a schedule
            steps.push_back(xy_step_coefficients(0.05 + 0.01 * chunk, gamma, T * (1.0 - 0.05 * i), 1.3, J, h));
        const auto n = static_cast<std::int64_t>(steps.size());
        std::vector<double> post_cpu(replicas), post_dev(replicas);
        cpu::xy_langevin(g, replicas, theta.data(), omega.data(), tau.data(), steps.data(), n, seed, step,
                         post_cpu.data());
        cuda::xy_langevin(g, replicas, dev.arrays(), steps.data(), n, seed, step, post_dev.data(), 0);
        step += static_cast<std::uint64_t>(n);
        const std::size_t bytes = static_cast<std::size_t>(total) * sizeof(Real);
        ASSERT_TRUE(same_bits(theta.data(), dev.theta.data(), bytes)) << "theta, chunk " << chunk;
        ASSERT_TRUE(same_bits(omega.data(), dev.omega.data(), bytes)) << "omega, chunk " << chunk;
        ASSERT_TRUE(same_bits(tau.data(), dev.tau.data(), bytes)) << "tau, chunk " << chunk;

        std::vector<XYTotals> want(replicas), got(replicas);
        cpu::xy_totals(g, replicas, theta.data(), omega.data(), want.data());
        cuda::xy_totals(g, replicas, dev.arrays(), got.data(), 0);
        const double scale = static_cast<double>(N);  // every summand is O(1)
        for (int r = 0; r < replicas; ++r) {
            expect_close(post_cpu[r], post_dev[r], scale, "post-O omega2");
            expect_close(want[r].cos_sum, got[r].cos_sum, scale, "cos_sum");
            expect_close(want[r].sin_sum, got[r].sin_sum, scale, "sin_sum");
            expect_close(want[r].bond_sum, got[r].bond_sum, scale, "bond_sum");
            expect_close(want[r].omega2, got[r].omega2, scale, "omega2");
        }
    }
    // Every replica moved (two frozen states would compare equal vacuously).
    for (int r = 0; r < replicas; ++r)
        EXPECT_FALSE(same_bits(theta.data() + r * N, start.data() + r * N, static_cast<std::size_t>(N) * sizeof(Real)))
            << "replica " << r;
}

}  // namespace

TEST(XYEmulated, Chain1DLangevinDouble) { compare<double>({37}, 3, 1.0, 0.8, 1.0, 0.0); }
TEST(XYEmulated, Chain1DNVEFloat) { compare<float>({41}, 2, 0.0, 0.0, 1.2, 0.3); }
TEST(XYEmulated, Square2DLangevinFloat) { compare<float>({5, 7}, 5, 0.7, 1.1, 1.0, 0.2); }
TEST(XYEmulated, Square2DNVEDouble) { compare<double>({9, 5}, 3, 0.0, 0.0, 1.0, 0.0); }
TEST(XYEmulated, Cube3DLangevinDouble) { compare<double>({3, 5, 7}, 3, 1.0, 0.9, 1.0, 0.1); }
TEST(XYEmulated, Cube3DNVEFloat) { compare<float>({5, 3, 7}, 3, 0.0, 0.0, -0.7, 0.0); }
// 2115 sites: two reduction blocks per replica, and pass-1 blocks (512 sites) that straddle replicas.
TEST(XYEmulated, LargeSquareTwoReductionBlocksDouble) { compare<double>({45, 47}, 2, 0.5, 0.6, 1.0, 0.0); }
TEST(XYEmulated, LargeSquareTwoReductionBlocksFloat) { compare<float>({47, 45}, 2, 0.5, 0.6, 1.0, 0.05); }

namespace {

template <class Real>
std::vector<Real> state(const XYModel& m, bool theta)
{
    std::vector<Real> t(static_cast<std::size_t>(m.grid().sites() * m.replicas())), o(t.size());
    m.get_state(t.data(), o.data());
    return theta ? t : o;
}

template <class Real>
void compare_models(std::vector<std::int64_t> shape, int replicas)
{
    XYModel cpu(shape, replicas, sizeof(Real) == 8, Device::cpu, 0, 99), dev(shape, replicas, sizeof(Real) == 8,
                                                                              Device::cuda, 0, 99);
    const std::int64_t total = cpu.grid().sites() * replicas;
    std::vector<Real> theta(total), omega(total, Real(0.1));
    for (std::int64_t e = 0; e < total; ++e) theta[e] = static_cast<Real>(std::remainder(0.9 * e, 6.283185307179586));
    for (XYModel* m : {&cpu, &dev}) m->set_state(theta.data(), omega.data(), 1.0, 0.1);
    const XYParams p{0.1, 0.8, 1.0, 1.0, 0.1};
    const std::vector<double> temps{1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4};
    const XYSeries a = cpu.run(temps, 3, p), b = dev.run(temps, 3, p);
    EXPECT_EQ(a.step, b.step);
    ASSERT_EQ(a.cos_sum.size(), b.cos_sum.size());
    for (std::size_t i = 0; i < a.cos_sum.size(); ++i) {
        const double scale = static_cast<double>(cpu.grid().sites());
        expect_close(a.cos_sum[i], b.cos_sum[i], scale, "cos_sum");
        expect_close(a.bond_sum[i], b.bond_sum[i], scale, "bond_sum");
        expect_close(a.omega2_post_o[i], b.omega2_post_o[i], scale, "post-O omega2");
    }
    EXPECT_EQ(state<Real>(cpu, true), state<Real>(dev, true));
    EXPECT_EQ(state<Real>(cpu, false), state<Real>(dev, false));
    EXPECT_EQ(cpu.metropolis(2, 0.7, 1.0, 0.1, 1.0), dev.metropolis(2, 0.7, 1.0, 0.1, 1.0));
    cpu.run(temps, 0, p);  // from the torques the sweeps left behind
    dev.run(temps, 0, p);
    EXPECT_EQ(cpu.step(), dev.step());
    EXPECT_EQ(state<Real>(cpu, true), state<Real>(dev, true));
    EXPECT_EQ(state<Real>(cpu, false), state<Real>(dev, false));
    EXPECT_NE(state<Real>(cpu, true), theta);
}

}  // namespace

TEST(XYEmulatedModel, DeviceModelEqualsCpuModelDouble) { compare_models<double>({6, 7}, 3); }
TEST(XYEmulatedModel, DeviceModelEqualsCpuModelFloat) { compare_models<float>({3, 4, 5}, 2); }
