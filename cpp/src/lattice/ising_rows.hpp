// The vectorised inner loop of the CPU checkerboard sweep, compiled once per instruction set
// (ising_rows.cpp built three times, see CMakeLists.txt) and chosen at load time: wheels run on any
// x86-64 and use AVX-512 or AVX2 where present. Every variant computes the same bits.
#pragma once
#include <cstdint>

#include "symbreak/lattice/geometry.hpp"
#include "symbreak/lattice/ising.hpp"

namespace symbreak::cpu {

// Rows [r0, r1) of one colour, one sweep. Scratch: words >= (r1 - r0) * W + 128, n_sum >= W.
struct IsingRowBatch {
    const CheckerboardGeometry* g;
    std::int8_t* spins;
    int colour;
    std::int64_t r0, r1;
    const IsingFlipTable* table;
    IsingAlgorithm algorithm;
    std::uint64_t step;
    PhiloxKey key;
    std::uint32_t* words;
    std::int8_t* n_sum;
};

namespace x86_64_v4 { void ising_update_rows(const IsingRowBatch& b); }
namespace x86_64_v3 { void ising_update_rows(const IsingRowBatch& b); }
namespace x86_64_v1 { void ising_update_rows(const IsingRowBatch& b); }

}  // namespace symbreak::cpu
