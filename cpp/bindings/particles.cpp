// Bindings of the particle simulator: float64 numpy arrays in the user's order, in and out; the GIL is
// released while steps compute. device "cpu" or "cuda" picks the engine (md_cpu.hpp or md_cuda.hpp).
// Arguments are validated in python/symbreak/particles (these checks only guard the C++ against shapes that
// would read out of bounds).
#include <optional>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "symbreak/particles/md_cpu.hpp"
#include "symbreak/particles/md_cuda.hpp"

namespace py = pybind11;

namespace symbreak::bindings {
namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Tags = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

PotentialKind parse_potential(const std::string& name)
{
    if (name == "lj") return PotentialKind::lj;
    if (name == "lj_force_shifted") return PotentialKind::lj_force_shifted;
    if (name == "morse") return PotentialKind::morse;
    if (name == "soft") return PotentialKind::soft;
    throw std::invalid_argument("potential must be 'lj', 'lj_force_shifted', 'morse' or 'soft', got '" + name + "'");
}

MDIntegrator parse_integrator(const std::string& name)
{
    if (name == "verlet") return MDIntegrator::verlet;
    if (name == "langevin") return MDIntegrator::langevin;
    if (name == "damping") return MDIntegrator::damping;
    throw std::invalid_argument("integrator must be 'verlet', 'langevin' or 'damping', got '" + name + "'");
}

void require_size(const Array& a, std::int64_t size, const char* name)
{
    if (a.size() != size) throw std::invalid_argument(std::string(name) + " has the wrong number of values");
}

class Particles {
public:
    Particles(int dim, bool single, Array x, Array v, const std::vector<double>& box, const std::string& potential,
              double epsilon, double sigma, double r_cut, double morse_a, double morse_r0, double skin,
              double mass, double min_distance, std::uint64_t seed, const std::string& device, int device_id)
    {
        if (device != "cpu" && device != "cuda")
            throw std::invalid_argument("device must be 'cpu' or 'cuda', got '" + device + "'");
        if (dim != 2 && dim != 3) throw std::invalid_argument("dim must be 2 or 3");
        if (static_cast<int>(box.size()) != dim) throw std::invalid_argument("box must have dim sides");
        setup_.dim = dim;
        setup_.single = single;
        setup_.n = x.size() / dim;
        require_size(x, setup_.n * dim, "positions");
        require_size(v, setup_.n * dim, "velocities");
        std::copy(box.begin(), box.end(), setup_.box);
        setup_.pair = {parse_potential(potential), epsilon, sigma, r_cut, morse_a, morse_r0};
        setup_.skin = skin;
        setup_.mass = mass;
        setup_.min_distance = min_distance;
        setup_.seed = seed;
        engine_ = device == "cuda" ? make_particle_engine_cuda(setup_, x.data(), v.data(), device_id)
                                   : make_particle_engine(setup_, x.data(), v.data());
    }

    void advance(std::int64_t steps, std::optional<Array> T, const std::string& integrator, double dt,
                 double gamma, double damping, bool measure)
    {
        const MDIntegrator kind = parse_integrator(integrator);
        if (T) require_size(*T, steps, "temperatures");
        const double* t = T ? T->data() : nullptr;
        py::gil_scoped_release release;
        engine_->advance(steps, t, kind, dt, gamma, damping, measure);
    }

    py::dict totals()
    {
        MDTotals t;
        {
            py::gil_scoped_release release;
            t = engine_->totals();
        }
        py::dict d;
        d["kinetic"] = t.kinetic;
        d["potential"] = t.potential;
        d["virial"] = t.virial;
        d["momentum"] = std::vector<double>(t.momentum, t.momentum + setup_.dim);
        return d;
    }

    Array read(int field) const
    {
        Array out({static_cast<py::ssize_t>(setup_.n), static_cast<py::ssize_t>(setup_.dim)});
        engine_->read(field, out.mutable_data());
        return out;
    }

    py::dict state() const
    {
        const MDState s = engine_->state();
        auto arr = [&](const std::vector<double>& v) {
            Array a({static_cast<py::ssize_t>(setup_.n), static_cast<py::ssize_t>(setup_.dim)});
            std::copy(v.begin(), v.end(), a.mutable_data());
            return a;
        };
        Tags tag(static_cast<py::ssize_t>(s.tag.size()));
        std::copy(s.tag.begin(), s.tag.end(), tag.mutable_data());
        py::dict d;
        d["x"] = arr(s.x);
        d["v"] = arr(s.v);
        d["f"] = arr(s.f);
        d["x_ref"] = arr(s.x_ref);
        d["tag"] = tag;
        d["step"] = s.step;
        return d;
    }

    void load(const py::dict& d)
    {
        MDState s;
        const std::int64_t size = setup_.n * setup_.dim;
        auto vec = [&](const char* key) {
            const Array a = d[key].cast<Array>();
            require_size(a, size, key);
            return std::vector<double>(a.data(), a.data() + size);
        };
        s.x = vec("x");
        s.v = vec("v");
        s.f = vec("f");
        s.x_ref = vec("x_ref");
        const Tags tag = d["tag"].cast<Tags>();
        s.tag.assign(tag.data(), tag.data() + tag.size());
        s.step = d["step"].cast<std::int64_t>();
        engine_->load(s);
    }

    py::dict counters() const
    {
        const MDCounters c = engine_->counters();
        py::dict d;
        d["step"] = c.step;
        d["rebuilds"] = c.rebuilds;
        d["list_stride"] = c.stride;
        d["mean_neighbours"] = c.mean_neighbours;
        return d;
    }

private:
    MDSetup setup_;
    std::unique_ptr<ParticleEngine> engine_;
};

}  // namespace

void bind_particles(py::module_& m)
{
    auto mod = m.def_submodule("particles", "Particle simulator (cell list + Verlet list MD)");
    mod.def("kernel_isa", &md_kernel_isa);
    py::class_<Particles>(mod, "ParticlesCore")
        .def(py::init<int, bool, Array, Array, const std::vector<double>&, const std::string&, double, double,
                      double, double, double, double, double, double, std::uint64_t, const std::string&, int>(),
             py::arg("dim"), py::arg("single"), py::arg("positions"), py::arg("velocities"), py::arg("box"),
             py::arg("potential"), py::arg("epsilon"), py::arg("sigma"), py::arg("r_cut"), py::arg("morse_a"),
             py::arg("morse_r0"), py::arg("skin"), py::arg("mass"), py::arg("min_distance"), py::arg("seed"),
             py::arg("device") = "cpu", py::arg("device_id") = 0)
        .def("advance", &Particles::advance, py::arg("steps"), py::arg("temperatures"), py::arg("integrator"),
             py::arg("dt"), py::arg("gamma"), py::arg("damping"), py::arg("measure"))
        .def("totals", &Particles::totals)
        .def("positions", [](const Particles& p) { return p.read(0); })
        .def("velocities", [](const Particles& p) { return p.read(1); })
        .def("forces", [](const Particles& p) { return p.read(2); })
        .def("state", &Particles::state)
        .def("load", &Particles::load, py::arg("state"))
        .def("counters", &Particles::counters);
}

}  // namespace symbreak::bindings
