// One purpose id per stochastic rule. It occupies the top byte of counter word c1 (see philox.hpp), so two
// rules never draw the same numbers even with equal seed, step and element index. Never renumber: saved
// states and published results depend on these values.
#pragma once
#include <cstdint>

namespace symbreak {

enum class RngId : std::uint32_t {
    test = 0,
    ising_init = 1,
    ising_metropolis = 2,
    ising_heat_bath = 3,
    ising_wolff = 4,
    ising_tie = 5,
    ecd_noise = 6,
    ecdsep_noise = 7,
    bbi_bounce = 8,
    xy_langevin = 9,
    xy_metropolis = 10,
    particles_langevin = 11,
};

}  // namespace symbreak
