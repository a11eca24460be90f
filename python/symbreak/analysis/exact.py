"""Exact reference results for the Ising model.

Conventions
-----------
* H = -J sum_<ij> s_i s_j - h sum_i s_i, s_i = +-1, nearest neighbours on a periodic
  hypercubic lattice, k_B = 1, K = J / T.  Every site has one bond per axis direction
  (d N bonds in all), so an axis of length 2 carries each of its bonds twice.
* Energies are per spin, u = <H> / N, in units of J (h) for the default J = 1.
  Specific heats are per spin, c = du/dT = (<H^2> - <H>^2) / (N T^2) (dimensionless).
  ``m = sum_i s_i / N``.  Log partition functions are ln Z of the whole lattice.
* Temperatures must be finite and > 0; the closed forms (Onsager, Kaufman) need J > 0 and
  are accurate for 0.5 <= T / J <= 10 (and beyond, short of overflow of exp(2 J / T)).
* Array input T gives array output of the same shape; scalar T gives float.

Sources: Onsager (1944); Kaufman, Phys. Rev. 76, 1232 (1949); Yang (1952).  Complete
elliptic integrals are computed by the arithmetic-geometric mean (no SciPy needed).
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Union

import numpy as np

__all__ = [
    "TC_2D", "TC_3D", "ExactResult", "onsager_energy", "onsager_specific_heat",
    "onsager_magnetization", "kaufman_log_partition", "kaufman_energy",
    "kaufman_specific_heat", "density_of_states", "enumerate_ising",
]

TC_2D: float = 2.0 / math.log(1.0 + math.sqrt(2.0))  #: 2D square lattice, J = 1
TC_3D: float = 4.5115232  #: simple cubic, J = 1
MAX_ENUM_SPINS = 20  #: brute-force density of states: at most 2**20 states
MAX_ROW_SPINS = 10  #: transfer matrix: at most 2**10 states per row

Real = Union[float, np.ndarray]


def _temperature(T: Real) -> np.ndarray:
    t = np.asarray(T, dtype=float)
    if not np.all(np.isfinite(t) & (t > 0)):
        raise ValueError(f"T must be finite and > 0 (0 < T < inf), got {T!r}")
    return t


def _coupling(J: float) -> float:
    if not (np.isfinite(J) and J > 0):
        raise ValueError(f"J must be finite and > 0 for the exact 2D solutions, got {J!r}")
    return float(J)


def _size(L: int) -> int:
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 2:
        raise ValueError(f"L must be an integer >= 2, got {L!r}")
    return int(L)


def _like(x: np.ndarray, T: Real) -> Real:
    x = np.asarray(x, dtype=float).reshape(np.shape(T))
    return float(x) if x.ndim == 0 else x


# --------------------------------------------------------------------------- Onsager
def _ellipke(k: np.ndarray, kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complete elliptic integrals K(k), E(k) of modulus k (k' = sqrt(1 - k^2) > 0), by AGM."""
    a, b = np.ones_like(kp), kp.copy()
    s, w = 0.5 * k**2, 0.5
    for _ in range(64):
        c = 0.5 * (a - b)
        a, b = 0.5 * (a + b), np.sqrt(a * b)
        w *= 2.0
        s = s + w * c**2
        if np.all(c <= 1e-15 * a):
            break
    K = np.pi / (2.0 * a)
    return K, K * (1.0 - s)


def _onsager(T: Real, J: float) -> tuple[np.ndarray, ...]:
    K = _coupling(J) / _temperature(T)
    s, c = np.sinh(2 * K), np.cosh(2 * K)
    d = (s - 1) * (s + 1) / c**2  # 2 tanh^2(2K) - 1, the complementary modulus up to sign
    crit = np.abs(d) < 1e-15  # T == T_c to double precision: c = inf, u = -sqrt(2) J
    kp = np.where(crit, 1.0, np.abs(d))
    K1, E1 = _ellipke(2 * s / c**2, kp)
    return K, s, c, d, crit, K1, E1


def onsager_energy(T: Real, *, J: float = 1.0) -> Real:
    """Energy per spin of the infinite square lattice (units of J); u(T_c) = -sqrt(2) J."""
    K, s, c, d, crit, K1, _ = _onsager(T, J)
    u = -J * (c / s) * (1 + np.where(crit, 0.0, (2 / np.pi) * d * K1))
    return _like(u, T)


def onsager_specific_heat(T: Real, *, J: float = 1.0) -> Real:
    """Specific heat per spin du/dT of the infinite square lattice; inf at T = T_c.

    c = (2/pi) (K coth 2K)^2 {2 K1 - 2 E1 - 2 sech^2(2K) [pi/2 + (2 tanh^2 2K - 1) K1]}.
    """
    K, s, c, d, crit, K1, E1 = _onsager(T, J)
    heat = (2 / np.pi) * (K * c / s) ** 2 * (2 * K1 - 2 * E1 - (np.pi + 2 * d * K1) / c**2)
    return _like(np.where(crit, np.inf, heat), T)


def onsager_magnetization(T: Real, *, J: float = 1.0) -> Real:
    """Spontaneous magnetisation per spin, (1 - sinh(2K)^-4)^(1/8) below T_c, 0 at and above."""
    K = _coupling(J) / _temperature(T)
    x = 1.0 - np.sinh(2 * K) ** -4.0
    return _like(np.where(x > 0, np.abs(x) ** 0.125, 0.0), T)


# --------------------------------------------------------------------------- Kaufman
def _log_factor(x, x1, x2, kind: str):
    """ln f(x) and its first two K-derivatives for f = cosh or sinh, x > 0 (x1, x2 = x', x'')."""
    e = np.exp(-2 * x)
    if kind == "cosh":
        val, r, dr = np.log1p(e), (1 - e) / (1 + e), 4 * e / (1 + e) ** 2
    else:
        val, r, dr = np.log(-np.expm1(-2 * x)), (1 + e) / (1 - e), -4 * e / (1 - e) ** 2
    return (x - math.log(2) + val).sum(-1), (r * x1).sum(-1), (dr * x1**2 + r * x2).sum(-1)


def _kaufman(L: int, T: Real, J: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ln Z, d lnZ/dK and d^2 lnZ/dK^2 of the L x L periodic lattice, flat arrays over T.

    Z = (1/2) (2 sinh 2K)^(N/2) sum_i Z_i, Z_1 = prod_r 2 cosh(L g_(2r+1) / 2), Z_2 the same
    with sinh, Z_3, Z_4 likewise over g_(2r), r = 0 .. L-1 (the factors 2 matter; checked
    against enumeration for L = 2 .. 6, odd L included).
    """
    L = _size(L)
    K = (_coupling(J) / _temperature(T)).reshape(-1, 1)
    N = L * L
    s, c = np.sinh(2 * K), np.cosh(2 * K)
    # k >= 1: cosh g_k = s + 1/s - cos(pi k / L); delta = cosh g_k - 1 > 0 without cancellation
    theta = np.pi * np.arange(1, 2 * L) / L
    delta = (s - 1) * (1 - 1 / s) + 2 * np.sin(theta / 2) ** 2
    sh = np.sqrt(delta * (delta + 2))
    g = np.log1p(delta + sh)
    a1, a2 = 2 * c * (1 - 1 / s**2), 4 * (s - 1 / s) + 8 * (c / s) ** 2 / s
    g1 = a1 / sh
    g2 = (a2 - (1 + delta) * g1**2) / sh
    x, x1, x2 = L * g / 2, L * g1 / 2, L * g2 / 2
    odd, even = slice(0, None, 2), slice(1, None, 2)  # k = 1, 3, ... and k = 2, 4, ...
    q = [_log_factor(x[:, odd], x1[:, odd], x2[:, odd], "cosh"),
         _log_factor(x[:, odd], x1[:, odd], x2[:, odd], "sinh"),
         _log_factor(x[:, even], x1[:, even], x2[:, even], "cosh"),
         _log_factor(x[:, even], x1[:, even], x2[:, even], "sinh")]
    q0, q1, q2 = (np.stack([qi[j] for qi in q], axis=-1) for j in range(3))
    # k = 0: signed gamma_0 = 2 (K - K*), tanh K* = exp(-2K), i.e. gamma_0 = 2K + ln tanh K.
    # Its factor G (cosh or sinh of x0) is kept apart, scaled by exp(-|x0|), with G', G''.
    y = L * (2 * K[:, 0] + np.log(np.tanh(K[:, 0]))) / 2
    y1, y2 = L * (1 + 1 / s[:, 0]), -2 * L * c[:, 0] / s[:, 0] ** 2
    e0 = np.exp(-2 * np.abs(y))
    ch, sn = (1 + e0) / 2, np.sign(y) * (1 - e0) / 2
    one, zero = np.ones_like(y), np.zeros_like(y)
    G = np.stack([one, one, ch, sn], axis=-1)
    G1 = np.stack([zero, zero, sn * y1, ch * y1], axis=-1)
    G2 = np.stack([zero, zero, ch * y1**2 + sn * y2, sn * y1**2 + ch * y2], axis=-1)
    w = q0 + np.stack([zero, zero, np.abs(y), np.abs(y)], axis=-1)
    wmax = w.max(axis=-1, keepdims=True)
    p = np.exp(w - wmax)
    shift = q1[:, :1]  # remove the common large slope before forming the variance
    v = q1 - shift
    R0 = (p * G).sum(-1)
    R1 = (p * (G1 + G * v)).sum(-1) / R0
    R2 = (p * (G2 + 2 * G1 * v + G * (v**2 + q2))).sum(-1) / R0
    K, s, c = K[:, 0], s[:, 0], c[:, 0]
    # ln[(1/2) 2^L (2 sinh 2K)^(N/2)]: the 2^L collects the factors 2 of 2 cosh, 2 sinh
    log_z = (L - 1) * math.log(2) + N / 2 * (2 * K + np.log1p(-np.exp(-4 * K)))
    log_z = log_z + wmax[:, 0] + np.log(R0)
    return log_z, N * c / s + shift[:, 0] + R1, -2 * N / s**2 + R2 - R1**2


def kaufman_log_partition(L: int, T: Real, *, J: float = 1.0) -> Real:
    """ln Z of the exact L x L periodic square lattice (Kaufman 1949), whole lattice."""
    return _like(_kaufman(L, T, J)[0], T)


def kaufman_energy(L: int, T: Real, *, J: float = 1.0) -> Real:
    """Energy per spin u = -(J / N) d lnZ / dK of the exact L x L periodic lattice."""
    return _like(-J * _kaufman(L, T, J)[1] / L**2, T)


def kaufman_specific_heat(L: int, T: Real, *, J: float = 1.0) -> Real:
    """Specific heat per spin c = K^2 d^2 lnZ / dK^2 / N of the exact L x L periodic lattice."""
    K = J / _temperature(T).reshape(-1)
    return _like(K**2 * _kaufman(L, T, J)[2] / L**2, T)


# --------------------------------------------------------------- small lattices
@dataclass(frozen=True)
class ExactResult:
    """Exact thermal averages; floats for scalar T, arrays over T otherwise.

    log_z: ln Z (whole lattice); energy: <H>/N; specific_heat: (<H^2> - <H>^2)/(N T^2);
    abs_magnetization: <|m|>; m2: <m^2>; m4: <m^4>; binder: 1 - <m^4> / (3 <m^2>^2).
    """

    log_z: Real
    energy: Real
    specific_heat: Real
    abs_magnetization: Real
    m2: Real
    m4: Real
    binder: Real


def _shape(shape) -> tuple[int, ...]:
    shape = tuple(shape)
    if len(shape) < 2 or not all(isinstance(n, (int, np.integer)) and n >= 2 for n in shape):
        raise ValueError(f"shape must have >= 2 axes, each an integer >= 2, got {shape!r}")
    return tuple(int(n) for n in shape)


def _enumerable(shape: tuple[int, ...]) -> tuple[int, ...]:
    if math.prod(shape) > MAX_ENUM_SPINS:
        raise ValueError(f"enumeration is limited to {MAX_ENUM_SPINS} spins, shape {shape} has "
                         f"{math.prod(shape)}")
    return shape


def _bonds(spins: np.ndarray, axes: range) -> np.ndarray:
    """sum_<ij> s_i s_j over the periodic axes of spins[state, ...], one value per state."""
    total = sum(spins * np.roll(spins, 1, axis=a) for a in axes)
    return np.reshape(total, (len(spins), -1)).sum(axis=1)


@functools.lru_cache(maxsize=16)
def _dos(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, d = math.prod(shape), len(shape)
    hist = np.zeros((2 * d * n + 1) * (n + 1), dtype=np.int64)
    for start in range(0, 2**n, 1 << 16):
        bits = (np.arange(start, min(2**n, start + (1 << 16)))[:, None] >> np.arange(n)) & 1
        spins = (1 - 2 * bits).astype(np.int8).reshape(-1, *shape)
        b = _bonds(spins, range(1, d + 1)).astype(np.int64)
        hist += np.bincount((b + d * n) * (n + 1) + bits.sum(1), minlength=hist.size)
    nz = np.flatnonzero(hist)
    b, down = np.divmod(nz, n + 1)
    out = (d * n - b, n - 2 * down, hist[nz])
    for a in out:
        a.flags.writeable = False
    return out


def density_of_states(shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact g(E, M) of a small periodic lattice by enumerating all 2**N states (N <= 20).

    Returns (energies, magnetisations, counts), int64 arrays over the occupied (E, M) pairs:
    E = -sum_<ij> s_i s_j (the energy for J = 1, h = 0), M = sum_i s_i, counts summing to 2**N.
    """
    return tuple(a.copy() for a in _dos(_enumerable(_shape(shape))))


def _from_dos(shape, t, h, J):
    e, m, g = _dos(shape)
    n = math.prod(shape)
    H = J * e - h * m
    lw = -np.outer(1 / t, H) + np.log(g)
    top = lw.max(axis=1, keepdims=True)
    w = np.exp(lw - top)
    z = w.sum(axis=1, keepdims=True)
    p = w / z
    u = p @ H
    var = (p * (H - u[:, None]) ** 2).sum(axis=1)
    return (top + np.log(z))[:, 0], u, var, p, m / n


def _transfer(shape, t, h, J):
    """Row-to-row transfer matrix along the longest axis, started from every translation
    class of the first row; tracks <H>, <H^2> (with field) and P(M) (at h = 0, reweighted)."""
    shape = tuple(sorted(shape, reverse=True))
    Lx, cross = shape[0], shape[1:]
    C, S, d = math.prod(cross), 2 ** math.prod(cross), len(shape)
    if C > MAX_ROW_SPINS:
        raise ValueError(f"transfer matrix is limited to rows of {MAX_ROW_SPINS} spins; shape "
                         f"{shape} needs {C} (the product of all but its longest axis)")
    n = Lx * C
    bits = (np.arange(S)[:, None] >> np.arange(C)) & 1
    flat = 1.0 - 2.0 * bits
    horiz = _bonds(flat.reshape(S, *cross), range(1, d))
    ndown = bits.sum(1)
    bonds = flat @ flat.T + horiz[:, None]  # [new row, old row]
    # one representative per orbit of the first row under translations of the cross-section
    index = np.arange(C).reshape(cross)
    canon = np.min([(bits[:, np.roll(index, sh, axis=tuple(range(d - 1))).ravel()]
                     << np.arange(C)).sum(1) for sh in itertools.product(*map(range, cross))],
                   axis=0)
    reps, orbit = np.unique(canon, return_counts=True)
    cols = np.arange(len(reps))
    groups = [(k, ndown == k) for k in range(C + 1)]
    ref = -(abs(J) * d * C + abs(h) * C)  # shift making every row energy E >= 0
    E = -J * bonds - h * (C - 2 * ndown)[:, None] - ref
    out = []
    for beta in 1 / t:
        # energy moments, field included
        W = np.exp(-beta * E)
        WE, WE2 = W * E, W * E**2
        v0, v1, v2 = np.zeros((3, S, len(reps)))
        v0[reps, cols] = 1.0
        log_scale = 0.0
        for _ in range(Lx):
            v0, v1, v2 = W @ v0, WE @ v0 + W @ v1, WE2 @ v0 + 2 * WE @ v1 + W @ v2
            top = v0.max()
            v0, v1, v2, log_scale = v0 / top, v1 / top, v2 / top, log_scale + math.log(top)
        z0, z1, z2 = (orbit @ v[reps, cols] for v in (v0, v1, v2))
        log_z = math.log(z0) + log_scale - beta * Lx * ref
        var = z2 / z0 - (z1 / z0) ** 2
        # distribution of the number of down spins at h = 0
        W0 = np.exp(beta * J * bonds - beta * abs(J) * d * C)
        v = np.zeros((S, len(reps), n + 1))
        v[reps, cols, 0] = 1.0
        for _ in range(Lx):
            tmp = (W0 @ v.reshape(S, -1)).reshape(v.shape)
            v = np.zeros_like(v)
            for k, rows in groups:
                v[rows, :, k:] = tmp[rows, :, : n + 1 - k]
            v /= v.max()
        mv = (n - 2 * np.arange(n + 1)) / n
        lp = np.log(orbit @ v[reps, cols]) + beta * h * n * mv
        p = np.exp(lp - lp.max())
        out.append((log_z, z1 / z0 + Lx * ref, var, p / p.sum()))
    log_z, u, var, p = (np.array(a) for a in zip(*out))
    return log_z, u, var, p, mv


def enumerate_ising(shape, T: Real, h: float = 0.0, J: float = 1.0, *,
                    method: str = "auto") -> ExactResult:
    """Exact thermal averages of a small periodic Ising lattice (any dimension >= 2).

    method: "enumerate" uses the exact density of states (N <= 20 spins, all T at once);
    "transfer" a row transfer matrix along the longest axis (the other axes together at
    most 10 spins, e.g. L x L with L <= 10, 4 x 4 x 2, 3 x 3 x 3); "auto" picks the first
    when N <= 20.  Averages are over the full (symmetric) ensemble, so <m> = 0 at h = 0.
    """
    shape = _shape(shape)
    t = _temperature(T).reshape(-1)
    if not (np.isfinite(h) and np.isfinite(J)):
        raise ValueError(f"h and J must be finite, got h={h!r}, J={J!r}")
    if method not in ("auto", "enumerate", "transfer"):
        raise ValueError(f"method must be 'auto', 'enumerate' or 'transfer', got {method!r}")
    n = math.prod(shape)
    if method == "enumerate" or (method == "auto" and n <= MAX_ENUM_SPINS):
        log_z, u, var, p, mv = _from_dos(_enumerable(shape), t, float(h), float(J))
    else:
        log_z, u, var, p, mv = _transfer(shape, t, float(h), float(J))
    m2, m4 = p @ mv**2, p @ mv**4
    vals = (log_z, u / n, var / (n * t**2), p @ np.abs(mv), m2, m4, 1 - m4 / (3 * m2**2))
    return ExactResult(*(_like(x, T) for x in vals))
