// CPU passes of the ECD family (cpp/src/optim/ecd.cpp). Reductions go over fixed blocks of elements in a fixed
// order, so sums, and therefore trajectories, do not depend on the thread count.
#pragma once
#include <cstdint>
#include <functional>

#include "symbreak/optim/ecd.hpp"
#include "symbreak/optim/tensor_list.hpp"
#include "symbreak/rng/ids.hpp"

namespace symbreak::cpu {

// Pass 1: per-tensor sums (out has t.count entries). Without all_sums, ‖θ‖² and ‖g‖² are left zero for
// tensors without weight decay (a step needs ‖g‖² only when it initialises the momenta).
void ecd_reduce(const TensorList& t, EcdSums* out, bool all_sums = true);

// Pass 2: the shared element update with per-tensor coefficients.
void ecd_update(const TensorList& t, const EcdCoeffs* coeffs);

// Noise: p ← p · scale + nu z, z ~ N(0, 1) from Philox keyed by (seed, step), element e of the global
// numbering using normal2_double of call e / 2 (lane e % 2). Returns the new ‖p‖².
double ecd_add_noise(const TensorList& t, float scale, float nu, std::uint64_t seed, std::uint64_t step, RngId id);

// p ← p · scale for every momentum.
void ecd_scale_momenta(const TensorList& t, float scale);

enum class EcdKind : int { ecd = 0, ecdsep = 1 };

// Sums `n` doubles in place over the ranks of a sharded run (empty: one process).
using AllReduce = std::function<void(double* data, std::size_t n)>;

// One whole fused step of ECD or ECDSep (spec/ecd.md §1, §2): reduce pass, scalar phase, update pass, noise.
// lr and eta have one entry per tensor; globals holds the EcdSlot values (read and written); d_count is this
// rank's share of d, used at the first step. A non-finite loss, gradient or ‖θ‖², or F̃ (V) at or below
// eps2, leaves parameters, momenta and globals untouched except kSlotStatus.
void ecd_step(EcdKind kind, const TensorList& t, const float* lr, const float* eta, const EcdHyper& hp, double loss,
              double* globals, std::uint64_t seed, double d_count, const AllReduce& allreduce);

}  // namespace symbreak::cpu
