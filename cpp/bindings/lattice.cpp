// Bindings of the lattice simulators: numpy in, numpy out; the GIL is released while a run computes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "dlpack.hpp"
#include "symbreak/lattice/ising_model.hpp"

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

// Storage shape (2, leading sides..., W): colour first, see geometry.hpp.
std::vector<std::int64_t> storage_shape(const CheckerboardGeometry& g)
{
    std::vector<std::int64_t> s{2};
    for (int a = 0; a < g.dim - 1; ++a) s.push_back(g.n[a]);
    s.push_back(g.W);
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
        .def(py::init([](const std::vector<std::int64_t>& shape, const std::string& device, int device_id,
                         std::uint64_t seed) { return IsingModel(shape, parse_device(device), device_id, seed); }),
             py::arg("shape"), py::arg("device"), py::arg("device_id"), py::arg("seed"))
        .def("randomise", &IsingModel::randomise)
        .def("fill", &IsingModel::fill, py::arg("value"))
        .def(
            "set_spins",
            [](IsingModel& self, py::array_t<std::int8_t, py::array::c_style | py::array::forcecast> a) {
                const auto shape = logical_shape(self.geometry());
                if (a.ndim() != static_cast<py::ssize_t>(shape.size()))
                    throw std::invalid_argument("spins must have " + std::to_string(shape.size()) + " dimensions");
                for (std::size_t i = 0; i < shape.size(); ++i)
                    if (a.shape(i) != shape[i]) throw std::invalid_argument("spins shape does not match the lattice");
                self.set_spins(a.data());
            },
            py::arg("spins"))
        .def("get_spins",
             [](const IsingModel& self) {
                 py::array_t<std::int8_t> out(logical_shape(self.geometry()));
                 self.get_spins(out.mutable_data());
                 return out;
             })
        .def("totals",
             [](const IsingModel& self) {
                 std::int64_t t[2];
                 {
                     py::gil_scoped_release release;
                     self.totals(t);
                 }
                 return py::make_tuple(t[0], t[1]);
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
        .def_property_readonly("sites", [](const IsingModel& self) { return self.geometry().sites(); })
        .def_property_readonly("storage_shape", [](const IsingModel& self) { return storage_shape(self.geometry()); })
        .def("dlpack", [](const IsingModel& self) {
            return to_dlpack(self.buffer(), storage_shape(self.geometry()), DLDataType{0, 8, 1});
        });
}

}  // namespace symbreak::bindings
