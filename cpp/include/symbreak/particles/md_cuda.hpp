// The particle simulator on one CUDA device: the ParticleEngine of md_cpu.hpp with the same rules, the same
// cell sort and the same neighbour-list order, so forces and trajectories match the CPU's (see
// cuda/particles/md.cu). CUDA-free: without CUDA at build time the factory throws why.
#pragma once
#include <memory>

#include "symbreak/particles/md_cpu.hpp"

namespace symbreak {

// x and v: n · dim values in the user's order, already validated (finite, inside the box). Throws
// std::runtime_error when CUDA or the device is unavailable.
std::unique_ptr<ParticleEngine> make_particle_engine_cuda(const MDSetup& setup, const double* x, const double* v,
                                                          int device_id);

}  // namespace symbreak
