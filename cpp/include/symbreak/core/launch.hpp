// The firewall between the C++ core and CUDA: CUDA-free declarations of every runtime helper and kernel
// launcher in cuda/. Streams travel as integers (0 = the legacy default stream). Without CUDA at build time,
// cpp/src/core/no_cuda.cpp defines these to report why (runtime helpers) or throw (launchers).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "symbreak/lattice/geometry.hpp"
#include "symbreak/lattice/ising.hpp"
#include "symbreak/lattice/xy.hpp"
#include "symbreak/optim/ecd.hpp"
#include "symbreak/optim/tensor_list.hpp"

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

// One sweep of `replicas` stacked lattices (ising_cpu.hpp): colour 0 then colour 1, one launch each over all
// replicas, each site updated by ising_update with its Philox word.
void ising_sweep(const CheckerboardGeometry& g, std::int8_t* spins, std::int64_t replicas,
                 const IsingFlipTable& table, IsingAlgorithm algorithm, std::uint64_t seed, std::uint64_t step,
                 int device_id, std::uintptr_t stream);
// Σ s_i and Σ_<ij> s_i s_j of replica r in out[2 r], out[2 r + 1], exact (integer) and deterministic.
void ising_totals(const CheckerboardGeometry& g, const std::int8_t* spins, std::int64_t replicas,
                  std::int64_t* out, int device_id, std::uintptr_t stream);

// XY rotors (cuda/lattice/xy.cu): the device arrays of R stacked replicas, R·N values each (C, S: cos θ and
// sin θ scratch), and partial: xy_partial_count() doubles of reduction scratch.
template <class Real>
struct XYDeviceArrays {
    Real* theta;
    Real* omega;
    Real* tau;
    Real* C;
    Real* S;
    double* partial;
};
constexpr std::int64_t kXYReduceSites = 2048;  // sites of one replica that one reduction block sums
inline std::int64_t xy_partial_count(const PeriodicGrid& g, int replicas)
{
    return 4 * replicas * ((g.sites() + kXYReduceSites - 1) / kXYReduceSites);
}
// n BAOAB steps, cpu::xy_langevin's contract (tau holds the torques of the current angles on entry and exit;
// post_o, host memory, may be null), bit for bit in θ, ω and τ. Returns synchronised.
void xy_langevin(const PeriodicGrid& g, int replicas, const XYDeviceArrays<float>& a, const XYStep* steps,
                 std::int64_t n, std::uint64_t seed, std::uint64_t step0, double* post_o, int device_id);
void xy_langevin(const PeriodicGrid& g, int replicas, const XYDeviceArrays<double>& a, const XYStep* steps,
                 std::int64_t n, std::uint64_t seed, std::uint64_t step0, double* post_o, int device_id);
// Per-replica totals into host memory (R entries), deterministic; equal to cpu::xy_totals up to round-off.
void xy_totals(const PeriodicGrid& g, int replicas, const XYDeviceArrays<float>& a, XYTotals* out, int device_id);
void xy_totals(const PeriodicGrid& g, int replicas, const XYDeviceArrays<double>& a, XYTotals* out, int device_id);

// Fused ECD-family step. Every pointer is device memory that stays valid across steps (the caller caches the
// tables): params/grads/momenta are arrays of n_tensors device pointers; chunks cover every tensor in pieces
// of chunk_size elements (chunk_tensor[c], chunk_begin[c]), tensor i's being chunks chunk_first[i] ..
// chunk_first[i + 1] - 1 (n_tensors + 1 entries). Slot kSlotD must hold d before the first step.
struct EcdStepTables {
    void* const* params;
    const int* param_dtype;  // DType codes
    const void* const* grads;
    const int* grad_dtype;
    float* const* momenta;
    const std::int64_t* numel;
    const std::int64_t* offset;
    const float* lr;
    const float* eta;
    const float* wd;
    const int* chunk_tensor;
    const std::int64_t* chunk_begin;
    const int* chunk_first;
    int n_tensors;
    int n_chunks;
    std::int64_t chunk_size;
};
struct EcdStepBuffers {
    void* partial;        // n_chunks EcdSums
    void* sums;           // n_tensors EcdSums
    void* coeffs;         // n_tensors EcdCoeffs
    void* noise_partial;  // n_chunks doubles
    void* norm2;          // one double: ‖p‖² after the noise
    void* flag;           // one int
    void* globals;        // kSlotCount doubles
    const void* loss;     // one double
};
// Sums `n` doubles of device memory in place over the ranks of a sharded run, ordered on the step's stream
// (e.g. an NCCL all-reduce); empty for one process.
using DeviceAllReduce = std::function<void(double* device_data, std::size_t n)>;
// kind 0: ECD, 1: ECDSep; first: the optimizer's first step (initialises the momenta). Sharded, the per-tensor
// sums and the noise norm go through `allreduce` between the launches, as in cpu::ecd_step.
void ecd_step(const EcdStepTables& tables, const EcdStepBuffers& buffers, const EcdHyper& hp, int kind, bool first,
              std::uint64_t seed, int device_id, std::uintptr_t stream, const DeviceAllReduce& allreduce = {});

}  // namespace symbreak::cuda
