"""Rectangular periodic boxes at the Python boundary: coercion and checks of boxes and per-particle arrays.

Convention: a box is its side lengths ``(Lx, Ly)`` or ``(Lx, Ly, Lz)`` with the origin at 0; positions are (N, d)
arrays wrapped into [0, L) per axis. Arrays may be float32 or float64 and come back as float64 (the analysis
precision). Every check raises ValueError naming the parameter.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _real_array(name: str, value: Any) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    return a.astype(np.float64, copy=False)


def as_box(box: Any, name: str = "box") -> np.ndarray:
    """Box side lengths as a float64 array of shape (d,), d = 2 or 3, every side finite and > 0."""
    b = _real_array(name, box)
    if b.shape not in ((2,), (3,)):
        raise ValueError(f"{name} must be the side lengths (Lx, Ly) or (Lx, Ly, Lz), got shape {b.shape}")
    if not (np.all(np.isfinite(b)) and np.all(b > 0)):
        raise ValueError(f"{name} sides must be finite and > 0, got {b.tolist()}")
    return b


def as_vectors(value: Any, name: str, dim: int | None = None, n: int | None = None) -> np.ndarray:
    """A finite (N, d) float64 array (positions, velocities, forces); checks d against ``dim`` and N against ``n``."""
    a = _real_array(name, value)
    if a.ndim != 2 or a.shape[1] not in (2, 3):
        raise ValueError(f"{name} must have shape (N, 2) or (N, 3), got {a.shape}")
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}) to match the box, got {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} must have {n} rows (one per particle), got {a.shape[0]}")
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argwhere(bad)[0, 0])
        raise ValueError(f"{name} must be finite; row {i} is {a[i].tolist()}")
    return a


def as_positions(positions: Any, box: np.ndarray, name: str = "positions") -> np.ndarray:
    """Positions as float64 (N, d), finite and inside [0, L) of ``box`` (already checked by :func:`as_box`)."""
    p = as_vectors(positions, name, dim=box.shape[0])
    outside = (p < 0) | (p >= box)
    if outside.any():
        i = int(np.argwhere(outside)[0, 0])
        raise ValueError(f"{name} must lie in [0, L) per axis of box={box.tolist()} (use wrap()); "
                         f"{int(outside.any(axis=1).sum())} particle(s) outside, e.g. row {i} = {p[i].tolist()}")
    return p


def as_masses(masses: Any, n: int, name: str = "masses") -> np.ndarray:
    """Masses as a float64 (N,) array (a scalar applies to every particle); every mass finite and > 0."""
    m = _real_array(name, masses)
    if m.ndim == 0:
        m = np.full(n, float(m))
    if m.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {m.shape}")
    if not (np.all(np.isfinite(m)) and np.all(m > 0)):
        raise ValueError(f"{name} must be finite and > 0")
    return m


def wrap(positions: Any, box: Any) -> np.ndarray:
    """Positions (any real values) mapped into [0, L) per axis, as float64.

    ``np.mod`` can return exactly L for a tiny negative input (x + L rounds to L); those become 0.
    """
    b = as_box(box)
    p = as_vectors(positions, "positions", dim=b.shape[0])
    w = np.mod(p, b)
    w[w >= b] = 0.0
    return w


def minimum_image(delta: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Separation vectors (..., d) mapped to their nearest periodic image, components in [-L/2, L/2]."""
    return delta - box * np.round(delta / box)
