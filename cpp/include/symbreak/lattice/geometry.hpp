// Periodic hypercubic lattices (2D, 3D) stored as two checkerboard sub-lattices.
//
// Logical lattice: shape (n0, n1) or (n0, n1, n2) in C order, every side even. Colour of a site = parity of
// the sum of its coordinates. A "row" is one line along the last axis; rows are numbered in C order over the
// leading coordinates, and a row's parity is the parity of the sum of its leading coordinates.
//
// Storage (identical on CPU and GPU): colour c holds rows × W bytes, W = n_last / 2, where site (row r, x)
// has colour c = (parity(r) + x) % 2 and lives at column j = x / 2. Every neighbour of a colour-c site has
// colour 1 - c: the two along the last axis sit in the same row at columns j and j + (q ? +1 : -1) with
// q = c ^ parity(r); the others sit at column j in the adjacent rows. Contiguous rows make the CPU loop
// vectorise and the GPU loads coalesce.
#pragma once
#include <cstdint>

#include "symbreak/core/hd.hpp"

namespace symbreak {

struct CheckerboardGeometry {
    int dim = 2;                  // 2 or 3
    std::int64_t n[3] = {0, 0, 0};  // logical shape; n[dim-1] is the row axis
    std::int64_t W = 0;           // columns per colour = n[dim-1] / 2
    std::int64_t rows = 0;        // product of the leading sides

    SYMBREAK_HD std::int64_t sites_per_colour() const { return rows * W; }
    SYMBREAK_HD std::int64_t sites() const { return 2 * rows * W; }
    SYMBREAK_HD int coordination() const { return 2 * dim; }

    SYMBREAK_HD int row_parity(std::int64_t r) const
    {
        if (dim == 2) return static_cast<int>(r & 1);
        return static_cast<int>(((r / n[1]) + (r % n[1])) & 1);
    }

    // Rows adjacent to r along the leading axes (2 in 2D, 4 in 3D), with periodic wrap.
    SYMBREAK_HD int adjacent_rows(std::int64_t r, std::int64_t out[4]) const
    {
        if (dim == 2) {
            out[0] = (r == 0) ? n[0] - 1 : r - 1;
            out[1] = (r == n[0] - 1) ? 0 : r + 1;
            return 2;
        }
        const std::int64_t z = r / n[1], y = r % n[1];
        out[0] = z * n[1] + ((y == 0) ? n[1] - 1 : y - 1);
        out[1] = z * n[1] + ((y == n[1] - 1) ? 0 : y + 1);
        out[2] = ((z == 0) ? n[0] - 1 : z - 1) * n[1] + y;
        out[3] = ((z == n[0] - 1) ? 0 : z + 1) * n[1] + y;
        return 4;
    }

    // Column of the second same-row neighbour (the first is j itself), with periodic wrap.
    SYMBREAK_HD std::int64_t side_column(int colour, std::int64_t r, std::int64_t j) const
    {
        const int q = colour ^ row_parity(r);
        if (q) return (j == W - 1) ? 0 : j + 1;
        return (j == 0) ? W - 1 : j - 1;
    }

    // Offsets (within colour 1 - c) of the 2*dim neighbours of site (c, r, j); returns their count.
    SYMBREAK_HD int neighbours(int colour, std::int64_t r, std::int64_t j, std::int64_t out[6]) const
    {
        std::int64_t adj[4];
        const int na = adjacent_rows(r, adj);
        out[0] = r * W + j;
        out[1] = r * W + side_column(colour, r, j);
        for (int a = 0; a < na; ++a) out[2 + a] = adj[a] * W + j;
        return 2 + na;
    }

    // Logical C-order index of site (c, r, j), and back.
    SYMBREAK_HD std::int64_t logical_index(int colour, std::int64_t r, std::int64_t j) const
    {
        const std::int64_t x = 2 * j + (colour ^ row_parity(r));
        return r * n[dim - 1] + x;
    }
    SYMBREAK_HD void storage_of(std::int64_t logical, int& colour, std::int64_t& r, std::int64_t& j) const
    {
        const std::int64_t L = n[dim - 1];
        r = logical / L;
        const std::int64_t x = logical % L;
        colour = static_cast<int>((x + row_parity(r)) & 1);
        j = x / 2;
    }
    // Flat offset of a logical site in the storage (colour-major).
    SYMBREAK_HD std::int64_t storage_index(std::int64_t logical) const
    {
        int colour;
        std::int64_t r, j;
        storage_of(logical, colour, r, j);
        return colour * sites_per_colour() + r * W + j;
    }
};

// A plain periodic lattice in C order (1D, 2D or 3D), used by the XY rotors: site s has coordinates
// (s / (n1 n2), s / n2 % n1, s % n2) for 3D, and 2·dim neighbours.
struct PeriodicGrid {
    int dim = 2;
    std::int64_t n[3] = {1, 1, 1};

    SYMBREAK_HD std::int64_t sites() const { return n[0] * n[1] * n[2]; }
    SYMBREAK_HD int coordination() const { return 2 * dim; }

    // Neighbour along axis a (0 = slowest) in direction d = ±1. Axes past dim have n = 1 and are unused.
    SYMBREAK_HD std::int64_t shift(std::int64_t s, int a, int d) const
    {
        const std::int64_t stride = a == 0 ? n[1] * n[2] : a == 1 ? n[2] : 1;
        const std::int64_t c = (s / stride) % n[a];
        const std::int64_t cn = d > 0 ? (c + 1 == n[a] ? 0 : c + 1) : (c == 0 ? n[a] - 1 : c - 1);
        return s + (cn - c) * stride;
    }
    // The lattice's axes: for dim < 3 the leading axes of n are 1 and skipped.
    SYMBREAK_HD int first_axis() const { return 3 - dim; }
};

}  // namespace symbreak
