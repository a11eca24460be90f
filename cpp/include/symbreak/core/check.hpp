// Invariants of the C++ core. A failed requirement throws std::invalid_argument (ValueError in Python);
// a failed runtime operation throws std::runtime_error (RuntimeError). Nothing calls exit() or abort().
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace symbreak {

template <class... Parts>
std::string concat(const Parts&... parts)
{
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}

}  // namespace symbreak

#define SYMBREAK_REQUIRE(cond, ...)                                                 \
    do {                                                                            \
        if (!(cond)) throw std::invalid_argument(::symbreak::concat(__VA_ARGS__)); \
    } while (0)
