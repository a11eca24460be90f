"""Particles in a periodic box: pair potentials, integrators, and the ParticleSystem simulator (C++ core)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .. import _core
from .._backend import resolve_device
from .._validate import require_choice, require_finite, require_int, require_positive
from ..results import RunResult
from ..schedules import Schedule, as_schedule

if TYPE_CHECKING:
    from .trajectory import Frame

_STATE_FORMAT = "symbreak.ParticleSystem/1"
DTYPES = {"float32": np.float32, "float64": np.float64}
INTEGRATORS = ("verlet", "langevin", "damping")


# -- pair potentials (LJ units: energies in ε, lengths in σ) -------------------------------------------------
@dataclass(frozen=True)
class LJ:
    """Lennard-Jones truncated at ``r_cut`` and shifted to V(r_cut) = 0 (LAMMPS ``lj/cut`` with
    ``pair_modify shift yes``). The force jumps by a little at ``r_cut``."""

    epsilon: float = 1.0
    sigma: float = 1.0
    r_cut: float = 2.5
    kind = "lj"

    @property
    def core_distance(self) -> float:
        """Closer pairs are reported as overlaps: V(σ/2) ≈ 16000 ε."""
        return 0.5 * self.sigma


@dataclass(frozen=True)
class LJForceShifted(LJ):
    """LJ with V and the force both shifted to zero at ``r_cut``: smooth, for energy conservation."""

    kind = "lj_force_shifted"


@dataclass(frozen=True)
class Morse:
    """V = ε[e^{-2a(r-r0)} - 2e^{-a(r-r0)}], shifted to zero at ``r_cut``; well depth ε at r0."""

    epsilon: float = 1.0
    a: float = 5.0
    r0: float = 1.0
    r_cut: float = 2.5
    kind = "morse"

    @property
    def core_distance(self) -> float:
        return 0.5 * self.r0


@dataclass(frozen=True)
class SoftCore:
    """A soft core with a short-range, non-directional attraction: with q = 1 - r²/r_cut², V = ε(16q⁴ - 8q²).
    V(0) = 8ε (overlaps are pushed apart, never blow up), well depth ε at r_cut/√2, and V and the force vanish
    smoothly at r_cut."""

    epsilon: float = 1.0
    r_cut: float = 1.5
    kind = "soft"

    @property
    def core_distance(self) -> float:
        return 0.0


Potential = Union[LJ, LJForceShifted, Morse, SoftCore]
POTENTIALS = {"lj": LJ, "lj_force_shifted": LJForceShifted, "morse": Morse, "soft": SoftCore}


def _as_potential(potential: Potential | str) -> Potential:
    if isinstance(potential, str):
        return POTENTIALS[require_choice("potential", potential, tuple(POTENTIALS))]()
    if not isinstance(potential, (LJ, Morse, SoftCore)):
        raise ValueError(f"potential must be one of {', '.join(map(repr, POTENTIALS))} or LJ/LJForceShifted/Morse/"
                         f"SoftCore, got {potential!r}")
    for name, value in asdict(potential).items():
        require_positive(f"potential.{name}", value)
    return potential


class ParticleSystem:
    """N particles in a periodic rectangular box (2D or 3D) with a short-range pair potential.

    Neighbours come from a cell list and a Verlet list with skin, rebuilt only when some particle has moved
    more than skin/2; particles are re-sorted by cell at each rebuild for memory locality. Each particle sums
    its own full neighbour list, so trajectories do not depend on the thread count.

    Integrators (``integrator``):
        ``"verlet"``: velocity Verlet (NVE). ``"langevin"``: BAOAB with friction ``gamma`` at temperature ``T``
        (or a schedule in ``run``); the Gaussian kicks come from Philox keyed by (seed, step, particle).
        ``"damping"``: collisional damping, a momentum-conserving dissipative pair force
        -gamma (1 - r/r_cut)² (r̂·v_ij) r̂ with no noise: energy is lost only in collisions.

    Args:
        positions: (N, d) array inside [0, box), d = 2 or 3.
        velocities: (N, d) array, or None for zero.
        box: d periodic sides, each at least 2 (r_cut + skin).
        potential: ``LJ()`` (default), ``LJForceShifted()``, ``Morse()``, ``SoftCore()`` or their names.
        integrator, gamma, T: see above (gamma >= 0, T >= 0).
        dt: time step > 0. mass: particle mass > 0. skin: Verlet skin > 0.
        seed: Philox seed (Langevin kicks). dtype: ``"float64"`` or ``"float32"`` storage and arithmetic.
        min_distance: pairs closer than this at a list build raise ValueError naming the pair (default: the
            potential's ``core_distance``, σ/2 for LJ; 0 disables the check).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. The GPU engine follows the same rules, cell sort and
            neighbour order as the CPU, so forces agree to round-off (bitwise for LJ and the soft core) and a
            state_dict moves between devices; arrays still come back as numpy. RuntimeError naming the reason
            when CUDA is unavailable.

    Example:
        >>> from symbreak.particles import ParticleSystem
        >>> ps = ParticleSystem.lattice("triangular", (8, 5), density=0.8, T=0.5, seed=1)
        >>> r = ps.run(100, measure_every=50)
        >>> ps.n, len(r)
        (80, 2)
    """

    def __init__(self, positions: Any, velocities: Any = None, box: Any = None, potential: Potential | str = "lj",
                 integrator: str = "verlet", *, dt: float = 0.005, T: float = 1.0, gamma: float = 1.0,
                 mass: float = 1.0, skin: float = 0.3, seed: int = 0, dtype: str = "float64",
                 min_distance: float | None = None, device: str = "cpu"):
        x = np.array(positions, dtype=np.float64, copy=True)
        if x.ndim != 2 or x.shape[1] not in (2, 3) or len(x) < 1:
            raise ValueError(f"positions must have shape (N, 2) or (N, 3) with N >= 1, got {x.shape}")
        n, dim = x.shape
        require_int("number of particles", n, 1, 2**31 - 1)
        if box is None:
            raise ValueError("box is required: the periodic side lengths, one per dimension")
        L = np.asarray(box, dtype=np.float64).reshape(-1)
        if L.shape != (dim,):
            raise ValueError(f"box must have {dim} sides (one per dimension of positions), got {L.shape[0]}")
        for a, side in enumerate(L):
            require_positive(f"box[{a}]", side)
        v = np.zeros_like(x) if velocities is None else np.array(velocities, dtype=np.float64)
        if v.shape != x.shape:
            raise ValueError(f"velocities must have the shape of positions {x.shape}, got {v.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"positions must be finite (particle {int(np.argwhere(~np.isfinite(x))[0, 0])} is not)")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"velocities must be finite (particle {int(np.argwhere(~np.isfinite(v))[0, 0])} is not)")
        self._potential = _as_potential(potential)
        self._skin = require_positive("skin", skin)
        reach = self._potential.r_cut + self._skin
        if np.any(L < 2 * reach):
            raise ValueError(f"every box side must be >= 2 (r_cut + skin) = {2 * reach:g} for the minimum image "
                             f"convention, got box = {L.tolist()}")
        outside = np.argwhere((x < 0) | (x >= L))
        if len(outside):
            i, a = outside[0]
            raise ValueError(f"positions must lie in [0, box) (wrap them with np.mod(positions, box)): particle {i} "
                             f"has coordinate {a} = {float(x[i, a])!r}, box[{a}] = {L[a]}")
        self.integrator, self.dt, self.T, self.gamma = integrator, dt, T, gamma
        self._mass = require_positive("mass", mass)
        self._dtype = DTYPES[require_choice("dtype", dtype, tuple(DTYPES))]
        kind, index = resolve_device(device)
        self._device = kind if kind == "cpu" else f"cuda:{index}"
        self._seed = require_int("seed", seed, 0, 2**64 - 1)
        self._min_distance = (self._potential.core_distance if min_distance is None
                              else _nonnegative("min_distance", min_distance))
        self._box, self._n = L, n
        p = self._potential
        self._core = _core.particles.ParticlesCore(
            dim, self._dtype is np.float32, x, v, L.tolist(), p.kind, p.epsilon, getattr(p, "sigma", 1.0), p.r_cut,
            getattr(p, "a", 5.0), getattr(p, "r0", 1.0), self._skin, self._mass, self._min_distance, self._seed,
            kind, index)

    # -- constructors ------------------------------------------------------------------------------------------
    @classmethod
    def gas(cls, n: int, *, dim: int = 2, density: float = 0.8, T: float = 1.0, min_distance: float = 0.8,
            seed: int = 0, **kwargs: Any) -> "ParticleSystem":
        """A disordered gas of ``n`` particles in a square (cubic) box at number density ``density``: random
        sites of a simple grid, each jittered so that no two particles come closer than ``min_distance``, with
        Maxwell velocities at exactly temperature ``T`` and zero total momentum."""
        n = require_int("n", n, 1, 2**31 - 1)
        dim = require_int("dim", dim, 2, 3)
        rho = require_positive("density", density)
        d_min = _nonnegative("min_distance", min_distance)
        side = (n / rho) ** (1 / dim)
        m = max(1, math.ceil(n ** (1 / dim)))
        spacing = side / m
        if spacing < d_min:
            raise ValueError(f"density {rho:g} is too high for min_distance {d_min:g} (grid spacing {spacing:.3g})")
        rng = np.random.default_rng([require_int("seed", seed, 0, 2**64 - 1), 1])
        sites = rng.choice(m**dim, size=n, replace=False)
        grid = np.stack(np.unravel_index(sites, (m,) * dim), axis=1) + 0.5
        jitter = rng.uniform(-0.5, 0.5, size=(n, dim)) * (spacing - d_min)
        x = np.mod(grid * spacing + jitter, side)
        return cls(x, _maxwell(rng, n, dim, T, kwargs.get("mass", 1.0)), np.full(dim, side), T=T, seed=seed,
                   **kwargs)

    @classmethod
    def lattice(cls, kind: str, cells: tuple[int, ...], *, density: float = 0.8, T: float = 0.0, seed: int = 0,
                **kwargs: Any) -> "ParticleSystem":
        """A perfect crystal: ``"triangular"`` or ``"square"`` in 2D, ``"fcc"`` in 3D, of ``cells`` unit cells
        (a rectangular triangular cell holds 2 particles, an fcc cell 4) at number density ``density``, with
        Maxwell velocities at exactly ``T``."""
        require_choice("kind", kind, ("triangular", "square", "fcc"))
        rho = require_positive("density", density)
        basis, shape = {"square": ([[0, 0]], [1, 1]),
                        "triangular": ([[0, 0], [0.5, 0.5]], [1, math.sqrt(3)]),
                        "fcc": ([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], [1, 1, 1])}[kind]
        basis, shape = np.array(basis, float), np.array(shape)
        dim = len(shape)
        cells = tuple(require_int("cells", c, 1) for c in cells)
        if len(cells) != dim:
            raise ValueError(f"cells must have {dim} entries for a {kind} lattice, got {len(cells)}")
        a = (len(basis) / (rho * np.prod(shape))) ** (1 / dim)  # lattice constant for the density
        grid = np.stack(np.meshgrid(*[np.arange(c) for c in cells], indexing="ij"), axis=-1).reshape(-1, 1, dim)
        x = ((grid + basis) * shape * a).reshape(-1, dim)
        rng = np.random.default_rng([require_int("seed", seed, 0, 2**64 - 1), 1])
        box = np.array(cells) * shape * a
        return cls(np.mod(x, box), _maxwell(rng, len(x), dim, T, kwargs.get("mass", 1.0)), box, T=T, seed=seed,
                   **kwargs)

    # -- parameters --------------------------------------------------------------------------------------------
    integrator = property(lambda self: self._integrator,
                          lambda self, v: setattr(self, "_integrator", require_choice("integrator", v, INTEGRATORS)),
                          doc="'verlet', 'langevin' or 'damping'.")
    dt = property(lambda self: self._dt, lambda self, v: setattr(self, "_dt", require_positive("dt", v)),
                  doc="Time step.")
    T = property(lambda self: self._T, lambda self, v: setattr(self, "_T", _nonnegative("T", v)),
                 doc="Langevin target temperature (k_B = 1).")
    gamma = property(lambda self: self._gamma, lambda self, v: setattr(self, "_gamma", _nonnegative("gamma", v)),
                     doc="Langevin friction (1/time), or the collisional damping coefficient.")

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda:N"``: where the state lives and the steps run."""
        return self._device

    @property
    def n(self) -> int:
        return self._n

    @property
    def dim(self) -> int:
        return len(self._box)

    @property
    def box(self) -> np.ndarray:
        return self._box.copy()

    @property
    def potential(self) -> Potential:
        return self._potential

    @property
    def step(self) -> int:
        return int(self._core.counters()["step"])

    @property
    def time(self) -> float:
        return self.step * self._dt

    @property
    def positions(self) -> np.ndarray:
        """Copy of the positions in [0, box), (N, d) float64, in the order given at construction."""
        return self._core.positions()

    @property
    def velocities(self) -> np.ndarray:
        return self._core.velocities()

    @property
    def forces(self) -> np.ndarray:
        """Forces of the last step (including collisional damping forces when that integrator ran)."""
        return self._core.forces()

    @property
    def counters(self) -> dict:
        """Steps, neighbour-list rebuilds, list stride and mean neighbours per particle (full list, r_cut + skin)."""
        return self._core.counters()

    # -- dynamics ----------------------------------------------------------------------------------------------
    def advance(self, n: int = 1) -> "ParticleSystem":
        """Advance ``n`` steps at the current temperature; returns self."""
        n = require_int("n", n, 0)
        self._core.advance(n, np.full(n, self._T) if self._integrator == "langevin" else None, self._integrator,
                           self._dt, self._gamma, self._gamma, False)
        return self

    def run(self, schedule: Schedule | float | int, *, steps: int | None = None, measure_every: int = 100,
            order: bool = True) -> RunResult:
        """Run along a temperature schedule (one step per entry; only Langevin uses T), measuring every
        ``measure_every`` steps. ``run(1000)`` runs 1000 steps at the current ``T``.

        Returns a RunResult with ``u`` the potential energy per particle, ``m`` = ``abs_m`` the global
        orientational order (|ψ₆| in 2D, Q₆ in 3D; NaN with ``order=False``), and ``extra``: ``kinetic`` (per
        particle), ``T_kin`` (2K / (d(N - 1))), ``e_total`` (per particle), ``pressure`` and ``momentum``
        (|Σ m v|)."""
        if isinstance(schedule, (int, np.integer)) and not isinstance(schedule, bool) and steps is None:
            schedule, steps = self._T, int(schedule)
        sched = as_schedule(schedule, steps)
        k = require_int("measure_every", measure_every, 1)
        values = sched.values
        rows: dict[str, list] = {key: [] for key in ("step", "T", "u", "order", "kinetic", "T_kin", "e_total",
                                                      "pressure", "momentum")}
        langevin = self._integrator == "langevin"
        for a in range(0, len(values), k):
            b = min(a + k, len(values))
            self._core.advance(b - a, values[a:b] if langevin else None, self._integrator, self._dt, self._gamma,
                               self._gamma, b - a == k)
            if b - a < k:
                break  # a partial block at the end is run, not measured
            obs = self.observables(order=order)
            rows["step"].append(self.step)
            rows["T"].append(values[b - 1])
            for key in ("u", "order", "kinetic", "T_kin", "e_total", "pressure", "momentum"):
                rows[key].append(obs[key])
        if len(values):
            self._T = float(values[-1]) if langevin else self._T
        cols = {key: np.asarray(val, dtype=np.float64 if key != "step" else np.int64) for key, val in rows.items()}
        meta = {"n": self.n, "dim": self.dim, "box": self._box.tolist(), "potential": repr(self._potential),
                "integrator": self._integrator, "dt": self._dt, "gamma": self._gamma, "seed": self._seed,
                "device": self._device, "schedule": sched.description, "order": "psi6" if self.dim == 2 else "q6"}
        order_col = cols.pop("order")
        return RunResult(step=cols.pop("step"), T=cols.pop("T"), m=order_col, abs_m=order_col.copy(),
                         u=cols.pop("u"), sites=self.n, meta=meta, extra=cols)

    # -- observables -------------------------------------------------------------------------------------------
    def observables(self, order: bool = True) -> dict[str, float]:
        """Energies per particle, kinetic temperature, pressure (virial), |total momentum| and, with ``order``,
        the global orientational order (|ψ₆| in 2D, Q₆ in 3D)."""
        t = self._core.totals()
        n, d = self.n, self.dim
        volume = float(np.prod(self._box))
        dof = max(d * (n - 1), 1)
        out = {"u": t["potential"] / n, "kinetic": t["kinetic"] / n, "T_kin": 2 * t["kinetic"] / dof,
               "e_total": (t["potential"] + t["kinetic"]) / n,
               "pressure": (2 * t["kinetic"] + t["virial"]) / (d * volume),
               "momentum": float(np.linalg.norm(t["momentum"])), "order": math.nan}
        if order:
            out["order"] = self.order_parameter()
        return out

    def order_parameter(self) -> float:
        """|⟨ψ₆⟩| over all particles (2D, six nearest neighbours) or the global Steinhardt Q₆ (3D)."""
        from ..analysis import structure

        x = self.positions
        if self.dim == 2:
            return float(structure.psi6(x, self._box).order)
        return float(structure.steinhardt_q(x, self._box, l=6).order)

    def frame(self, log: dict[str, float] | None = None) -> "Frame":
        """The current configuration as a trajectory Frame (for ``symbreak.particles.trajectory`` writers)."""
        from .trajectory import Frame

        return Frame(step=self.step, box=self.box, positions=self.positions, velocities=self.velocities,
                     log=dict(log or {}))

    # -- state -------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Parameters, step, and the internal (cell-sorted) arrays: loading it continues bit-identically."""
        return {"format": _STATE_FORMAT, "box": self._box.tolist(), "potential": self._potential.kind,
                "potential_params": asdict(self._potential), "integrator": self._integrator, "dt": self._dt,
                "T": self._T, "gamma": self._gamma, "mass": self._mass, "skin": self._skin, "seed": self._seed,
                "dtype": np.dtype(self._dtype).name, "min_distance": self._min_distance, **self._core.state()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("format") != _STATE_FORMAT:
            raise ValueError(f"state format must be {_STATE_FORMAT!r}, got {state.get('format')!r}")
        mine = {"box": self._box.tolist(), "potential": self._potential.kind,
                "potential_params": asdict(self._potential), "mass": self._mass, "skin": self._skin,
                "seed": self._seed, "dtype": np.dtype(self._dtype).name}
        for key, value in mine.items():
            if state[key] != value:
                raise ValueError(f"state {key} {state[key]!r} does not match this system's {value!r}")
        self.integrator, self.dt, self.T, self.gamma = (state[k] for k in ("integrator", "dt", "T", "gamma"))
        self._core.load({k: state[k] for k in ("x", "v", "f", "x_ref", "tag", "step")})

    def __repr__(self) -> str:
        return (f"ParticleSystem(n={self.n}, box={self._box.tolist()}, potential={self._potential!r}, "
                f"integrator={self._integrator!r}, dt={self._dt:g}, T={self._T:g}, step={self.step}, "
                f"device={self._device!r})")


def _nonnegative(name: str, value: Any) -> float:
    v = require_finite(name, value)
    if v < 0:
        raise ValueError(f"{name} must be >= 0 and finite, got {v}")
    return v


def _maxwell(rng: np.random.Generator, n: int, dim: int, T: float, mass: float) -> np.ndarray:
    """Maxwell velocities with zero total momentum, scaled to kinetic temperature exactly T (dof d(N - 1))."""
    T = _nonnegative("T", T)
    v = rng.standard_normal((n, dim))
    v -= v.mean(axis=0)
    ke2 = float(np.sum(v * v))
    return v * math.sqrt(T * dim * max(n - 1, 1) / (mass * ke2)) if T > 0 and ke2 > 0 else np.zeros((n, dim))
