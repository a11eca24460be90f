// CPU passes of the ECD family (cpp/src/optim/ecd.cpp). Reductions go over fixed blocks of elements in a fixed
// order, so sums, and therefore trajectories, do not depend on the thread count.
#pragma once
#include <cstdint>

#include "symbreak/optim/ecd.hpp"
#include "symbreak/optim/tensor_list.hpp"
#include "symbreak/rng/ids.hpp"

namespace symbreak::cpu {

// Pass 1: per-tensor sums (out has t.count entries).
void ecd_reduce(const TensorList& t, EcdSums* out);

// Pass 2: the shared element update with per-tensor coefficients.
void ecd_update(const TensorList& t, const EcdCoeffs* coeffs);

// Noise: p ← p · scale + nu z, z ~ N(0, 1) from Philox keyed by (seed, step), element e of the global
// numbering using normal2_double of call e / 2 (lane e % 2). Returns the new ‖p‖².
double ecd_add_noise(const TensorList& t, float scale, float nu, std::uint64_t seed, std::uint64_t step, RngId id);

// p ← p · scale for every momentum.
void ecd_scale_momenta(const TensorList& t, float scale);

enum class EcdKind : int { ecd = 0, ecdsep = 1 };

// One whole fused step of ECD or ECDSep (spec/ecd.md §1, §2): reduce pass, scalar phase, update pass, noise.
// lr has one entry per tensor; globals holds the EcdSlot values (read and written). A non-finite loss or
// gradient, or F̃ (V) at or below eps2, leaves parameters, momenta and globals untouched except kSlotSkipped.
void ecd_step(EcdKind kind, const TensorList& t, const float* lr, const EcdHyper& hp, double loss, double* globals,
              std::uint64_t seed);

}  // namespace symbreak::cpu
