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

IsingModel::IsingModel(const std::vector<std::int64_t>& shape, std::int64_t replicas, Device device, int device_id,
                       std::uint64_t seed)
    : geom_(make_geometry(shape)), replicas_(replicas), seed_(seed)
{
    SYMBREAK_REQUIRE(replicas >= 1 && replicas <= kIsingMaxReplicas, "replicas must be in [1, ", kIsingMaxReplicas,
                     "], got ", replicas);
    SYMBREAK_REQUIRE(replicas * geom_.sites() <= (std::int64_t{1} << 46), "replicas x sites = ",
                     replicas * geom_.sites(), " exceeds 2^46");
    if (device == Device::cuda) cuda::require_device(device_id);
    spins_ = std::make_shared<Buffer>(static_cast<std::size_t>(all_sites()), device, device_id);
}

void IsingModel::randomise()
{
    std::vector<std::int8_t> host(static_cast<std::size_t>(all_sites()));
    cpu::ising_random_init(geom_, host.data(), seed_, replicas_);
    spins_->upload(host.data(), host.size());
}

void IsingModel::fill(std::int8_t value)
{
    SYMBREAK_REQUIRE(value == 1 || value == -1, "spin value must be +1 or -1, got ", int(value));
    std::vector<std::int8_t> host(static_cast<std::size_t>(all_sites()), value);
    spins_->upload(host.data(), host.size());
}

void IsingModel::set_spins(const std::int8_t* logical)
{
    const std::int64_t N = all_sites();
    for (std::int64_t i = 0; i < N; ++i)
        SYMBREAK_REQUIRE(logical[i] == 1 || logical[i] == -1, "spins must be +1 or -1; found ", int(logical[i]),
                         " at flat index ", i);
    std::vector<std::int8_t> host(static_cast<std::size_t>(N));
    for (std::int64_t r = 0; r < replicas_; ++r)
        cpu::checkerboard_pack(geom_, logical + r * geom_.sites(), host.data() + r * geom_.sites());
    spins_->upload(host.data(), host.size());
}

void IsingModel::get_spins(std::int8_t* logical) const
{
    std::vector<std::int8_t> host;
    const std::int8_t* storage = static_cast<const std::int8_t*>(spins_->data());
    if (spins_->device() != Device::cpu) {
        host.resize(static_cast<std::size_t>(all_sites()));
        spins_->download(host.data(), host.size());
        storage = host.data();
    }
    for (std::int64_t r = 0; r < replicas_; ++r)
        cpu::checkerboard_unpack(geom_, storage + r * geom_.sites(), logical + r * geom_.sites());
}

void IsingModel::totals(std::int64_t* out) const
{
    const auto* s = static_cast<const std::int8_t*>(spins_->data());
    if (spins_->device() == Device::cpu)
        cpu::ising_totals(geom_, s, out, replicas_);
    else
        cuda::ising_totals(geom_, s, replicas_, out, spins_->device_id(), 0);
}

void IsingModel::sweeps(const double* temperatures, std::int64_t n, const IsingParams& p)
{
    auto* s = static_cast<std::int8_t*>(spins_->data());
    if (p.algorithm == IsingAlgorithm::wolff) {
        SYMBREAK_REQUIRE(spins_->device() == Device::cpu, "algorithm='wolff' runs on the CPU only");
        SYMBREAK_REQUIRE(p.h == 0.0 && p.J > 0.0, "algorithm='wolff' needs h == 0 and J > 0");
        SYMBREAK_REQUIRE(p.wolff_clusters >= 1, "wolff_clusters must be >= 1, got ", p.wolff_clusters);
        // A cluster draws at most 2 + z N words; replicas' streams must not run into each other.
        const double words = static_cast<double>(p.wolff_clusters) * (2.0 + geom_.coordination() * geom_.sites());
        SYMBREAK_REQUIRE(replicas_ == 1 || words <= static_cast<double>(cpu::kWolffWordsPerReplica),
                         "wolff_clusters x (2 + z N) = ", words, " random words per sweep exceed the per-replica ",
                         "stream of 2^34 words; use fewer clusters per sweep (more sweeps) or one replica");
        cpu::ising_wolff(geom_, s, temperatures, n, p.wolff_clusters, p.J, seed_, step_, replicas_);
    } else {
        std::vector<IsingFlipTable> tables(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) tables[i] = ising_flip_table(p.algorithm, temperatures[i], p.J, p.h);
        if (spins_->device() == Device::cpu) {
            cpu::ising_sweeps(geom_, s, tables.data(), n, p.algorithm, seed_, step_, replicas_);
        } else {
            for (std::int64_t i = 0; i < n; ++i)
                cuda::ising_sweep(geom_, s, replicas_, tables[i], p.algorithm, seed_, step_ + i, spins_->device_id(), 0);
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
    std::vector<std::int64_t> t(static_cast<std::size_t>(2 * replicas_));
    const std::int64_t chunk = measure_every > 0 ? measure_every : (n > 0 ? n : 1);
    for (std::int64_t done = 0; done < n; done += chunk) {
        const std::int64_t len = std::min(chunk, n - done);
        sweeps(temperatures.data() + done, len, p);
        if (measure_every > 0 && len == chunk) {
            totals(t.data());
            series.step.push_back(static_cast<std::int64_t>(step_));
            series.temperature.push_back(temperatures[done + len - 1]);
            for (std::int64_t r = 0; r < replicas_; ++r) {
                series.magnetization.push_back(t[2 * r]);
                series.bonds.push_back(t[2 * r + 1]);
            }
        }
    }
    if (spins_->device() == Device::cuda) cuda::synchronize(spins_->device_id());
    return series;
}

}  // namespace symbreak
