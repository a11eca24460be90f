// The force and neighbour-list loops, compiled once per instruction set (md_kernels.cpp built three times
// with -ffp-contract=off, so every variant rounds identically) and chosen at load time. Each call handles
// the particle blocks [b0, b1). The *_half variants: half lists (j > i) in the same layout, forces with
// Newton's third law (MDList::half, the benchmarked alternative).
#pragma once
#include <cstdint>

#include "symbreak/particles/md.hpp"

namespace symbreak::cpu {

#define SYMBREAK_MD_KERNEL_API                                                                            \
    template <class T, int D>                                                                             \
    void md_forces(const MDForceArgs<T, D>& a, const PairParams& p, std::int64_t b0, std::int64_t b1);    \
    template <class T, int D>                                                                             \
    void md_build_list(const MDListArgs<T, D>& a, std::int64_t b0, std::int64_t b1);                     \
    template <class T, int D>                                                                             \
    void md_forces_half(const MDForceArgs<T, D>& a, const PairParams& p, std::int64_t b0, std::int64_t b1); \
    template <class T, int D>                                                                             \
    void md_build_half_list(const MDListArgs<T, D>& a, std::int64_t b0, std::int64_t b1);
namespace x86_64_v4 { SYMBREAK_MD_KERNEL_API }
namespace x86_64_v3 { SYMBREAK_MD_KERNEL_API }
namespace x86_64_v1 { SYMBREAK_MD_KERNEL_API }
#undef SYMBREAK_MD_KERNEL_API

}  // namespace symbreak::cpu
