// The state of R replicas of one XY lattice on one device (CPU or CUDA), and the operations the Python class
// calls. Parameters that may change between calls are arguments; the Python side owns them. On CUDA, θ, ω and
// τ (and the step's C, S and reduction scratch) live on the device; the Metropolis sampler runs on a host copy.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "symbreak/core/buffer.hpp"
#include "symbreak/lattice/geometry.hpp"
#include "symbreak/lattice/xy.hpp"

namespace symbreak {

struct XYParams {
    double dt, gamma, I, J, h;
};

struct XYSeries {  // one entry per measurement, R values each for the per-replica columns
    std::vector<std::int64_t> step;
    std::vector<double> temperature;
    std::vector<double> cos_sum, sin_sum, bond_sum, omega2, omega2_post_o;
};

class XYModel {
public:
    XYModel(const std::vector<std::int64_t>& shape, int replicas, bool double_precision, Device device, int device_id,
            std::uint64_t seed);

    const PeriodicGrid& grid() const { return grid_; }
    int replicas() const { return replicas_; }
    bool double_precision() const { return double_; }
    std::uint64_t seed() const { return seed_; }
    std::uint64_t step() const { return step_; }
    void set_step(std::uint64_t s) { step_ = s; }

    const std::shared_ptr<Buffer>& theta_buffer() const { return theta_; }

    // Host arrays of R·N values of the model's precision; torques are recomputed for (J, h) (on the host: the
    // same bits on either device).
    void set_state(const void* theta, const void* omega, double J, double h);
    void get_state(void* theta, void* omega) const;

    // len(temperatures) BAOAB steps; measure after every measure_every-th step.
    XYSeries run(const std::vector<double>& temperatures, std::int64_t measure_every, const XYParams& p);
    // Metropolis reference sampler; returns the acceptance rate. On CUDA: θ is copied to the host, swept by the
    // CPU sampler (same numbers as device='cpu') and copied back.
    double metropolis(std::int64_t sweeps, double T, double J, double h, double delta);
    XYSeries measure(double T) const;

private:
    std::size_t bytes() const;
    bool on_cuda() const { return theta_->device() == Device::cuda; }
    template <class Real>
    void host_torques(const void* theta, double J, double h);
    template <class Real>
    void totals(XYTotals* out) const;
    template <class Real>
    double metropolis_impl(std::int64_t sweeps, double T, double J, double h, double delta);
    template <class Real>
    XYSeries run_impl(const std::vector<double>& temperatures, std::int64_t measure_every, const XYParams& p);

    PeriodicGrid grid_;
    int replicas_;
    bool double_;
    std::shared_ptr<Buffer> theta_, omega_, tau_;
    std::shared_ptr<Buffer> cs_, partial_;  // CUDA only: C and S of a step (2 R N values), reduction partials
    std::uint64_t seed_;
    std::uint64_t step_ = 0;
};

}  // namespace symbreak
