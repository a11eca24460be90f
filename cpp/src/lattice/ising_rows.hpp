// The vectorised inner loops of the CPU checkerboard sweep and observables, compiled once per instruction set
// (ising_rows.cpp built three times, see CMakeLists.txt) and chosen at load time: wheels run on any
// x86-64 and use AVX-512 or AVX2 where present. Every variant computes the same bits as ising_update().
#pragma once
#include <cstdint>

#include "symbreak/lattice/geometry.hpp"
#include "symbreak/lattice/ising.hpp"

namespace symbreak::cpu {

// A flip table rearranged for SIMD: the distinct `hi` values t_d of the categories a lattice can reach and,
// per category c, need[c] = #{d : t_d >= hi[c]}. Then u < hi[c] exactly when #{d : t_d > u} >= need[c]
// (the t_d above u are the largest ones), and a tie u == hi[c] can only happen where u equals some t_d.
// Categories with p = 1 get need 0 and those with p = 0 an unreachable need; neither enters the t_d.
struct IsingRankTable {
    int n_distinct = 0;
    std::uint16_t distinct[kIsingCategories];
    int n_reachable = 0;
    std::int16_t reachable[kIsingCategories];  // categories (s, n) with n = -z, -z + 2, ..., z
    std::int16_t need[kIsingCategories];
};

IsingRankTable ising_rank_table(const IsingFlipTable& t, int z);

// Rows [r0, r1) of one colour, one sweep. Rows are counted over the stacked replicas: global row gr is row
// gr % rows of replica gr / rows, whose storage starts at spins + 2 P (gr / rows), and its site j draws the
// Philox half-word of global index gr W + j (replica r's sites follow replica r - 1's, so replica 0 draws
// exactly what a single lattice draws). Scratch: words >= 128 * ((r1 - r0) * W / 128 + 2),
// n_sum >= (r1 - r0) * W.
struct IsingRowBatch {
    const CheckerboardGeometry* g;
    std::int8_t* spins;
    int colour;
    std::int64_t r0, r1;
    const IsingFlipTable* table;
    const IsingRankTable* rank;
    IsingTieStream tie;
    std::uint16_t* words;
    std::int8_t* n_sum;
};

// Σ s and Σ_bonds s_i s_j of global rows [r0, r1) (rows of both colours; each bond counted once, from its
// colour-0 site), added to m[replica] and b[replica]: exact integers. Scratch: n_sum >= W.
struct IsingTotalsBatch {
    const CheckerboardGeometry* g;
    const std::int8_t* spins;
    std::int64_t r0, r1;
    std::int8_t* n_sum;
    std::int64_t* m;
    std::int64_t* b;
};

#define SYMBREAK_ISING_ROWS_API                        \
    void ising_update_rows(const IsingRowBatch& b);     \
    void ising_totals_rows(const IsingTotalsBatch& t);
namespace x86_64_v4 { SYMBREAK_ISING_ROWS_API }
namespace x86_64_v3 { SYMBREAK_ISING_ROWS_API }
namespace x86_64_v1 { SYMBREAK_ISING_ROWS_API }
#undef SYMBREAK_ISING_ROWS_API

}  // namespace symbreak::cpu
