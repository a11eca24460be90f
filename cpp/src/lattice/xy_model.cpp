#include "symbreak/lattice/xy_model.hpp"

#include <vector>

#include "symbreak/core/check.hpp"
#include "symbreak/core/launch.hpp"
#include "symbreak/lattice/xy_cpu.hpp"

namespace symbreak {

namespace {
PeriodicGrid make_grid(const std::vector<std::int64_t>& shape)
{
    SYMBREAK_REQUIRE(shape.size() >= 1 && shape.size() <= 3, "shape must have 1, 2 or 3 sides, got ", shape.size());
    PeriodicGrid g;
    g.dim = static_cast<int>(shape.size());
    for (int a = 0; a < g.dim; ++a) {
        SYMBREAK_REQUIRE(shape[a] >= 3, "shape sides must be >= 3, got ", shape[a]);
        g.n[3 - g.dim + a] = shape[a];
    }
    return g;
}
template <class Real>
cuda::XYDeviceArrays<Real> device_arrays(const Buffer& theta, const Buffer& omega, const Buffer& tau,
                                         const Buffer& cs, const Buffer& partial)
{
    auto* C = static_cast<Real*>(cs.data());
    return {static_cast<Real*>(theta.data()), static_cast<Real*>(omega.data()), static_cast<Real*>(tau.data()), C,
            C + cs.bytes() / (2 * sizeof(Real)), static_cast<double*>(partial.data())};
}
}  // namespace

XYModel::XYModel(const std::vector<std::int64_t>& shape, int replicas, bool double_precision, Device device,
                 int device_id, std::uint64_t seed)
    : grid_(make_grid(shape)), replicas_(replicas), double_(double_precision), seed_(seed)
{
    SYMBREAK_REQUIRE(replicas >= 1, "replicas must be >= 1, got ", replicas);
    if (device == Device::cuda) cuda::require_device(device_id);
    theta_ = std::make_shared<Buffer>(bytes(), device, device_id);
    omega_ = std::make_shared<Buffer>(bytes(), device, device_id);
    tau_ = std::make_shared<Buffer>(bytes(), device, device_id);
    if (device == Device::cuda) {
        cs_ = std::make_shared<Buffer>(2 * bytes(), device, device_id);
        partial_ = std::make_shared<Buffer>(
            static_cast<std::size_t>(cuda::xy_partial_count(grid_, replicas)) * sizeof(double), device, device_id);
    }
    const std::vector<char> zeros(bytes(), 0);  // a valid (all-zero) state until set_state
    for (auto* b : {&theta_, &omega_, &tau_}) (*b)->upload(zeros.data(), zeros.size());
}

std::size_t XYModel::bytes() const
{
    return static_cast<std::size_t>(grid_.sites() * replicas_) * (double_ ? sizeof(double) : sizeof(float));
}

// τ of host angles into tau_ (computed on the host, uploaded when tau_ is on the device).
template <class Real>
void XYModel::host_torques(const void* theta, double J, double h)
{
    std::vector<Real> tau(on_cuda() ? static_cast<std::size_t>(grid_.sites() * replicas_) : 0);
    Real* out = on_cuda() ? tau.data() : static_cast<Real*>(tau_->data());
    cpu::xy_torques(grid_, replicas_, static_cast<const Real*>(theta), out, J, h);
    if (on_cuda()) tau_->upload(tau.data(), bytes());
}

void XYModel::set_state(const void* theta, const void* omega, double J, double h)
{
    theta_->upload(theta, bytes());
    omega_->upload(omega, bytes());
    double_ ? host_torques<double>(theta, J, h) : host_torques<float>(theta, J, h);
}

void XYModel::get_state(void* theta, void* omega) const
{
    theta_->download(theta, bytes());
    omega_->download(omega, bytes());
}

template <class Real>
void XYModel::totals(XYTotals* out) const
{
    if (on_cuda())
        cuda::xy_totals(grid_, replicas_, device_arrays<Real>(*theta_, *omega_, *tau_, *cs_, *partial_), out,
                        theta_->device_id());
    else
        cpu::xy_totals(grid_, replicas_, static_cast<const Real*>(theta_->data()),
                       static_cast<const Real*>(omega_->data()), out);
}

XYSeries XYModel::measure(double T) const
{
    std::vector<XYTotals> t(static_cast<std::size_t>(replicas_));
    double_ ? totals<double>(t.data()) : totals<float>(t.data());
    XYSeries s;
    s.step.push_back(static_cast<std::int64_t>(step_));
    s.temperature.push_back(T);
    for (const auto& x : t) {
        s.cos_sum.push_back(x.cos_sum);
        s.sin_sum.push_back(x.sin_sum);
        s.bond_sum.push_back(x.bond_sum);
        s.omega2.push_back(x.omega2);
    }
    return s;
}

template <class Real>
XYSeries XYModel::run_impl(const std::vector<double>& temperatures, std::int64_t measure_every, const XYParams& p)
{
    auto* theta = static_cast<Real*>(theta_->data());
    auto* omega = static_cast<Real*>(omega_->data());
    auto* tau = static_cast<Real*>(tau_->data());
    const auto n = static_cast<std::int64_t>(temperatures.size());
    const std::int64_t chunk = measure_every > 0 ? measure_every : (n > 0 ? n : 1);
    std::vector<XYStep> steps;
    std::vector<double> post_o(static_cast<std::size_t>(replicas_));
    XYSeries series;
    for (std::int64_t done = 0; done < n; done += chunk) {
        const std::int64_t len = std::min(chunk, n - done);
        steps.clear();
        for (std::int64_t i = 0; i < len; ++i)
            steps.push_back(xy_step_coefficients(p.dt, p.gamma, temperatures[done + i], p.I, p.J, p.h));
        if (on_cuda())
            cuda::xy_langevin(grid_, replicas_, device_arrays<Real>(*theta_, *omega_, *tau_, *cs_, *partial_),
                              steps.data(), len, seed_, step_, post_o.data(), theta_->device_id());
        else
            cpu::xy_langevin(grid_, replicas_, theta, omega, tau, steps.data(), len, seed_, step_, post_o.data());
        step_ += static_cast<std::uint64_t>(len);
        if (measure_every > 0 && len == chunk) {
            XYSeries m = measure(temperatures[done + len - 1]);
            series.step.push_back(m.step[0]);
            series.temperature.push_back(m.temperature[0]);
            for (int r = 0; r < replicas_; ++r) {
                series.cos_sum.push_back(m.cos_sum[r]);
                series.sin_sum.push_back(m.sin_sum[r]);
                series.bond_sum.push_back(m.bond_sum[r]);
                series.omega2.push_back(m.omega2[r]);
                series.omega2_post_o.push_back(post_o[r]);
            }
        }
    }
    return series;
}

XYSeries XYModel::run(const std::vector<double>& temperatures, std::int64_t measure_every, const XYParams& p)
{
    SYMBREAK_REQUIRE(measure_every >= 0, "measure_every must be >= 0, got ", measure_every);
    SYMBREAK_REQUIRE(p.dt > 0 && p.I > 0 && p.gamma >= 0, "need dt > 0, I > 0 and gamma >= 0");
    for (double T : temperatures) SYMBREAK_REQUIRE(T >= 0 && T < 1e300, "temperature must be finite and >= 0, got ", T);
    return double_ ? run_impl<double>(temperatures, measure_every, p) : run_impl<float>(temperatures, measure_every, p);
}

template <class Real>
double XYModel::metropolis_impl(std::int64_t sweeps, double T, double J, double h, double delta)
{
    std::vector<Real> host(on_cuda() ? static_cast<std::size_t>(grid_.sites() * replicas_) : 0);
    Real* theta = on_cuda() ? host.data() : static_cast<Real*>(theta_->data());
    if (on_cuda()) theta_->download(theta, bytes());
    const double rate = cpu::xy_metropolis(grid_, replicas_, theta, sweeps, T, J, h, delta, seed_, step_);
    if (on_cuda()) theta_->upload(theta, bytes());
    host_torques<Real>(theta, J, h);
    return rate;
}

double XYModel::metropolis(std::int64_t sweeps, double T, double J, double h, double delta)
{
    SYMBREAK_REQUIRE(T > 0, "the Metropolis sampler needs T > 0, got ", T);
    const double rate = double_ ? metropolis_impl<double>(sweeps, T, J, h, delta)
                                : metropolis_impl<float>(sweeps, T, J, h, delta);
    step_ += static_cast<std::uint64_t>(sweeps);
    return rate;
}

}  // namespace symbreak
