"""XY rotors with Langevin dynamics on periodic 1D, 2D and 3D lattices, with independent replicas."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._backend import resolve_device
from .._validate import require_choice, require_finite, require_int, require_positive
from ..results import RunResult
from ..schedules import Schedule, as_schedule

_STATE_FORMAT = "symbreak.XY/1"
DTYPES = {"float32": np.float32, "float64": np.float64}


def _require_nonnegative(name: str, value: Any) -> float:
    v = require_finite(name, value)
    if v < 0:
        raise ValueError(f"{name} must be >= 0 and finite, got {v}")
    return v


class XY:
    """Plane rotors θ_i with angular velocities ω_i: H = -J Σ_<ij> cos(θ_i - θ_j) - h Σ_i cos θ_i + ½ I Σ_i ω_i².

    Dynamics: Langevin with friction γ at temperature T, integrated by BAOAB (spec/physics.md); γ = 0 and T = 0
    give the symplectic (NVE) velocity Verlet. Every Gaussian kick comes from Philox keyed by (seed, step) and
    the site's global index replica · N + site, so replica 0 of an ensemble is exactly the single-lattice run,
    and ``device="cuda"`` is built to compute the same θ and ω bit for bit as ``device="cpu"`` (cuda/lattice/xy.cu;
    checked in the CPU emulation of the kernels, not yet on a GPU; the observables' sums agree to round-off).

    Args:
        shape: ``(L,)``, ``(L0, L1)`` or ``(L0, L1, L2)``, sides >= 3, periodic.
        T: temperature (units of J, k_B = 1); >= 0, settable at any time.
        gamma: friction γ >= 0 (1/time). dt: time step > 0. I: inertia > 0. J: coupling. h: field.
        replicas: R >= 1 independent lattices advanced together (one C++ call for all of them).
        seed: Philox seed; also seeds the ``"random"`` initial angles and Maxwellian ω.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``: where θ, ω and τ live and the steps run.
        dtype: ``"float64"`` or ``"float32"`` state. float32 also computes in float (float sincos and its own
            24-bit Box–Muller kicks, four sites per Philox call): about 2.5× faster on AVX-512, and a different
            trajectory from float64 for the same seed.
        init: ``"random"`` (uniform θ, Maxwellian ω at T), ``"ordered"`` (θ = 0, Maxwellian ω) or an array of
            angles of shape ``shape`` or ``(replicas, *shape)``.

    Example:
        >>> from symbreak.lattice import XY
        >>> xy = XY((32, 32), T=0.3, gamma=1.0, dt=0.1, seed=1, init="ordered")
        >>> r = xy.run(0.3, steps=200, measure_every=10)
        >>> bool(r.abs_m[-1] > 0.8)
        True
    """

    def __init__(self, shape: tuple[int, ...], T: float = 0.5, *, gamma: float = 1.0, dt: float = 0.05,
                 I: float = 1.0, J: float = 1.0, h: float = 0.0, replicas: int = 1, seed: int = 0,
                 device: str = "cpu", dtype: str = "float64", init: str | np.ndarray = "random"):
        try:
            self._shape = tuple(require_int("shape side", s, 3, 2**31) for s in shape)
        except TypeError:
            raise ValueError(f"shape must be a tuple of 1 to 3 sides, got {shape!r}") from None
        if not 1 <= len(self._shape) <= 3:
            raise ValueError(f"shape must have 1, 2 or 3 sides, got {len(self._shape)}")
        self.T, self.gamma, self.dt, self.I, self.J, self.h = T, gamma, dt, I, J, h
        self._replicas = require_int("replicas", replicas, 1, 2**20)
        self._dtype = DTYPES[require_choice("dtype", dtype, tuple(DTYPES))]
        kind, index = resolve_device(device)
        self._device, self._device_index = kind, index
        seed = require_int("seed", seed, 0, 2**64 - 1)
        self._core = _core.lattice.XYCore(list(self._shape), self._replicas, self._dtype is np.float64, kind, index,
                                          seed)
        self._set_initial(init, seed)

    # -- parameters --------------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def device(self) -> str:
        return self._device if self._device == "cpu" else f"cuda:{self._device_index}"

    @property
    def sites(self) -> int:
        return int(np.prod(self._shape))

    @property
    def replicas(self) -> int:
        return self._replicas

    @property
    def step(self) -> int:
        """Time steps (and Metropolis sweeps) taken since creation; keys the random numbers."""
        return self._core.step

    @property
    def seed(self) -> int:
        return self._core.seed

    T = property(lambda self: self._T, lambda self, v: setattr(self, "_T", _require_nonnegative("T", v)),
                 doc="Temperature (>= 0).")
    gamma = property(lambda self: self._gamma,
                     lambda self, v: setattr(self, "_gamma", _require_nonnegative("gamma", v)), doc="Friction γ.")
    dt = property(lambda self: self._dt, lambda self, v: setattr(self, "_dt", require_positive("dt", v)))
    I = property(lambda self: self._I, lambda self, v: setattr(self, "_I", require_positive("I", v)))
    J = property(lambda self: self._J, lambda self, v: setattr(self, "_J", require_finite("J", v)))
    h = property(lambda self: self._h, lambda self, v: setattr(self, "_h", require_finite("h", v)))

    # -- dynamics ----------------------------------------------------------------------------------------------
    def advance(self, n: int = 1) -> "XY":
        """Advance ``n`` BAOAB steps at the current temperature; returns self."""
        self._core.run(np.full(require_int("n", n, 0), self._T), 0, self._dt, self._gamma, self._I, self._J, self._h)
        return self

    def run(self, schedule: Schedule | float, *, steps: int | None = None, measure_every: int = 1) -> RunResult:
        """Follow a temperature schedule, one time step per schedule step, measuring every ``measure_every`` steps.

        Returns a RunResult: ``m`` and ``abs_m`` are |Σ e^{iθ}| / N, ``u`` the potential energy per site, and
        ``extra`` holds ``m_angle`` (radians), ``kinetic`` (½ I ⟨ω²⟩ per site) and ``T_kin`` (I ⟨ω²⟩ right after
        the O step: equals T in equilibrium without time-step bias). With replicas the columns are (n, R).
        """
        sched = as_schedule(schedule, steps)
        out = self._core.run(sched.values, require_int("measure_every", measure_every, 1), self._dt, self._gamma,
                             self._I, self._J, self._h)
        self._T = float(sched.values[-1])
        cols = self._observables(out)
        cols["T_kin"] = self._I * self._per_replica(out["omega2_post_o"]) / self.sites
        meta = {"shape": list(self._shape), "replicas": self._replicas, "J": self._J, "h": self._h, "I": self._I,
                "gamma": self._gamma, "dt": self._dt, "seed": self.seed, "device": self.device,
                "schedule": sched.description}
        m = cols.pop("abs_m")
        return RunResult(step=out["step"], T=out["T"], m=m, abs_m=m, u=cols.pop("u"), sites=self.sites, meta=meta,
                         extra=cols)

    def metropolis(self, sweeps: int, *, delta: float = 1.0) -> float:
        """Metropolis Monte Carlo sweeps at the current T (proposals θ + δ(2u - 1)): an independent reference
        sampler for equilibrium averages. ω is untouched. Returns the acceptance rate. On CUDA the sweeps run on
        the CPU on a copy of θ (the same numbers as on ``device="cpu"``), which is copied back."""
        return self._core.metropolis(require_int("sweeps", sweeps, 0), require_positive("T", self._T), self._J,
                                     self._h, require_positive("delta", delta))

    # -- observables -------------------------------------------------------------------------------------------
    def _per_replica(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        return a.reshape(-1, self._replicas)[:, 0] if self._replicas == 1 else a.reshape(-1, self._replicas)

    def _observables(self, sums: dict) -> dict[str, np.ndarray]:
        c, s = self._per_replica(sums["cos_sum"]), self._per_replica(sums["sin_sum"])
        n = self.sites
        return {"abs_m": np.hypot(c, s) / n, "m_angle": np.arctan2(s, c),
                "u": (-self._J * self._per_replica(sums["bond_sum"]) - self._h * c) / n,
                "kinetic": 0.5 * self._I * self._per_replica(sums["omega2"]) / n}

    def observables(self) -> dict[str, np.ndarray | float]:
        """Current |m|, its angle, potential and kinetic energy per site (per replica when R > 1)."""
        obs = self._observables({k: v[None] for k, v in self._core.measure().items()})
        return {k: (float(v[0]) if self._replicas == 1 else v[0]) for k, v in obs.items()}

    @property
    def theta(self) -> np.ndarray:
        """Copy of the angles in [-π, π): shape ``shape`` (or ``(replicas, *shape)``)."""
        return self._reshape(self._core.get_state()[0])

    @property
    def omega(self) -> np.ndarray:
        """Copy of the angular velocities, shaped like ``theta``."""
        return self._reshape(self._core.get_state()[1])

    def _reshape(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(self._shape if self._replicas == 1 else (self._replicas, *self._shape))

    # -- zero-copy access --------------------------------------------------------------------------------------
    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None, copy: Any = None):
        """The live angles θ in [-π, π) without a copy (``torch.from_dlpack(xy)``, ``np.from_dlpack(xy)`` on the
        CPU): the model's dtype, shape ``shape`` (``(replicas, *shape)`` when R > 1), C order, on the model's
        device. Every run ends synchronised, so any consumer stream may read it. Writes through the view skip the
        torque update: assign ``load_state_dict`` instead."""
        return self._core.dlpack()

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0) if self._device == "cpu" else (2, self._device_index)

    # -- state -------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Parameters, step count, angles and velocities (numpy): loading it, on either device, continues
        bit-identically."""
        theta, omega = self._core.get_state()
        return {"format": _STATE_FORMAT, "shape": list(self._shape), "replicas": self._replicas, "T": self._T,
                "gamma": self._gamma, "dt": self._dt, "I": self._I, "J": self._J, "h": self._h, "seed": self.seed,
                "dtype": np.dtype(self._dtype).name, "step": self.step, "theta": theta, "omega": omega}

    def load_state_dict(self, state: dict) -> None:
        if state.get("format") != _STATE_FORMAT:
            raise ValueError(f"state format must be {_STATE_FORMAT!r}, got {state.get('format')!r}")
        for key, mine in (("shape", list(self._shape)), ("replicas", self._replicas), ("seed", self.seed),
                          ("dtype", np.dtype(self._dtype).name)):
            if state[key] != mine:
                raise ValueError(f"state {key} {state[key]!r} does not match this lattice's {mine!r}")
        self.T, self.gamma, self.dt, self.I, self.J, self.h = (state[k] for k in ("T", "gamma", "dt", "I", "J", "h"))
        self._core.set_state(np.ascontiguousarray(state["theta"], self._dtype),
                             np.ascontiguousarray(state["omega"], self._dtype), self._J, self._h)
        self._core.step = require_int("step", state["step"], 0)

    def _set_initial(self, init: Any, seed: int) -> None:
        # Replica r draws from its own generator (seed, r): its start does not depend on the replica count.
        rngs = [np.random.default_rng([seed, r]) for r in range(self._replicas)]
        size = (self._replicas, self.sites)
        if isinstance(init, str):
            require_choice("init", init, ("random", "ordered"))
            theta = (np.stack([g.uniform(-np.pi, np.pi, self.sites) for g in rngs]) if init == "random"
                     else np.zeros(size))
        else:
            a = np.asarray(init, dtype=np.float64)
            if a.shape not in (self._shape, (self._replicas, *self._shape)) or not np.all(np.isfinite(a)):
                raise ValueError(f"init array must be finite angles of shape {self._shape} or "
                                 f"{(self._replicas, *self._shape)}, got {a.shape}")
            theta = np.broadcast_to(a.reshape(-1, self.sites), size)
        theta = np.mod(theta + np.pi, 2 * np.pi) - np.pi
        omega = (np.stack([g.normal(0.0, np.sqrt(self._T / self._I), self.sites) for g in rngs]) if self._T > 0
                 else np.zeros(size))
        self._core.set_state(np.ascontiguousarray(theta, self._dtype).ravel(),
                             np.ascontiguousarray(omega, self._dtype).ravel(), self._J, self._h)

    def __repr__(self) -> str:
        return (f"XY(shape={self._shape}, T={self._T:g}, gamma={self._gamma:g}, dt={self._dt:g}, "
                f"replicas={self._replicas}, device={self.device!r}, step={self.step})")
