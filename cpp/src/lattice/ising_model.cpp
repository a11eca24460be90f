#include "symbreak/lattice/ising_model.hpp"

#include <cstring>

#include "symbreak/core/check.hpp"
#include "symbreak/core/launch.hpp"
#include "symbreak/lattice/ising_cpu.hpp"

namespace symbreak {

namespace {
CheckerboardGeometry make_geometry(const std::vector<std::int64_t>& shape)
{
    SYMBREAK_REQUIRE(shape.size() == 2 || shape.size() == 3, "shape must have 2 or 3 sides, got ", shape.size());
    CheckerboardGeometry g;
    g.dim = static_cast<int>(shape.size());
    g.rows = 1;
    for (int a = 0; a < g.dim; ++a) {
        SYMBREAK_REQUIRE(shape[a] >= 2 && shape[a] % 2 == 0, "shape sides must be even and >= 2, got ", shape[a]);
        SYMBREAK_REQUIRE(shape[a] <= (std::int64_t{1} << 31), "shape side ", shape[a], " exceeds 2^31");
        g.n[a] = shape[a];
        if (a < g.dim - 1) g.rows *= shape[a];
    }
    g.W = shape[g.dim - 1] / 2;
    SYMBREAK_REQUIRE(g.sites() <= (std::int64_t{1} << 46), "lattice of ", g.sites(), " sites exceeds 2^46");
    return g;
}
}  // namespace

IsingModel::IsingModel(const std::vector<std::int64_t>& shape, Device device, int device_id, std::uint64_t seed)
    : geom_(make_geometry(shape)), seed_(seed)
{
    if (device == Device::cuda) cuda::require_device(device_id);
    spins_ = std::make_shared<Buffer>(static_cast<std::size_t>(geom_.sites()), device, device_id);
}

void IsingModel::randomise()
{
    std::vector<std::int8_t> host(static_cast<std::size_t>(geom_.sites()));
    cpu::ising_random_init(geom_, host.data(), seed_);
    spins_->upload(host.data(), host.size());
}

void IsingModel::fill(std::int8_t value)
{
    SYMBREAK_REQUIRE(value == 1 || value == -1, "spin value must be +1 or -1, got ", int(value));
    std::vector<std::int8_t> host(static_cast<std::size_t>(geom_.sites()), value);
    spins_->upload(host.data(), host.size());
}

void IsingModel::set_spins(const std::int8_t* logical)
{
    const std::int64_t N = geom_.sites();
    for (std::int64_t i = 0; i < N; ++i)
        SYMBREAK_REQUIRE(logical[i] == 1 || logical[i] == -1, "spins must be +1 or -1; found ", int(logical[i]),
                         " at flat index ", i);
    std::vector<std::int8_t> host(static_cast<std::size_t>(N));
    cpu::checkerboard_pack(geom_, logical, host.data());
    spins_->upload(host.data(), host.size());
}

void IsingModel::get_spins(std::int8_t* logical) const
{
    if (spins_->device() == Device::cpu) {
        cpu::checkerboard_unpack(geom_, static_cast<const std::int8_t*>(spins_->data()), logical);
        return;
    }
    std::vector<std::int8_t> host(static_cast<std::size_t>(geom_.sites()));
    spins_->download(host.data(), host.size());
    cpu::checkerboard_unpack(geom_, host.data(), logical);
}

void IsingModel::totals(std::int64_t out[2]) const
{
    const auto* s = static_cast<const std::int8_t*>(spins_->data());
    if (spins_->device() == Device::cpu)
        cpu::ising_totals(geom_, s, out);
    else
        cuda::ising_totals(geom_, s, out, spins_->device_id(), 0);
}

void IsingModel::sweeps(const double* temperatures, std::int64_t n, const IsingParams& p)
{
    auto* s = static_cast<std::int8_t*>(spins_->data());
    if (p.algorithm == IsingAlgorithm::wolff) {
        SYMBREAK_REQUIRE(spins_->device() == Device::cpu, "algorithm='wolff' runs on the CPU only");
        SYMBREAK_REQUIRE(p.h == 0.0 && p.J > 0.0, "algorithm='wolff' needs h == 0 and J > 0");
        SYMBREAK_REQUIRE(p.wolff_clusters >= 1, "wolff_clusters must be >= 1, got ", p.wolff_clusters);
        cpu::ising_wolff(geom_, s, temperatures, n, p.wolff_clusters, p.J, seed_, step_);
    } else {
        std::vector<IsingFlipTable> tables(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) tables[i] = ising_flip_table(p.algorithm, temperatures[i], p.J, p.h);
        if (spins_->device() == Device::cpu) {
            cpu::ising_sweeps(geom_, s, tables.data(), n, p.algorithm, seed_, step_);
        } else {
            for (std::int64_t i = 0; i < n; ++i)
                cuda::ising_sweep(geom_, s, tables[i], p.algorithm, seed_, step_ + i, spins_->device_id(), 0);
        }
    }
    step_ += static_cast<std::uint64_t>(n);
}

IsingSeries IsingModel::run(const std::vector<double>& temperatures, std::int64_t measure_every,
                            const IsingParams& p)
{
    SYMBREAK_REQUIRE(measure_every >= 0, "measure_every must be >= 0 (0: never), got ", measure_every);
    for (double T : temperatures)
        SYMBREAK_REQUIRE(T > 0.0 && T < 1e300, "temperature must be finite and > 0, got ", T);
    const auto n = static_cast<std::int64_t>(temperatures.size());
    IsingSeries series;
    const std::int64_t chunk = measure_every > 0 ? measure_every : (n > 0 ? n : 1);
    for (std::int64_t done = 0; done < n; done += chunk) {
        const std::int64_t len = std::min(chunk, n - done);
        sweeps(temperatures.data() + done, len, p);
        if (measure_every > 0 && len == chunk) {
            std::int64_t t[2];
            totals(t);
            series.step.push_back(static_cast<std::int64_t>(step_));
            series.temperature.push_back(temperatures[done + len - 1]);
            series.magnetization.push_back(t[0]);
            series.bonds.push_back(t[1]);
        }
    }
    if (spins_->device() == Device::cuda) cuda::synchronize(spins_->device_id());
    return series;
}

}  // namespace symbreak
