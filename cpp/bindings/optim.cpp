// Bindings of the fused optimizer steps: tensors arrive as data pointers (ints) with numels and a dtype code,
// so the core never includes torch. python/symbreak/optim/_fused.py builds these lists from torch tensors.
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
    if (kind == "ECD") return 0;
    if (kind == "ECDSep") return 1;
    throw std::invalid_argument("kind must be 'ECD' or 'ECDSep', got '" + kind + "'");
}

}  // namespace

void bind_optim(py::module_& m)
{
    auto opt = m.def_submodule("optim", "Fused steps of the ECD optimizer family");
    opt.def(
        "supports",
        [](const std::string& name, const std::string& device) {
            const bool family = name == "ECD" || name == "ECDSep";
            return family && (device == "cpu" || (device == "cuda" && cuda::compiled()));
        },
        py::arg("name"), py::arg("device_type"), "Whether a fused step exists for this optimizer and device type.");
    opt.attr("GLOBAL_SLOTS") = static_cast<int>(kSlotCount);
    opt.attr("SUMS_BYTES") = sizeof(EcdSums);
    opt.attr("COEFFS_BYTES") = sizeof(EcdCoeffs);
    opt.def(
        "ecd_step_cpu",
        [](const std::string& kind, const std::vector<std::uintptr_t>& params, const std::vector<std::uintptr_t>& grads,
           const std::vector<std::uintptr_t>& momenta, const std::vector<std::int64_t>& numel,
           const std::vector<std::int64_t>& offset, int dtype, const std::vector<float>& lr,
           const std::vector<float>& weight_decay, py::dict hyper, double loss, std::uintptr_t globals,
           std::uint64_t seed) {
            const std::size_t n = params.size();
            if (grads.size() != n || momenta.size() != n || numel.size() != n || offset.size() != n ||
                lr.size() != n || weight_decay.size() != n)
                throw std::invalid_argument("ecd_step_cpu: per-tensor lists must have equal lengths");
            if (dtype < 0 || dtype > 2) throw std::invalid_argument("dtype code must be 0 (fp32), 1 (bf16) or 2 (fp16)");
            const auto p = as_pointers<void>(params);
            const auto gr = as_pointers<const void>(grads);
            const auto mo = as_pointers<float>(momenta);
            TensorList t;
            t.count = static_cast<int>(n);
            t.dtype = static_cast<DType>(dtype);
            t.params = p.data();
            t.grads = gr.data();
            t.momenta = mo.data();
            t.numel = numel.data();
            t.offset = offset.data();
            t.weight_decay = weight_decay.data();
            const EcdHyper hp = parse_hyper(hyper);
            const auto k = parse_kind(kind) == 0 ? cpu::EcdKind::ecd : cpu::EcdKind::ecdsep;
            py::gil_scoped_release release;
            cpu::ecd_step(k, t, lr.data(), hp, loss, reinterpret_cast<double*>(globals), seed);
        },
        py::arg("kind"), py::arg("params"), py::arg("grads"), py::arg("momenta"), py::arg("numel"), py::arg("offset"),
        py::arg("dtype"), py::arg("lr"), py::arg("weight_decay"), py::arg("hyper"), py::arg("loss"),
        py::arg("globals"), py::arg("seed"));
    opt.def(
        "ecd_step_cuda",
        [](const std::string& kind, py::dict tables, py::dict buffers, py::dict hyper, bool first, std::uint64_t seed,
           int device, std::uintptr_t stream) {
            auto ptr = [](const py::dict& d, const char* key) { return reinterpret_cast<void*>(d[key].cast<std::uintptr_t>()); };
            const int dtype = tables["dtype"].cast<int>();
            if (dtype < 0 || dtype > 2) throw std::invalid_argument("dtype code must be 0 (fp32), 1 (bf16) or 2 (fp16)");
            const cuda::EcdStepTables t{ptr(tables, "params"), ptr(tables, "grads"), ptr(tables, "momenta"),
                                        static_cast<const std::int64_t*>(ptr(tables, "numel")),
                                        static_cast<const std::int64_t*>(ptr(tables, "offset")),
                                        static_cast<const float*>(ptr(tables, "lr")),
                                        static_cast<const float*>(ptr(tables, "wd")),
                                        static_cast<const int*>(ptr(tables, "chunk_tensor")),
                                        static_cast<const std::int64_t*>(ptr(tables, "chunk_begin")),
                                        tables["n_tensors"].cast<int>(), tables["n_chunks"].cast<int>(),
                                        tables["chunk_size"].cast<std::int64_t>(), static_cast<DType>(dtype)};
            const cuda::EcdStepBuffers b{ptr(buffers, "partial"), ptr(buffers, "sums"), ptr(buffers, "coeffs"),
                                         ptr(buffers, "noise_partial"), ptr(buffers, "flag"), ptr(buffers, "globals"),
                                         ptr(buffers, "loss")};
            cuda::ecd_step(t, b, parse_hyper(hyper), parse_kind(kind), first, seed, device, stream);
        },
        py::arg("kind"), py::arg("tables"), py::arg("buffers"), py::arg("hyper"), py::arg("first"), py::arg("seed"),
        py::arg("device"), py::arg("stream"),
        "Enqueue one fused step on `stream`; every pointer is device memory (see core/launch.hpp).");
}

}  // namespace symbreak::bindings
