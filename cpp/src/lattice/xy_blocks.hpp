// The per-block loops of the CPU XY step (Philox, Box–Muller, BAOA, cos/sin of the new angles; torques by
// line) and of its observables, compiled once per instruction set (xy_blocks.cpp built three times with -ffp-contract=off, so every variant rounds
// identically) and chosen at load time.
#pragma once
#include <cstdint>

#include "symbreak/lattice/xy.hpp"

namespace symbreak::cpu {

// Sites [begin, end) of the stacked replicas (global indices), one BAOA step with normals keyed by (key, step).
// Scratch: words >= (end - begin) / 2 + 34 calls, z >= end - begin + 6 normals. after_o[j], C[j] and S[j] receive
// ω right after O and cos θ, sin θ of the new angle of site begin + j.
template <class Real>
struct XYBlock {
    Real* theta;
    Real* omega;
    const Real* tau;
    Real* C;
    Real* S;
    Real* after_o;
    Philox4x32* words;
    Real* z;
    std::int64_t begin, end;
    XYStep step;
    PhiloxKey key;
    std::uint64_t counter_step;
};

// One line of L sites along the last axis: τ = xy_torque from the cos θ, sin θ of the line (cl, sl) and of its
// `adj` neighbouring lines (c[a], s[a], a < adj: xy_adjacent_lines' slots; the rest unused), then, with
// omega != null, the closing B step ω += k τ. tau and omega point at the line's first site.
template <class Real>
struct XYLine {
    const Real* cl;
    const Real* sl;
    const Real* c[4];
    const Real* s[4];
    Real* tau;
    Real* omega;
    std::int64_t L;
    int adj;
    Real J, h, k;
};

// One block of a replica for the observables: lines [q0, q1), or with q1 = q0 + 1 sites [x0, x1) of line q0
// (x0 = 0, x1 = L for whole lines). Each angle's cos and sin are computed once per block (plus the neighbouring
// lines outside it), then xy_bonds and ω² per site, summed per line in a fixed order (eight lanes, then the
// rest), the same on every instruction set. Scratch: 2 (q1 - q0) n + 6 n doubles, n = x1 - x0.
template <class Real>
struct XYTotalsBlock {
    const Real* theta;  // the replica's angles and velocities
    const Real* omega;
    double* scratch;
    PeriodicGrid grid;
    std::int64_t q0, q1, x0, x1;
};

#define SYMBREAK_XY_BLOCK_API                                          \
    void xy_baoa_block(const XYBlock<double>& b);                      \
    void xy_baoa_block(const XYBlock<float>& b);                       \
    void xy_torque_line(const XYLine<double>& l);                      \
    void xy_torque_line(const XYLine<float>& l);                       \
    XYTotals xy_totals_block(const XYTotalsBlock<double>& b);          \
    XYTotals xy_totals_block(const XYTotalsBlock<float>& b);
namespace x86_64_v4 { SYMBREAK_XY_BLOCK_API }
namespace x86_64_v3 { SYMBREAK_XY_BLOCK_API }
namespace x86_64_v1 { SYMBREAK_XY_BLOCK_API }
#undef SYMBREAK_XY_BLOCK_API

}  // namespace symbreak::cpu
