// The state of one Ising lattice on one device, and the operations the Python class calls. Parameters that
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

struct IsingSeries {  // one entry per measurement
    std::vector<std::int64_t> step;
    std::vector<double> temperature;
    std::vector<std::int64_t> magnetization;  // Σ s_i
    std::vector<std::int64_t> bonds;          // Σ_<ij> s_i s_j
};

class IsingModel {
public:
    IsingModel(const std::vector<std::int64_t>& shape, Device device, int device_id, std::uint64_t seed);

    const CheckerboardGeometry& geometry() const { return geom_; }
    const std::shared_ptr<Buffer>& buffer() const { return spins_; }
    std::uint64_t seed() const { return seed_; }
    std::uint64_t step() const { return step_; }
    void set_step(std::uint64_t step) { step_ = step; }

    void randomise();                                  // keyed by seed, independent of device
    void fill(std::int8_t value);                      // all +1 or all -1
    void set_spins(const std::int8_t* logical);        // C-order logical lattice, values ±1
    void get_spins(std::int8_t* logical) const;

    // Σ s_i and Σ_<ij> s_i s_j of the current configuration.
    void totals(std::int64_t out[2]) const;

    // len(temperatures) sweeps, temperatures[i] for sweep i; measure after every `measure_every`-th sweep.
    IsingSeries run(const std::vector<double>& temperatures, std::int64_t measure_every, const IsingParams& p);

private:
    void sweeps(const double* temperatures, std::int64_t n, const IsingParams& p);

    CheckerboardGeometry geom_;
    std::shared_ptr<Buffer> spins_;
    std::uint64_t seed_;
    std::uint64_t step_ = 0;
};

}  // namespace symbreak
