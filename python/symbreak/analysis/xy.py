"""Observables of XY rotor configurations (numpy; work on any array of angles, e.g. ``XY.theta``).

Conventions: angles θ in radians on a periodic lattice, last axes are the lattice (2D for vortices); J = k_B = 1
unless given. The helicity modulus follows spec/physics.md (x = the last axis).
"""

from __future__ import annotations

import numpy as np

from .stats import Estimate, jackknife


def _wrap(x: np.ndarray) -> np.ndarray:
    """Into (-π, π]."""
    return np.pi - np.mod(np.pi - x, 2 * np.pi)


def vortex_map(theta: np.ndarray) -> np.ndarray:
    """Winding number of every plaquette of a periodic 2D lattice (last two axes), as int8 in {-1, 0, 1}.

    Plaquette (i, j) has corners (i, j), (i, j+1), (i+1, j+1), (i+1, j), visited counter-clockwise in (j, i);
    w = (1/2π) Σ wrap(Δθ) with wrap into (-π, π]. On a periodic lattice the windings sum to zero.
    """
    t = np.asarray(theta, dtype=np.float64)
    if t.ndim < 2:
        raise ValueError(f"theta must have at least 2 dimensions (a 2D lattice), got shape {t.shape}")
    a = t
    b = np.roll(t, -1, axis=-1)
    c = np.roll(b, -1, axis=-2)
    d = np.roll(t, -1, axis=-2)
    total = _wrap(b - a) + _wrap(c - b) + _wrap(d - c) + _wrap(a - d)
    return np.rint(total / (2 * np.pi)).astype(np.int8)


def vortex_density(theta: np.ndarray) -> float | np.ndarray:
    """Vortices plus antivortices per plaquette (mean |w| over the last two axes)."""
    w = np.abs(vortex_map(theta)).astype(np.float64)
    return w.mean(axis=(-2, -1))


def helicity_modulus(samples: np.ndarray, T: float, J: float = 1.0, n_blocks: int = 16) -> Estimate:
    """Υ_x = (J/N)⟨Σ cos(θ_i - θ_{i+x})⟩ - (J²/(N T))⟨(Σ sin(θ_i - θ_{i+x}))²⟩ from equilibrium samples.

    Args:
        samples: angles of shape (n_samples, *lattice); x is the last lattice axis.
        T: temperature (> 0). J: coupling. n_blocks: jackknife blocks for the error bar.
    """
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim < 2 or s.shape[0] < n_blocks:
        raise ValueError(f"samples must have shape (n_samples >= {n_blocks}, *lattice), got {s.shape}")
    if not T > 0:
        raise ValueError(f"T must be > 0, got {T}")
    d = s - np.roll(s, -1, axis=-1)
    axes = tuple(range(1, s.ndim))
    N = int(np.prod(s.shape[1:]))
    cos_sum, sin_sum = np.cos(d).sum(axis=axes), np.sin(d).sum(axis=axes)
    value, error = jackknife(lambda c, q: J * c.mean() / N - J * J * (q ** 2).mean() / (N * T), cos_sum, sin_sum,
                             n_blocks=n_blocks)
    return Estimate(value, error)


def correlation_function(theta: np.ndarray) -> np.ndarray:
    """C(r) = ⟨cos(θ_i - θ_{i+r ê})⟩ for r = 0 .. L/2 along every lattice axis, averaged over sites and axes.

    ``theta`` is one configuration (any number of dimensions, equal sides); uses FFTs of e^{iθ}.
    """
    t = np.asarray(theta, dtype=np.float64)
    if len(set(t.shape)) != 1:
        raise ValueError(f"correlation_function needs equal sides, got shape {t.shape}")
    z = np.exp(1j * t)
    L = t.shape[0]
    out = np.zeros(L // 2 + 1)
    for axis in range(t.ndim):
        f = np.fft.fft(z, axis=axis)
        corr = np.fft.ifft(f * np.conj(f), axis=axis).real  # Σ_i cos(θ_{i+r} - θ_i) along this axis
        other = tuple(a for a in range(t.ndim) if a != axis)
        mean = corr.mean(axis=other) / L if other else corr / L
        out += mean[: L // 2 + 1]
    return out / t.ndim
