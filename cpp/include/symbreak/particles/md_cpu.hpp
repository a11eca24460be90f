// The particle simulator's state and CPU driver: positions, velocities and forces in a cell-sorted order,
// a Verlet list with skin rebuilt only when some particle has moved more than skin/2, and the integrators
// of md.hpp. Arrays cross this interface in float64 and in the user's order (the particle's tag), whatever
// the internal precision and order.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "symbreak/particles/md.hpp"

namespace symbreak {

struct MDSetup {
    int dim = 3;
    bool single = false;        // float32 storage and arithmetic
    std::int64_t n = 0;
    double box[3] = {0, 0, 0};  // periodic sides; positions live in [0, L)
    PairParams pair;
    double skin = 0.3, mass = 1, min_distance = 0;  // closer pairs at a list build are an error
    std::uint64_t seed = 0;
};

struct MDTotals {
    double kinetic = 0, potential = 0, virial = 0;  // virial W = Σ_pairs r_ij · f_ij
    double momentum[3] = {0, 0, 0};
};

// Everything a bit-identical continuation needs, in the internal order (float32 values are exact in float64).
struct MDState {
    std::vector<double> x, v, f, x_ref;  // n · dim, particle-major
    std::vector<std::int32_t> tag;
    std::int64_t step = 0;
};

struct MDCounters {
    std::int64_t step = 0, rebuilds = 0, stride = 0;
    double mean_neighbours = 0;  // full list: both directions
};

class ParticleEngine {
public:
    virtual ~ParticleEngine() = default;

    // n steps; T[s] is the target temperature of step s (Langevin only; may be null otherwise). The energy
    // of the final state is computed in the last force pass when measure is set (then read by totals()).
    virtual void advance(std::int64_t n, const double* T, MDIntegrator kind, double dt, double gamma,
                         double damping, bool measure) = 0;
    virtual MDTotals totals() = 0;
    // field 0 positions, 1 velocities, 2 forces: n · dim values in the user's order.
    virtual void read(int field, double* out) const = 0;
    virtual MDState state() const = 0;
    virtual void load(const MDState& s) = 0;
    virtual MDCounters counters() const = 0;
    // The two kernels on their own, for the microbenchmarks: sort and rebuild the list now; conservative
    // forces of the current positions into the force array.
    virtual void rebuild_now() = 0;
    virtual void forces_now() = 0;
};

// The CPU engine's Verlet list. full (the default): each particle sums its own list, no scattered writes,
// results independent of the thread count. half: each pair once (j > i in the sorted order), Newton's third
// law, one force array per thread added up after: the measured alternative (bench_particles.cpp); its forces
// depend on the thread count in the last bits.
enum class MDList : int { full = 0, half = 1 };

// x and v: n · dim values in the user's order, already validated (finite, inside the box).
std::unique_ptr<ParticleEngine> make_particle_engine(const MDSetup& setup, const double* x, const double* v,
                                                     MDList list = MDList::full);

// The instruction set the force kernel was chosen for ("x86-64-v4", ...).
const char* md_kernel_isa();

}  // namespace symbreak
