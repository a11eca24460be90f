// The checkerboard geometry of a test lattice, unchecked (valid shapes only). The library's checked factory is
// in ising_model.cpp, which the emulated tests must not link: it pulls in the real CUDA runtime.
#pragma once
#include <cstdint>
#include <vector>

#include "symbreak/lattice/geometry.hpp"

inline symbreak::CheckerboardGeometry geometry(const std::vector<std::int64_t>& shape)
{
    symbreak::CheckerboardGeometry g;
    g.dim = static_cast<int>(shape.size());
    g.rows = 1;
    for (int a = 0; a < g.dim; ++a) g.n[a] = shape[a];
    for (int a = 0; a < g.dim - 1; ++a) g.rows *= shape[a];
    g.W = shape.back() / 2;
    return g;
}
