// symbreak._core: build information, threading, and the bind_* functions of each part.
#include <omp.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "symbreak/core/launch.hpp"
#include "symbreak/lattice/ising_cpu.hpp"

namespace py = pybind11;

namespace symbreak::bindings {
void bind_rng(py::module_& m);
void bind_lattice(py::module_& m);
void bind_optim(py::module_& m);
void bind_particles(py::module_& m);
}  // namespace symbreak::bindings

namespace {

py::dict build_info()
{
    py::dict d;
    d["version"] = SYMBREAK_VERSION;
    d["compiler"] = std::string(
#if defined(__clang__)
        "clang "
#elif defined(__GNUC__)
        "gcc "
#endif
        __VERSION__);
    d["cxx_flags"] = SYMBREAK_CXX_FLAGS;
    d["simd_dispatch"] = std::string("kernels for x86-64, x86-64-v3 (AVX2), x86-64-v4 (AVX-512), chosen at load time; "
                                     "this CPU runs ") + symbreak::cpu::ising_kernel_isa();
    d["openmp"] = _OPENMP;
    d["cuda_compiled"] = symbreak::cuda::compiled();
    d["cuda_architectures"] = SYMBREAK_CUDA_ARCHS;
    std::string why;
    const int n = symbreak::cuda::device_count(&why);
    d["cuda_device_count"] = n;
    d["cuda_unavailable_reason"] = n > 0 ? std::string() : why;
    d["cuda_devices"] = symbreak::cuda::device_names();
    return d;
}

}  // namespace

PYBIND11_MODULE(_core, m)
{
    m.doc() = "symbreak compiled core (C++/OpenMP, optional CUDA)";
    m.def("build_info", &build_info, "Version, compiler, flags, CUDA build and visible devices.");
    m.def("cuda_device_count", [] {
        std::string why;
        const int n = symbreak::cuda::device_count(&why);
        return py::make_tuple(n, why);
    }, "(number of visible CUDA devices, reason when 0)");
    m.def("set_num_threads", [](int n) { omp_set_num_threads(n); }, py::arg("n"));
    m.def("get_num_threads", [] { return omp_get_max_threads(); });
    symbreak::bindings::bind_rng(m);
    symbreak::bindings::bind_lattice(m);
    symbreak::bindings::bind_optim(m);
    symbreak::bindings::bind_particles(m);
}
