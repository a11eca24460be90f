// Bindings of the lattice simulators: numpy in, numpy out; the GIL is released while a run computes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "dlpack.hpp"
#include "symbreak/lattice/ising_model.hpp"
#include "symbreak/lattice/xy_model.hpp"

namespace py = pybind11;

namespace symbreak::bindings {
namespace {

IsingAlgorithm parse_algorithm(const std::string& name)
{
    if (name == "metropolis") return IsingAlgorithm::metropolis;
    if (name == "heat_bath") return IsingAlgorithm::heat_bath;
    if (name == "wolff") return IsingAlgorithm::wolff;
    throw std::invalid_argument("algorithm must be 'metropolis', 'heat_bath' or 'wolff', got '" + name + "'");
}

Device parse_device(const std::string& name)
{
    if (name == "cpu") return Device::cpu;
    if (name == "cuda") return Device::cuda;
    throw std::invalid_argument("device must be 'cpu' or 'cuda', got '" + name + "'");
}

std::vector<std::int64_t> logical_shape(const CheckerboardGeometry& g)
{
    return std::vector<std::int64_t>(g.n, g.n + g.dim);
}

// Logical shape of the spins array: (R, sides...) with replicas, (sides...) without.
std::vector<std::int64_t> spins_shape(const IsingModel& m)
{
    std::vector<std::int64_t> s = logical_shape(m.geometry());
    if (m.replicas() > 1) s.insert(s.begin(), m.replicas());
    return s;
}

// Storage shape ([R,] 2, leading sides..., W): colour first, see geometry.hpp.
std::vector<std::int64_t> storage_shape(const IsingModel& m)
{
    const CheckerboardGeometry& g = m.geometry();
    std::vector<std::int64_t> s{2};
    for (int a = 0; a < g.dim - 1; ++a) s.push_back(g.n[a]);
    s.push_back(g.W);
    if (m.replicas() > 1) s.insert(s.begin(), m.replicas());
    return s;
}

// A numpy copy that keeps the element type even when empty.
template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v)
{
    py::array_t<T> out(static_cast<py::ssize_t>(v.size()));
    std::copy(v.begin(), v.end(), out.mutable_data());
    return out;
}

}  // namespace

void bind_lattice(py::module_& m)
{
    auto lat = m.def_submodule("lattice", "Lattice simulators (checkerboard storage, see geometry.hpp)");
    py::class_<IsingModel>(lat, "IsingCore")
        .def(py::init([](const std::vector<std::int64_t>& shape, std::int64_t replicas, const std::string& device,
                         int device_id, std::uint64_t seed) {
                 return IsingModel(shape, replicas, parse_device(device), device_id, seed);
             }),
             py::arg("shape"), py::arg("replicas"), py::arg("device"), py::arg("device_id"), py::arg("seed"))
        .def("randomise", &IsingModel::randomise)
        .def("fill", &IsingModel::fill, py::arg("value"))
        .def(
            "set_spins",
            [](IsingModel& self, py::array_t<std::int8_t, py::array::c_style | py::array::forcecast> a) {
                const auto shape = spins_shape(self);
                bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
                for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = a.shape(i) == shape[i];
                if (!ok) throw std::invalid_argument("spins shape does not match the lattice (and replica count)");
                self.set_spins(a.data());
            },
            py::arg("spins"))
        .def("get_spins",
             [](const IsingModel& self) {
                 py::array_t<std::int8_t> out(spins_shape(self));
                 self.get_spins(out.mutable_data());
                 return out;
             })
        .def("totals",
             [](const IsingModel& self) {
                 py::array_t<std::int64_t> out(std::vector<py::ssize_t>{self.replicas(), 2});
                 {
                     py::gil_scoped_release release;
                     self.totals(out.mutable_data());
                 }
                 return out;
             })
        .def(
            "run",
            [](IsingModel& self, py::array_t<double, py::array::c_style | py::array::forcecast> temperatures,
               std::int64_t measure_every, const std::string& algorithm, double J, double h,
               std::int64_t wolff_clusters) {
                std::vector<double> T(temperatures.data(), temperatures.data() + temperatures.size());
                const IsingParams p{parse_algorithm(algorithm), J, h, wolff_clusters};
                IsingSeries s;
                {
                    py::gil_scoped_release release;
                    s = self.run(T, measure_every, p);
                }
                py::dict out;
                out["step"] = to_numpy(s.step);
                out["T"] = to_numpy(s.temperature);
                out["magnetization"] = to_numpy(s.magnetization);
                out["bonds"] = to_numpy(s.bonds);
                return out;
            },
            py::arg("temperatures"), py::arg("measure_every"), py::arg("algorithm"), py::arg("J"), py::arg("h"),
            py::arg("wolff_clusters") = 1)
        .def_property("step", &IsingModel::step, &IsingModel::set_step)
        .def_property_readonly("seed", &IsingModel::seed)
        .def_property_readonly("replicas", &IsingModel::replicas)
        .def_property_readonly("sites", [](const IsingModel& self) { return self.geometry().sites(); })
        .def_property_readonly("storage_shape", [](const IsingModel& self) { return storage_shape(self); })
        .def("dlpack", [](const IsingModel& self) {
            return to_dlpack(self.buffer(), storage_shape(self), DLDataType{0, 8, 1});
        });

    py::class_<XYModel>(lat, "XYCore")
        .def(py::init([](const std::vector<std::int64_t>& shape, int replicas, bool double_precision,
                         const std::string& device, int device_id, std::uint64_t seed) {
                 return XYModel(shape, replicas, double_precision, parse_device(device), device_id, seed);
             }),
             py::arg("shape"), py::arg("replicas"), py::arg("double_precision"), py::arg("device"),
             py::arg("device_id"), py::arg("seed"))
        .def(
            "set_state",
            [](XYModel& self, py::array theta, py::array omega, double J, double h) {
                const std::size_t n = static_cast<std::size_t>(self.grid().sites() * self.replicas());
                const auto dtype = self.double_precision() ? py::dtype::of<double>() : py::dtype::of<float>();
                for (const py::array* a : {&theta, &omega})
                    if (!a->dtype().is(dtype) || static_cast<std::size_t>(a->size()) != n ||
                        !(a->flags() & py::array::c_style))
                        throw std::invalid_argument("state arrays must be C-contiguous, of the model's dtype and size");
                self.set_state(theta.data(), omega.data(), J, h);
            },
            py::arg("theta"), py::arg("omega"), py::arg("J"), py::arg("h"))
        .def("get_state",
             [](const XYModel& self) {
                 const py::ssize_t n = self.grid().sites() * self.replicas();
                 const auto dtype = self.double_precision() ? py::dtype::of<double>() : py::dtype::of<float>();
                 auto empty = py::module_::import("numpy").attr("empty");
                 py::array theta = empty(n, dtype), omega = empty(n, dtype);
                 self.get_state(theta.mutable_data(), omega.mutable_data());
                 return py::make_tuple(theta, omega);
             })
        .def(
            "run",
            [](XYModel& self, py::array_t<double, py::array::c_style | py::array::forcecast> temperatures,
               std::int64_t measure_every, double dt, double gamma, double I, double J, double h) {
                std::vector<double> T(temperatures.data(), temperatures.data() + temperatures.size());
                XYSeries s;
                {
                    py::gil_scoped_release release;
                    s = self.run(T, measure_every, XYParams{dt, gamma, I, J, h});
                }
                py::dict out;
                out["step"] = to_numpy(s.step);
                out["T"] = to_numpy(s.temperature);
                for (auto [key, v] : {std::pair{"cos_sum", &s.cos_sum}, std::pair{"sin_sum", &s.sin_sum},
                                      std::pair{"bond_sum", &s.bond_sum}, std::pair{"omega2", &s.omega2},
                                      std::pair{"omega2_post_o", &s.omega2_post_o}})
                    out[key] = to_numpy(*v);
                return out;
            },
            py::arg("temperatures"), py::arg("measure_every"), py::arg("dt"), py::arg("gamma"), py::arg("I"),
            py::arg("J"), py::arg("h"))
        .def(
            "measure",
            [](const XYModel& self) {
                const XYSeries s = self.measure(0.0);
                py::dict out;
                for (auto [key, v] : {std::pair{"cos_sum", &s.cos_sum}, std::pair{"sin_sum", &s.sin_sum},
                                      std::pair{"bond_sum", &s.bond_sum}, std::pair{"omega2", &s.omega2}})
                    out[key] = to_numpy(*v);
                return out;
            })
        .def(
            "metropolis",
            [](XYModel& self, std::int64_t sweeps, double T, double J, double h, double delta) {
                py::gil_scoped_release release;
                return self.metropolis(sweeps, T, J, h, delta);
            },
            py::arg("sweeps"), py::arg("T"), py::arg("J"), py::arg("h"), py::arg("delta"))
        .def_property("step", &XYModel::step, &XYModel::set_step)
        .def_property_readonly("seed", &XYModel::seed)
        .def("dlpack", [](const XYModel& self) {  // θ: (R, *shape), or shape when R == 1
            const PeriodicGrid& g = self.grid();
            std::vector<std::int64_t> shape(g.n + 3 - g.dim, g.n + 3);
            if (self.replicas() > 1) shape.insert(shape.begin(), self.replicas());
            const std::uint8_t bits = self.double_precision() ? 64 : 32;
            return to_dlpack(self.theta_buffer(), shape, DLDataType{2, bits, 1});
        });
}

}  // namespace symbreak::bindings
