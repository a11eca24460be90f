// The state of R replicas of one Ising lattice on one device, and the operations the Python class calls. Parameters that
// may change between calls (T, J, h, algorithm) are arguments, not members: the Python side owns them.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "symbreak/core/buffer.hpp"
#include "symbreak/lattice/geometry.hpp"
#include "symbreak/lattice/ising.hpp"

namespace symbreak {

struct IsingParams {
    IsingAlgorithm algorithm = IsingAlgorithm::metropolis;
    double J = 1.0;
    double h = 0.0;
    std::int64_t wolff_clusters = 1;  // cluster flips per Wolff sweep
};

struct IsingSeries {  // one entry per measurement; R entries (replica-minor) for the per-replica sums
    std::vector<std::int64_t> step;
    std::vector<double> temperature;
    std::vector<std::int64_t> magnetization;  // Σ s_i
    std::vector<std::int64_t> bonds;          // Σ_<ij> s_i s_j
};

constexpr std::int64_t kIsingMaxReplicas = std::int64_t{1} << 16;  // replica index fits the Philox layout

class IsingModel {
public:
    IsingModel(const std::vector<std::int64_t>& shape, std::int64_t replicas, Device device, int device_id,
               std::uint64_t seed);

    const CheckerboardGeometry& geometry() const { return geom_; }
    std::int64_t replicas() const { return replicas_; }
    const std::shared_ptr<Buffer>& buffer() const { return spins_; }
    std::uint64_t seed() const { return seed_; }
    std::uint64_t step() const { return step_; }
    void set_step(std::uint64_t step) { step_ = step; }

    void randomise();                                  // keyed by seed, independent of device
    void fill(std::int8_t value);                      // all +1 or all -1
    void set_spins(const std::int8_t* logical);        // R C-order logical lattices, values ±1
    void get_spins(std::int8_t* logical) const;

    // Σ s_i and Σ_<ij> s_i s_j of replica r's current configuration in out[2 r], out[2 r + 1].
    void totals(std::int64_t* out) const;

    // len(temperatures) sweeps, temperatures[i] for sweep i; measure after every `measure_every`-th sweep.
    IsingSeries run(const std::vector<double>& temperatures, std::int64_t measure_every, const IsingParams& p);

private:
    std::int64_t all_sites() const { return replicas_ * geom_.sites(); }
    void sweeps(const double* temperatures, std::int64_t n, const IsingParams& p);

    CheckerboardGeometry geom_;
    std::int64_t replicas_;
    std::shared_ptr<Buffer> spins_;
    std::uint64_t seed_;
    std::uint64_t step_ = 0;
};

}  // namespace symbreak
