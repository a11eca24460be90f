// The firewall between the C++ core and CUDA: CUDA-free declarations of every runtime helper and kernel
// launcher in cuda/. Streams travel as integers (0 = the legacy default stream). Without CUDA at build time,
// cpp/src/core/no_cuda.cpp defines these to report why (runtime helpers) or throw (launchers).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "symbreak/lattice/geometry.hpp"
#include "symbreak/lattice/ising.hpp"

namespace symbreak::cuda {

bool compiled();                        // CUDA kernels are in this build
int device_count(std::string* why);     // 0 with a reason when no usable device/driver
std::vector<std::string> device_names();
void require_device(int device_id);     // throws std::runtime_error naming what is missing
void* malloc(std::size_t bytes, int device_id);
void free(void* ptr, int device_id) noexcept;
void copy_to_device(void* dst, const void* src, std::size_t bytes, int device_id);
void copy_to_host(void* dst, const void* src, std::size_t bytes, int device_id);
void synchronize(int device_id);

// One sweep: colour 0 then colour 1, each site updated by ising_update with its Philox word.
void ising_sweep(const CheckerboardGeometry& g, std::int8_t* spins, const IsingFlipTable& table,
                 IsingAlgorithm algorithm, std::uint64_t seed, std::uint64_t step, int device_id,
                 std::uintptr_t stream);
// Σ s_i and Σ_<ij> s_i s_j, exact (integer) and deterministic.
void ising_totals(const CheckerboardGeometry& g, const std::int8_t* spins, std::int64_t out[2], int device_id,
                  std::uintptr_t stream);

}  // namespace symbreak::cuda
