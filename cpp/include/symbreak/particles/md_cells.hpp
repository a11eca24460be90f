// The cell grid of the neighbour-list build, for drivers that must sort and list exactly as the CPU driver
// does (the CUDA engine): same cells, same cell of a position, same runs of cells within reach. This is the
// grid of the CPU driver, cpp/src/particles/md.cpp, which calls these too.
//
// Cells are at least (r_cut + skin) / 2 wide, so a particle's candidates lie in the 5^D cells around its own.
// The cells within reach of each cell are stored as runs of consecutive ids (the last axis is fastest): in the
// cell-sorted order a run is one contiguous range of particles.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "symbreak/core/hd.hpp"

namespace symbreak {

struct MDCellGrid {
    std::int64_t cells[3] = {1, 1, 1};
    double inv_cell[3] = {0, 0, 0};
    std::int64_t n_cells = 1;
    // Runs of cell c: [runs[2r], runs[2r + 1]) for r in [run_start[c], run_start[c + 1]).
    std::vector<std::int32_t> run_start, runs;
};

inline MDCellGrid md_cell_grid(int dim, const double* box, double reach)
{
    constexpr int kReach = 2, kSpan = 2 * kReach + 1;
    MDCellGrid g;
    for (int d = 0; d < dim; ++d) {
        g.cells[d] = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(box[d] / (reach / kReach))));
        g.inv_cell[d] = static_cast<double>(g.cells[d]) / box[d];
        g.n_cells *= g.cells[d];
    }
    int total = 1;
    for (int d = 0; d < dim; ++d) total *= kSpan;
    g.run_start.assign(1, 0);
    std::vector<std::int32_t> ids;
    for (std::int64_t c = 0; c < g.n_cells; ++c) {
        std::int64_t coord[3] = {0, 0, 0}, rest = c;
        for (int d = dim - 1; d >= 0; --d) {
            coord[d] = rest % g.cells[d];
            rest /= g.cells[d];
        }
        ids.clear();
        for (int o = 0; o < total; ++o) {
            std::int64_t id = 0, q = o;
            for (int d = 0; d < dim; ++d) {
                const std::int64_t off = q % kSpan - kReach;
                q /= kSpan;
                id = id * g.cells[d] + ((coord[d] + off) % g.cells[d] + g.cells[d]) % g.cells[d];
            }
            ids.push_back(static_cast<std::int32_t>(id));
        }
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());  // small boxes: offsets wrap onto each other
        for (std::size_t k = 0; k < ids.size(); ++k) {
            if (k == 0 || ids[k] != ids[k - 1] + 1) {
                g.runs.push_back(ids[k]);
                g.runs.push_back(ids[k] + 1);
            } else {
                g.runs.back() = ids[k] + 1;
            }
        }
        g.run_start.push_back(static_cast<std::int32_t>(g.runs.size() / 2));
    }
    return g;
}

// Cell of a wrapped position (double arithmetic, clamped: x = L - tiny may round onto the last edge).
template <class T, int D>
SYMBREAK_HD std::int32_t md_cell_index(const T (&x)[D], const std::int64_t* cells, const double* inv_cell)
{
    std::int64_t id = 0;
    for (int d = 0; d < D; ++d) {
        const auto k = static_cast<std::int64_t>(static_cast<double>(x[d]) * inv_cell[d]);
        id = id * cells[d] + (k < 0 ? 0 : k > cells[d] - 1 ? cells[d] - 1 : k);
    }
    return static_cast<std::int32_t>(id);
}

}  // namespace symbreak
