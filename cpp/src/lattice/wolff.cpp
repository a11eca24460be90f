// Wolff single-cluster updates (CPU, serial by nature within a lattice; replicas run in parallel). A sweep is a fixed number of cluster flips: a
// stopping rule that depends on the state (e.g. "until N spins have flipped") would bias measurements,
// since the last cluster of each sweep would be size-biased. Random words come from one Philox stream per sweep,
// keyed by (seed, step), so a resumed run draws exactly what the uninterrupted run would have.
#include <cmath>
#include <vector>

#include "symbreak/lattice/ising_cpu.hpp"

namespace symbreak::cpu {

namespace {

std::int64_t wolff_replica(const CheckerboardGeometry& g, std::int8_t* spins, const double* temperatures,
                           std::int64_t n, std::int64_t clusters_per_sweep, double J, std::uint64_t seed,
                           std::uint64_t step, std::int64_t replica)
{
    const std::int64_t P = g.sites_per_colour(), N = g.sites();
    std::vector<std::int64_t> stack;
    std::int64_t flipped = 0;
    for (std::int64_t sweep = 0; sweep < n; ++sweep) {
        const std::uint32_t add = probability_threshold(1.0 - std::exp(-2.0 * J / temperatures[sweep]));
        PhiloxStream draw{philox_key(seed), RngId::ising_wolff, step + static_cast<std::uint64_t>(sweep),
                          static_cast<std::uint64_t>(replica) * kWolffWordsPerReplica};
        for (std::int64_t c = 0; c < clusters_per_sweep; ++c) {
            const std::int64_t start = static_cast<std::int64_t>(draw.below(static_cast<std::uint64_t>(N)));
            const std::int8_t s0 = spins[start];
            spins[start] = static_cast<std::int8_t>(-s0);
            stack.assign(1, start);
            while (!stack.empty()) {
                const std::int64_t site = stack.back();
                stack.pop_back();
                ++flipped;

                const int colour = static_cast<int>(site / P);
                const std::int64_t r = (site % P) / g.W, j = (site % P) % g.W;
                std::int64_t nb[6];
                const int z = g.neighbours(colour, r, j, nb);
                const std::int64_t other = (1 - colour) * P;
                for (int k = 0; k < z; ++k) {
                    const std::int64_t t = other + nb[k];
                    if (spins[t] == s0 && bernoulli(draw(), add)) {
                        spins[t] = static_cast<std::int8_t>(-s0);
                        stack.push_back(t);
                    }
                }
            }
        }
    }
    return flipped;
}

}  // namespace

std::int64_t ising_wolff(const CheckerboardGeometry& g, std::int8_t* spins, const double* temperatures,
                         std::int64_t n, std::int64_t clusters_per_sweep, double J, std::uint64_t seed,
                         std::uint64_t step, std::int64_t replicas)
{
    std::int64_t flipped = 0;
#pragma omp parallel for schedule(dynamic) reduction(+ : flipped) if (replicas > 1)
    for (std::int64_t r = 0; r < replicas; ++r)
        flipped += wolff_replica(g, spins + r * g.sites(), temperatures, n, clusters_per_sweep, J, seed, step, r);
    return flipped;
}

}  // namespace symbreak::cpu
