"""The Ising model on periodic square (2D) and simple-cubic (3D) lattices."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import _core
from .._backend import resolve_device
from .._validate import require_choice, require_finite, require_int, require_positive
from ..results import RunResult
from ..schedules import Schedule, as_schedule

ALGORITHMS = ("metropolis", "heat_bath", "wolff")
_STATE_FORMAT = "symbreak.Ising/1"


class Ising:
    """Ising model H = -J Σ_<ij> s_i s_j - h Σ_i s_i with spins ±1, periodic boundaries, k_B = 1.

    Args:
        shape: ``(L0, L1)`` or ``(L0, L1, L2)``; every side even (checkerboard updates), at least 2.
        T: temperature in units of J (> 0); may be changed at any time through ``ising.T``.
        J: coupling (J > 0 ferromagnetic).
        h: external field.
        algorithm: ``"metropolis"`` or ``"heat_bath"`` (checkerboard, CPU and CUDA, bit-identical) or
            ``"wolff"`` (single-cluster, CPU, h = 0 and J > 0; one sweep = ``wolff_clusters`` cluster flips).
        seed: 64-bit seed of every random number (Philox4x32-10, keyed by seed, sweep, colour and site).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        init: ``"random"``, ``"up"``, ``"down"`` or an array of ±1 of the lattice's shape.
        wolff_clusters: cluster flips per Wolff sweep (a fixed count: a state-dependent stopping rule such
            as "until N spins flipped" biases measurements).
        replicas: R independent lattices (1 to 65536) advanced together, one C++ call (one CUDA launch per
            colour) for all of them. Replica r draws the Philox numbers of global site index r·N + site, so
            replica 0 is exactly the lattice ``replicas=1`` gives with the same seed, and every replica has its
            own stream (Wolff: words r·2^34 onwards of each sweep's stream). With R > 1, ``spins`` has shape
            ``(R, *shape)``, observables are arrays of length R and RunResult columns are ``(n, R)``.

    Example:
        >>> from symbreak.lattice import Ising
        >>> ising = Ising((64, 64), T=1.5, seed=1, init="up")
        >>> ising.sweep(100).abs_magnetization > 0.9
        True

    One sweep is one attempted update of every site; ``step`` counts sweeps since creation (it keys the
    random numbers, so a loaded ``state_dict`` continues bit-identically, on either device).
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        T: float = 2.0,
        *,
        J: float = 1.0,
        h: float = 0.0,
        algorithm: str = "metropolis",
        seed: int = 0,
        device: str = "cpu",
        init: str | np.ndarray = "random",
        wolff_clusters: int = 1,
        replicas: int = 1,
    ):
        self._shape = _check_shape(shape)
        self._replicas = require_int("replicas", replicas, 1, 2**16)
        self.T = T
        self.J = J
        self.h = h
        self.algorithm = algorithm
        self.wolff_clusters = wolff_clusters
        seed = require_int("seed", seed, 0, 2**64 - 1)
        self._device, self._device_index = resolve_device(device)
        if self._device == "cpu":
            _check_host_memory(self._shape, self._replicas)
        self._core = _core.lattice.IsingCore(list(self._shape), self._replicas, self._device, self._device_index,
                                             seed)
        self._set_initial(init)

    # -- parameters ---------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def sites(self) -> int:
        return int(np.prod(self._shape))

    @property
    def replicas(self) -> int:
        return self._replicas

    @property
    def device(self) -> str:
        return self._device if self._device == "cpu" else f"cuda:{self._device_index}"

    @property
    def seed(self) -> int:
        return self._core.seed

    @property
    def step(self) -> int:
        """Sweeps done since creation (or as restored by load_state_dict)."""
        return self._core.step

    @property
    def T(self) -> float:
        return self._T

    @T.setter
    def T(self, value: float) -> None:
        self._T = require_positive("T", value)

    @property
    def J(self) -> float:
        return self._J

    @J.setter
    def J(self, value: float) -> None:
        self._J = require_finite("J", value)

    @property
    def h(self) -> float:
        return self._h

    @h.setter
    def h(self, value: float) -> None:
        self._h = require_finite("h", value)

    @property
    def wolff_clusters(self) -> int:
        return self._wolff_clusters

    @wolff_clusters.setter
    def wolff_clusters(self, value: int) -> None:
        self._wolff_clusters = require_int("wolff_clusters", value, 1)

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @algorithm.setter
    def algorithm(self, value: str) -> None:
        self._algorithm = require_choice("algorithm", value, ALGORITHMS)

    # -- dynamics -----------------------------------------------------------------------------------------
    def sweep(self, n: int = 1) -> "Ising":
        """Advance ``n`` sweeps at the current temperature; returns self."""
        n = require_int("n", n, 0)
        self._check_algorithm()
        self._core.run(np.full(n, self._T), 0, self._algorithm, self._J, self._h, self._wolff_clusters)
        return self

    def run(self, schedule: Schedule | float, *, sweeps: int | None = None, measure_every: int = 1) -> RunResult:
        """Follow a temperature schedule, one sweep per schedule step, measuring every ``measure_every`` sweeps.

        Args:
            schedule: a ``symbreak.schedules.Schedule`` or a constant temperature (then ``sweeps`` is required).
            sweeps: number of sweeps for a constant temperature.
            measure_every: sweeps between measurements (the measurement follows the last sweep of each block).

        Returns:
            RunResult with columns step, T, m, abs_m, u (each ``(n, R)`` with R > 1 replicas). Afterwards
            ``self.T`` is the schedule's last temperature.
        """
        sched = as_schedule(schedule, sweeps)
        measure_every = require_int("measure_every", measure_every, 1)
        self._check_algorithm()
        out = self._core.run(sched.values, measure_every, self._algorithm, self._J, self._h, self._wolff_clusters)
        self._T = float(sched.values[-1])
        n = self.sites
        m = self._per_replica(out["magnetization"]) / n
        u = (-self._J * self._per_replica(out["bonds"]) - self._h * self._per_replica(out["magnetization"])) / n
        meta = {"shape": list(self._shape), "replicas": self._replicas, "J": self._J, "h": self._h, "algorithm": self._algorithm,
                "wolff_clusters": self._wolff_clusters, "seed": self.seed, "device": self.device, "schedule": sched.description}
        return RunResult(step=out["step"], T=out["T"], m=m, abs_m=np.abs(m), u=u, sites=n, meta=meta)

    # -- observables --------------------------------------------------------------------------------------
    def _per_replica(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        return a if self._replicas == 1 else a.reshape(-1, self._replicas)

    def _scalar_or_array(self, a: np.ndarray) -> float | np.ndarray:
        return float(a[0]) if self._replicas == 1 else a

    @property
    def magnetization(self) -> float | np.ndarray:
        """Magnetization per spin, Σ s_i / N (an array of R values with replicas)."""
        return self._scalar_or_array(self._core.totals()[:, 0] / self.sites)

    @property
    def abs_magnetization(self) -> float | np.ndarray:
        return abs(self.magnetization)

    @property
    def energy(self) -> float | np.ndarray:
        """Energy per spin in units of J: (-J Σ_<ij> s_i s_j - h Σ s_i) / N (per replica with replicas)."""
        t = self._core.totals()
        return self._scalar_or_array((-self._J * t[:, 1] - self._h * t[:, 0]) / self.sites)

    @property
    def spins(self) -> np.ndarray:
        """A copy of the spins as an int8 array of ``shape`` (``(R, *shape)`` with replicas), C order, ±1."""
        return self._core.get_spins()

    @spins.setter
    def spins(self, value: Any) -> None:
        self._set_initial(value)

    # -- zero-copy access ---------------------------------------------------------------------------------
    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None, copy: Any = None):
        """The live spin storage (int8, shape ``(2, *shape[:-1], shape[-1] // 2)``, with a leading replica axis
        when R > 1) without a copy.

        Index 0 of the first axis is the sub-lattice of sites whose coordinates sum to an even number; along
        the last axis, site x of a row lives at column x // 2 of the sub-lattice of its colour. Use
        ``symbreak.lattice.ising.unpack_storage`` to rebuild the logical lattice from it. Writes through the
        view change the simulation; spins must stay ±1.
        """
        return self._core.dlpack()  # every run ends synchronised, so any consumer stream may read it

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0) if self._device == "cpu" else (2, self._device_index)

    # -- state --------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue this run bit-identically: parameters, step and spins."""
        return {"format": _STATE_FORMAT, "shape": list(self._shape), "replicas": self._replicas, "T": self._T, "J": self._J, "h": self._h,
                "algorithm": self._algorithm, "wolff_clusters": self._wolff_clusters, "seed": self.seed,
                "step": self.step, "spins": self.spins}

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()`` of a lattice with the same shape and seed (any device)."""
        if state.get("format") != _STATE_FORMAT:
            raise ValueError(f"state format must be {_STATE_FORMAT!r}, got {state.get('format')!r}")
        if tuple(state["shape"]) != self._shape:
            raise ValueError(f"state shape {tuple(state['shape'])} does not match this lattice's {self._shape}")
        if int(state.get("replicas", 1)) != self._replicas:  # states saved before replicas existed hold one
            raise ValueError(f"state replicas {state.get('replicas', 1)} differ from this lattice's {self._replicas}")
        if int(state["seed"]) != self.seed:
            raise ValueError(f"state seed {state['seed']} differs from this lattice's seed {self.seed}; "
                             "create the lattice with the saved seed")
        self.T, self.J, self.h, self.algorithm = state["T"], state["J"], state["h"], state["algorithm"]
        self.wolff_clusters = state["wolff_clusters"]
        self._set_initial(np.asarray(state["spins"]))
        self._core.step = require_int("step", state["step"], 0)

    # -- helpers ------------------------------------------------------------------------------------------
    def _check_algorithm(self) -> None:
        if self._algorithm == "wolff":
            if self._device != "cpu":
                raise ValueError("algorithm='wolff' runs on the CPU only; use 'metropolis' or 'heat_bath' on CUDA")
            if self._h != 0.0 or self._J <= 0.0:
                raise ValueError(f"algorithm='wolff' needs h == 0 and J > 0, got h={self._h}, J={self._J}")

    def _set_initial(self, init: Any) -> None:
        if isinstance(init, str):
            require_choice("init", init, ("random", "up", "down"))
            if init == "random":
                self._core.randomise()
            else:
                self._core.fill(1 if init == "up" else -1)
            return
        a = np.asarray(init)
        full = self._shape if self._replicas == 1 else (self._replicas, *self._shape)
        if a.shape not in (self._shape, full):
            raise ValueError(f"init array must have shape {self._shape} or {full}, got {a.shape}")
        if a.dtype.kind not in "biuf" or not np.all((a == 1) | (a == -1)):
            raise ValueError("init array values must all be +1 or -1")
        self._core.set_spins(np.ascontiguousarray(np.broadcast_to(a, full), dtype=np.int8))

    def __repr__(self) -> str:
        reps = f", replicas={self._replicas}" if self._replicas > 1 else ""
        return (f"Ising(shape={self._shape}, T={self._T:g}, J={self._J:g}, h={self._h:g}, "
                f"algorithm={self._algorithm!r}{reps}, device={self.device!r}, step={self.step})")


def unpack_storage(storage: np.ndarray, *, replicas: bool = False) -> np.ndarray:
    """Logical lattice from the checkerboard storage exposed by ``Ising.__dlpack__`` (numpy, any int dtype).

    With ``replicas=True`` the first axis indexes replicas and the result has shape ``(R, *shape)``.
    """
    storage = np.asarray(storage)
    if replicas:
        return np.stack([unpack_storage(s) for s in storage])
    if storage.ndim not in (3, 4) or storage.shape[0] != 2:
        raise ValueError(f"storage must have shape (2, ..., W), got {storage.shape}")
    lead = storage.shape[1:-1]
    L = 2 * storage.shape[-1]
    out = np.empty(lead + (L,), dtype=storage.dtype)
    parity = np.indices(lead).sum(axis=0) % 2
    for colour in (0, 1):
        for q in (0, 1):  # x % 2 == q for rows whose parity makes colour + parity = q (mod 2)
            rows = (parity ^ colour) == q
            out[..., q::2][rows] = storage[colour][rows]
    return out


def _check_shape(shape: Any) -> tuple[int, ...]:
    try:
        sides = tuple(shape)
    except TypeError:
        raise ValueError(f"shape must be a tuple of 2 or 3 even sides, got {shape!r}") from None
    if len(sides) not in (2, 3):
        raise ValueError(f"shape must have 2 or 3 sides (2D or 3D), got {len(sides)}")
    out = tuple(require_int("shape side", s, 2, 2**31) for s in sides)
    if any(s % 2 for s in out):
        raise ValueError(f"every side of shape must be even (checkerboard updates), got {out}")
    return out


def _check_host_memory(shape: tuple[int, ...], replicas: int) -> None:
    need = 2 * replicas * int(np.prod(shape, dtype=np.float64))  # the lattices plus a staging copy during setup
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > total:
        raise ValueError(f"shape {shape} needs about {need / 2**30:.1f} GiB but this machine has "
                         f"{total / 2**30:.1f} GiB of memory")
