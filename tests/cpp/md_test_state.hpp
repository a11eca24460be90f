// Test states for the particle engines: a jittered gas on the shuffled sites of a grid (no two particles closer
// than ~0.85), Gaussian velocities.
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "symbreak/particles/md_cpu.hpp"

namespace symbreak::test {

struct Sys {
    MDSetup s;
    std::vector<double> x, v;
};

// n particles on random sites of a grid at density rho, jittered, at least ~0.85 apart; Gaussian velocities.
inline Sys gas(int dim, int n, double rho, unsigned seed, bool single, PotentialKind kind)
{
    Sys g;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> jitter(-0.5, 0.5);
    std::normal_distribution<double> normal;
    const double side = std::pow(n / rho, 1.0 / dim);
    const int m = static_cast<int>(std::ceil(std::pow(n, 1.0 / dim) - 1e-9));
    const double spacing = side / m;
    int sites = 1;
    for (int d = 0; d < dim; ++d) sites *= m;
    std::vector<int> order(sites);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (int k = 0; k < n; ++k)
        for (int d = 0, r = order[k]; d < dim; ++d, r /= m) {
            g.x.push_back(std::fmod((r % m + 0.5) * spacing + jitter(rng) * (spacing - 0.85) + side, side));
            g.v.push_back(normal(rng));
        }
    g.s.dim = dim;
    g.s.single = single;
    g.s.n = n;
    for (int d = 0; d < dim; ++d) g.s.box[d] = side;
    g.s.pair.kind = kind;
    g.s.pair.r_cut = kind == PotentialKind::soft ? 1.6 : kind == PotentialKind::morse ? 2.2 : 2.5;
    g.s.min_distance = kind == PotentialKind::soft ? 0 : 0.5;
    g.s.seed = seed * 7 + 1;
    return g;
}

}  // namespace symbreak::test
