// Philox exposed for tests and for users who want the same streams in Python.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "symbreak/rng/philox.hpp"

namespace py = pybind11;

namespace symbreak::bindings {

void bind_rng(py::module_& m)
{
    auto rng = m.def_submodule("rng", "Philox4x32-10, the generator behind every stochastic rule");
    rng.def(
        "philox4x32_10",
        [](std::array<std::uint32_t, 4> counter, std::array<std::uint32_t, 2> key) {
            const Philox4x32 out = philox4x32_10({{counter[0], counter[1], counter[2], counter[3]}}, {key[0], key[1]});
            return std::array<std::uint32_t, 4>{out.v[0], out.v[1], out.v[2], out.v[3]};
        },
        py::arg("counter"), py::arg("key"), "Raw Philox4x32-10 bijection of one 128-bit counter under a 64-bit key.");
    rng.def(
        "words",
        [](std::uint64_t seed, std::uint32_t rng_id, std::uint64_t step, std::uint32_t substep, std::int64_t n) {
            if (n < 0) throw std::invalid_argument("n must be >= 0");
            if (rng_id > 255) throw std::invalid_argument("rng_id must be in [0, 255]");
            py::array_t<std::uint32_t> out(n);
            auto* p = out.mutable_data();
            const PhiloxKey key = philox_key(seed);
            for (std::int64_t b = 0; 4 * b < n; ++b) {
                const Philox4x32 x = philox4x32_10(
                    philox_counter(static_cast<std::uint64_t>(b), substep, static_cast<RngId>(rng_id), step), key);
                for (int l = 0; l < 4 && 4 * b + l < n; ++l) p[4 * b + l] = x.v[l];
            }
            return out;
        },
        py::arg("seed"), py::arg("rng_id"), py::arg("step"), py::arg("substep"), py::arg("n"),
        "The n words element indices 0..n-1 draw under the documented counter layout.");
    rng.def(
        "uniform",
        [](std::uint64_t seed, std::uint64_t step, std::int64_t n, bool double_precision) {
            if (n < 0) throw std::invalid_argument("n must be >= 0");
            py::array_t<double> out(n);
            auto* p = out.mutable_data();
            const PhiloxKey key = philox_key(seed);
            for (std::int64_t i = 0; i < n; ++i) {
                const Philox4x32 x = philox4x32_10(
                    philox_counter(static_cast<std::uint64_t>(i), 0, RngId::test, step), key);
                p[i] = double_precision ? uniform_double(x.v[0], x.v[1]) : uniform_float(x.v[0]);
            }
            return out;
        },
        py::arg("seed"), py::arg("step"), py::arg("n"), py::arg("double_precision") = true,
        "n uniforms in [0, 1): element i uses counter index i.");
    rng.def(
        "normal",
        [](std::uint64_t seed, std::uint64_t step, std::int64_t n, bool double_precision) {
            if (n < 0) throw std::invalid_argument("n must be >= 0");
            py::array_t<double> out(n);
            auto* p = out.mutable_data();
            const PhiloxKey key = philox_key(seed);
            for (std::int64_t b = 0; (double_precision ? 2 : 4) * b < n; ++b) {
                const Philox4x32 x = philox4x32_10(
                    philox_counter(static_cast<std::uint64_t>(b), 1, RngId::test, step), key);
                if (double_precision) {
                    double z[2];
                    normal2_double(x, z[0], z[1]);
                    for (int l = 0; l < 2 && 2 * b + l < n; ++l) p[2 * b + l] = z[l];
                } else {
                    float z[4];
                    normal4_float(x, z);
                    for (int l = 0; l < 4 && 4 * b + l < n; ++l) p[4 * b + l] = z[l];
                }
            }
            return out;
        },
        py::arg("seed"), py::arg("step"), py::arg("n"), py::arg("double_precision") = true,
        "n standard normals by Box-Muller (2 per call in double, 4 in float).");
}

}  // namespace symbreak::bindings
