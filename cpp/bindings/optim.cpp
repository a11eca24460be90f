// Bindings of the fused optimizer steps: tensors arrive as data pointers (ints) with numels and a dtype code,
// so the core never includes torch. python/symbreak/optim/_fused.py builds these lists from torch tensors.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "symbreak/core/launch.hpp"
#include "symbreak/optim/ecd_cpu.hpp"

namespace py = pybind11;

namespace symbreak::bindings {
namespace {

template <class T>
std::vector<T*> as_pointers(const std::vector<std::uintptr_t>& v)
{
    std::vector<T*> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = reinterpret_cast<T*>(v[i]);
    return out;
}

EcdHyper parse_hyper(const py::dict& hyper)
{
    return {hyper["eta"].cast<double>(),          hyper["F0"].cast<double>(),
            hyper["nu"].cast<double>(),           hyper["s"].cast<double>(),
            hyper["delta_energy"].cast<double>(), hyper["eps1"].cast<double>(),
            hyper["eps2"].cast<double>(),         hyper["conserve_energy"].cast<bool>(),
            hyper["global_projection"].cast<bool>()};
}

int parse_kind(const std::string& kind)
{
    if (kind == "ecd") return 0;
    if (kind == "ecdsep") return 1;
    throw std::invalid_argument("kind must be 'ecd' or 'ecdsep', got '" + kind + "'");
}

std::vector<DType> parse_dtypes(const std::vector<int>& codes)
{
    std::vector<DType> out;
    for (int c : codes) {
        if (c < 0 || c > 2) throw std::invalid_argument("dtype code must be 0 (fp32), 1 (bf16) or 2 (fp16)");
        out.push_back(static_cast<DType>(c));
    }
    return out;
}

}  // namespace

void bind_optim(py::module_& m)
{
    auto opt = m.def_submodule("optim", "Fused steps of the ECD optimizer family");
    opt.def(
        "supports",
        [](const std::string& name, const std::string& device) {
            const bool family = name == "ecd" || name == "ecdsep";
            return family && (device == "cpu" || (device == "cuda" && cuda::compiled()));
        },
        py::arg("name"), py::arg("device_type"), "Whether a fused step exists for this optimizer and device type.");
    opt.attr("GLOBAL_SLOTS") = static_cast<int>(kSlotCount);
    opt.attr("SUMS_BYTES") = sizeof(EcdSums);
    opt.attr("COEFFS_BYTES") = sizeof(EcdCoeffs);
    opt.def(
        "ecd_step_cpu",
        [](const std::string& kind, const std::vector<std::uintptr_t>& params, const std::vector<int>& param_dtypes,
           const std::vector<std::uintptr_t>& grads, const std::vector<int>& grad_dtypes,
           const std::vector<std::uintptr_t>& momenta, const std::vector<std::int64_t>& numel,
           const std::vector<std::int64_t>& offset, const std::vector<float>& lr, const std::vector<float>& eta,
           const std::vector<float>& weight_decay, const py::dict& hyper, double loss, std::uintptr_t globals,
           std::uint64_t seed, double d_count, const py::object& allreduce) {
            const std::size_t n = params.size();
            for (std::size_t len : {param_dtypes.size(), grads.size(), grad_dtypes.size(), momenta.size(), numel.size(),
                                    offset.size(), lr.size(), eta.size(), weight_decay.size()})
                if (len != n) throw std::invalid_argument("ecd_step_cpu: per-tensor lists must have equal lengths");
            const auto pd = parse_dtypes(param_dtypes), gd = parse_dtypes(grad_dtypes);
            const auto p = as_pointers<void>(params);
            const auto gr = as_pointers<const void>(grads);
            const auto mo = as_pointers<float>(momenta);
            const TensorList t{static_cast<int>(n), p.data(), pd.data(), gr.data(), gd.data(), mo.data(),
                               numel.data(), offset.data(), weight_decay.data()};
            const EcdHyper hp = parse_hyper(hyper);
            const auto k = parse_kind(kind) == 0 ? cpu::EcdKind::ecd : cpu::EcdKind::ecdsep;
            cpu::AllReduce sum_ranks;
            if (!allreduce.is_none())
                sum_ranks = [&allreduce](double* data, std::size_t count) {
                    py::gil_scoped_acquire gil;  // the callable sums the array in place over the process group
                    allreduce(py::array_t<double>({static_cast<py::ssize_t>(count)}, {sizeof(double)}, data,
                                                  py::none()));
                };
            py::gil_scoped_release release;
            cpu::ecd_step(k, t, lr.data(), eta.data(), hp, loss, reinterpret_cast<double*>(globals), seed, d_count,
                          sum_ranks);
        },
        py::arg("kind"), py::arg("params"), py::arg("param_dtypes"), py::arg("grads"), py::arg("grad_dtypes"),
        py::arg("momenta"), py::arg("numel"), py::arg("offset"), py::arg("lr"), py::arg("eta"),
        py::arg("weight_decay"), py::arg("hyper"), py::arg("loss"), py::arg("globals"), py::arg("seed"),
        py::arg("d_count"), py::arg("allreduce") = py::none(),
        "One fused step over raw CPU pointers; `allreduce(array)` sums a float64 array in place over ranks.");
    opt.def(
        "ecd_step_cuda",
        [](const std::string& kind, py::dict tables, py::dict buffers, py::dict hyper, bool first, std::uint64_t seed,
           int device, std::uintptr_t stream, const py::object& allreduce) {
            auto ptr = [](const py::dict& d, const char* key) { return reinterpret_cast<void*>(d[key].cast<std::uintptr_t>()); };
            const cuda::EcdStepTables t{static_cast<void* const*>(ptr(tables, "params")),
                                        static_cast<const int*>(ptr(tables, "param_dtype")),
                                        static_cast<const void* const*>(ptr(tables, "grads")),
                                        static_cast<const int*>(ptr(tables, "grad_dtype")),
                                        static_cast<float* const*>(ptr(tables, "momenta")),
                                        static_cast<const std::int64_t*>(ptr(tables, "numel")),
                                        static_cast<const std::int64_t*>(ptr(tables, "offset")),
                                        static_cast<const float*>(ptr(tables, "lr")),
                                        static_cast<const float*>(ptr(tables, "eta")),
                                        static_cast<const float*>(ptr(tables, "wd")),
                                        static_cast<const int*>(ptr(tables, "chunk_tensor")),
                                        static_cast<const std::int64_t*>(ptr(tables, "chunk_begin")),
                                        static_cast<const int*>(ptr(tables, "chunk_first")),
                                        tables["n_tensors"].cast<int>(), tables["n_chunks"].cast<int>(),
                                        tables["chunk_size"].cast<std::int64_t>()};
            const cuda::EcdStepBuffers b{ptr(buffers, "partial"), ptr(buffers, "sums"), ptr(buffers, "coeffs"),
                                         ptr(buffers, "noise_partial"), ptr(buffers, "norm2"), ptr(buffers, "flag"),
                                         ptr(buffers, "globals"), ptr(buffers, "loss")};
            cuda::DeviceAllReduce sum_ranks;
            if (!allreduce.is_none())  // the GIL stays held: the launches are asynchronous and quick
                sum_ranks = [&allreduce](double* data, std::size_t n) {
                    allreduce(reinterpret_cast<std::uintptr_t>(data), n);
                };
            cuda::ecd_step(t, b, parse_hyper(hyper), parse_kind(kind), first, seed, device, stream, sum_ranks);
        },
        py::arg("kind"), py::arg("tables"), py::arg("buffers"), py::arg("hyper"), py::arg("first"), py::arg("seed"),
        py::arg("device"), py::arg("stream"), py::arg("allreduce") = py::none(),
        "Enqueue one fused step on `stream`; every pointer is device memory (see core/launch.hpp). Sharded, "
        "`allreduce(pointer, n)` sums n float64 of device memory in place over the ranks, on `stream`.");
}

}  // namespace symbreak::bindings
