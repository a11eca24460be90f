// The per-block loops of the CPU ECD step, compiled once per instruction set (ecd_blocks.cpp built three
// times with -ffp-contract=off, so every variant rounds identically) and chosen at load time.
#pragma once
#include <cstdint>

#include "symbreak/optim/ecd.hpp"
#include "symbreak/optim/tensor_list.hpp"

namespace symbreak::cpu {

struct EcdBlock {
    int tensor;
    std::int64_t begin, end;
};

#define SYMBREAK_ECD_BLOCK_API                                                    \
    EcdSums ecd_reduce_block(const TensorList& t, const EcdBlock& b, bool all_sums); \
    void ecd_update_block(const TensorList& t, const EcdBlock& b, const EcdCoeffs& c);
namespace x86_64_v4 { SYMBREAK_ECD_BLOCK_API }
namespace x86_64_v3 { SYMBREAK_ECD_BLOCK_API }
namespace x86_64_v1 { SYMBREAK_ECD_BLOCK_API }
#undef SYMBREAK_ECD_BLOCK_API

}  // namespace symbreak::cpu
