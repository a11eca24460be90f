"""Natural latents: how much a few sites tell about the global state, over the symmetric ensemble.

Below the ordering transition a lattice picks one of its symmetry-related states (a sign for Ising, an angle
for XY), so one block of sites tells what every other block is doing; above it, it does not. The measures here
quantify that from an ensemble of *independent* samples (replicas): a single run below T_c stays in one phase
and would read zero information.

Conventions
-----------
* ``configs`` is an array of samples, shape ``(n, *lattice)``: Ising spins ±1 or XY angles in radians. ``groups``
  (length n) says which samples come from the same replica; error bars treat a replica's samples as one unit.
* The order parameter of a set of sites is Σ s_i (Ising) or Σ e^{iθ_i} (XY), reduced to a discrete value: the
  sign (q = 2 cells) or the angle's bin among ``q`` equal bins of [0, 2π). A zero Ising block sum is split
  symmetrically, half a count to each sign (the expectation of a fair coin, with no added noise).
* Two *distant* blocks: ``block``-sided hypercubes at the origin and at offset L_a / 2 along every axis (the
  farthest apart on the torus).
* Entropies are in bits. The plug-in estimate -Σ p̂ log₂ p̂ has a downward bias of about (m - 1)/(2 n ln 2) for m
  occupied cells and n samples; every entropy here adds that Miller–Madow term back.
* Symmetric ensemble (default): with h = 0 the distribution is invariant under a global flip / rotation by 2π/q,
  so P(a, b) = P_D(b - a mod q) / q and I(A; B) = log₂ q - H(D), H(G | A) = H(G - A mod q). Estimating the one
  distribution of the difference D uses the symmetry exactly (uniform marginals, one histogram of q cells).
  ``symmetric=False`` estimates H(A) + H(B) - H(A, B) from the full joint histogram instead.
* Errors: delete-a-group jackknife over (up to 32) groups of replicas; the value reported is the Miller–Madow
  estimate on all samples. Near I = 0 the plug-in MI is a scaled χ² variable, so the corrected estimate has mean
  0 but is skewed (typically -(m - 1)/(2 n ln 2) ≲ I < 0, e.g. -0.0007 bits for n = 1024) and the jackknife
  error, from a quadratic minimum, understates the spread: read values within (m - 1)/(2 n ln 2) of 0 as 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._validate import require_choice, require_int
from . import exact
from .stats import Estimate

__all__ = ["MODELS", "block_order_parameters", "cells", "entropy_bits", "mutual_information",
           "conditional_entropy", "prediction_accuracy", "sample", "LatentTable", "sweep", "figure"]

MODELS = ("ising", "xy")
T_KT = 0.893  # spec/physics.md
_N_JACKKNIFE = 32


# -- order parameters -------------------------------------------------------------------------------------------
def _check_configs(configs: Any, model: str) -> np.ndarray:
    require_choice("model", model, MODELS)
    c = np.asarray(configs)
    if c.ndim < 2 or c.shape[0] < 2:
        raise ValueError(f"configs must have shape (n_samples >= 2, *lattice), got {c.shape}")
    return c


def block_order_parameters(configs: Any, model: str, block: int) -> dict[str, np.ndarray]:
    """Order parameters of two distant blocks and of the whole lattice, per sample.

    Args:
        configs: samples of shape ``(n, *lattice)`` (Ising spins or XY angles).
        model: ``"ising"`` or ``"xy"``.
        block: side of the hypercubic blocks, 1 <= block <= min(L_a) / 2 (the blocks must not overlap).

    Returns:
        ``{"A": ..., "B": ..., "G": ...}``: Σ s (int) for Ising, Σ e^{iθ} (complex) for XY, each of shape (n,).
    """
    c = _check_configs(configs, model)
    lattice = c.shape[1:]
    block = require_int("block", block, 1, min(lattice) // 2)
    z = c.astype(np.int64) if model == "ising" else np.exp(1j * c.astype(np.float64))
    axes = tuple(range(1, c.ndim))
    a = z[(slice(None),) + tuple(slice(0, block) for _ in lattice)]
    b = z[(slice(None),) + tuple(slice(L // 2, L // 2 + block) for L in lattice)]
    return {"A": a.sum(axis=axes), "B": b.sum(axis=axes), "G": z.sum(axis=axes)}


def cells(values: np.ndarray, model: str, q: int = 8) -> np.ndarray:
    """Discrete order parameter as weights over cells, shape (n, q) (rows sum to 1).

    Ising: q = 2, cell 1 for a positive sum, cell 0 for a negative one, half each for zero. XY: the angle of the
    complex sum in ``q`` equal bins of [0, 2π) (``q`` >= 2).
    """
    require_choice("model", model, MODELS)
    v = np.asarray(values)
    if model == "ising":
        s = np.sign(v).astype(np.float64)
        return np.stack([(1 - s) / 2, (1 + s) / 2], axis=1)  # s = 0 gives (1/2, 1/2)
    q = require_int("q", q, 2, 4096)
    angle = np.mod(np.angle(v), 2 * np.pi)
    idx = np.minimum((angle * (q / (2 * np.pi))).astype(np.int64), q - 1)
    out = np.zeros((v.shape[0], q))
    out[np.arange(v.shape[0]), idx] = 1.0
    return out


def _difference(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """Per-sample distribution of D = (b - a) mod q, given per-sample cell weights of a and b."""
    q = pa.shape[1]
    return np.stack([(pa * np.roll(pb, -d, axis=1)).sum(axis=1) for d in range(q)], axis=1)


# -- estimators ---------------------------------------------------------------------------------------------------
def entropy_bits(counts: np.ndarray, n: float) -> float:
    """Miller–Madow entropy (bits) of a histogram of (possibly fractional) counts from ``n`` samples."""
    c = np.asarray(counts, dtype=np.float64).ravel()
    c = c[c > 1e-12]
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum() + (c.size - 1) / (2 * n * math.log(2)))


def _groups(groups: Any, n: int) -> np.ndarray:
    if groups is None:
        return np.arange(n)
    g = np.asarray(groups)
    if g.shape != (n,):
        raise ValueError(f"groups must have shape ({n},), one replica id per sample, got {g.shape}")
    return g


def _jackknife(stat: Callable[[np.ndarray], float], n: int, groups: Any) -> Estimate:
    """stat(mask) on all samples, with the delete-a-block jackknife error over blocks of whole groups."""
    g = _groups(groups, n)
    _, rank = np.unique(g, return_inverse=True)
    n_groups = int(rank.max()) + 1
    n_blocks = min(_N_JACKKNIFE, n_groups)
    if n_blocks < 2:
        raise ValueError("the error bar needs samples from at least 2 replicas (groups)")
    block = rank * n_blocks // n_groups
    full = stat(np.ones(n, dtype=bool))
    loo = np.array([stat(block != i) for i in range(n_blocks)])
    return Estimate(full, math.sqrt((n_blocks - 1) * np.mean((loo - loo.mean()) ** 2)))


def _mi_from_cells(pa: np.ndarray, pb: np.ndarray, symmetric: bool, groups: Any) -> Estimate:
    n, q = pa.shape
    if symmetric:
        d = _difference(pa, pb)
        return _jackknife(lambda m: math.log2(q) - entropy_bits(d[m].sum(0), m.sum()), n, groups)

    def stat(m: np.ndarray) -> float:
        k = m.sum()
        joint = np.einsum("na,nb->ab", pa[m], pb[m])
        return entropy_bits(pa[m].sum(0), k) + entropy_bits(pb[m].sum(0), k) - entropy_bits(joint, k)

    return _jackknife(stat, n, groups)


def mutual_information(configs: Any, model: str, block: int, *, q: int = 8, symmetric: bool = True,
                       groups: Any = None) -> Estimate:
    """I(A; B) in bits between the discrete order parameters of two distant blocks (see the module notes).

    Example:
        >>> import numpy as np
        >>> up = np.ones((64, 8, 8), dtype=np.int8); up[::2] *= -1   # half the samples up, half down
        >>> round(mutual_information(up, "ising", 2, groups=np.arange(64)).value, 3)
        1.0
    """
    o = block_order_parameters(configs, model, block)
    return _mi_from_cells(cells(o["A"], model, q), cells(o["B"], model, q), symmetric, groups)


def conditional_entropy(configs: Any, model: str, block: int, *, q: int = 8, symmetric: bool = True,
                        groups: Any = None) -> Estimate:
    """H(G | A) in bits: what remains unknown about the global order parameter after seeing one block.

    0 when the block always agrees with the whole lattice; log₂ q when it tells nothing.
    """
    o = block_order_parameters(configs, model, block)
    pg, pa = cells(o["G"], model, q), cells(o["A"], model, q)
    n, qq = pa.shape
    if symmetric:
        d = _difference(pa, pg)
        return _jackknife(lambda m: entropy_bits(d[m].sum(0), m.sum()), n, groups)
    return _jackknife(lambda m: entropy_bits(np.einsum("na,nb->ab", pa[m], pg[m]), m.sum())
                      - entropy_bits(pa[m].sum(0), m.sum()), n, groups)


def prediction_accuracy(configs: Any, model: str, ks: Sequence[int], *, seed: int = 0,
                        groups: Any = None) -> list[Estimate]:
    """How well k observed sites predict the unseen ones, for each k in ``ks``.

    Per sample, the sites are put in a random order; the first k are observed and every site after the largest
    k is predicted. Ising: predict the majority sign of the observed sites (a tied vote scores 1/2); the value
    is the fraction of unseen spins predicted right (1/2 = chance). XY: predict the angle of the observed sites'
    Σ e^{iθ}; the value is the mean cos(θ_unseen - prediction) (0 = chance, 1 = perfect). Errors: the spread of
    per-replica means.
    """
    c = _check_configs(configs, model)
    n, N = c.shape[0], int(np.prod(c.shape[1:]))
    ks = [require_int("k", k, 1, N - 1) for k in ks]
    kmax = max(ks)
    rng = np.random.default_rng(seed)
    order = rng.permuted(np.tile(np.arange(N, dtype=np.int32), (n, 1)), axis=1)
    flat = c.reshape(n, N)
    if model == "ising":
        x = np.take_along_axis(flat, order, axis=1).astype(np.float64)
    else:
        x = np.exp(1j * np.take_along_axis(flat, order, axis=1).astype(np.float64))
    seen = np.cumsum(x[:, :kmax], axis=1)
    unseen = x[:, kmax:].mean(axis=1)
    g = _groups(groups, n)
    _, rank = np.unique(g, return_inverse=True)
    out = []
    for k in ks:
        s = seen[:, k - 1]
        if model == "ising":
            score = np.where(s == 0, 0.5, (1 + np.sign(s) * unseen) / 2)
        else:
            mag = np.abs(s)
            score = np.where(mag > 0, np.real(np.conj(s) * unseen) / np.where(mag > 0, mag, 1), 0.0)
        per_group = np.bincount(rank, weights=score) / np.bincount(rank)
        err = per_group.std(ddof=1) / math.sqrt(per_group.size) if per_group.size > 1 else math.nan
        out.append(Estimate(score.mean(), err))
    return out


# -- sampling -----------------------------------------------------------------------------------------------------
def sample(model: str, shape: tuple[int, ...], T: float, *, replicas: int = 256, samples_per_replica: int = 4,
           burn: int = 300, every: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Equilibrium samples from independent replicas started at random (so the ensemble is symmetric).

    Ising: each unit of ``burn`` / ``every`` is one checkerboard Metropolis sweep followed by one Wolff sweep of
    one cluster (local moves decorrelate fast above T_c, clusters below); replicas start from random spins. XY:
    Metropolis sweeps of the rotor angles (step δ = 1 rad) from ordered starts at uniformly random angles. Returns ``(configs, groups)``: configs of shape (replicas · samples_per_replica,
    *shape), replica-major, and the replica index of each sample.
    """
    from ..lattice import XY, Ising

    require_choice("model", model, MODELS)
    replicas = require_int("replicas", replicas, 2, 2**16)
    samples_per_replica = require_int("samples_per_replica", samples_per_replica, 1)
    burn, every = require_int("burn", burn, 0), require_int("every", every, 1)
    if model == "ising":
        lat = Ising(shape, T, seed=seed, replicas=replicas)

        def advance(n: int) -> None:
            for _ in range(n):
                lat.algorithm = "metropolis"
                lat.sweep(1)
                lat.algorithm = "wolff"
                lat.sweep(1)

        state = lambda: lat.spins  # noqa: E731
    else:
        # Ordered starts at uniformly random angles: a symmetric ensemble that, unlike random starts, has no
        # vortices to anneal out below T_KT (which local moves do slowly).
        start = np.random.default_rng([seed, 1]).uniform(-np.pi, np.pi, replicas)
        lat = XY(shape, T, seed=seed, replicas=replicas,
                 init=np.broadcast_to(start.reshape(-1, *([1] * len(shape))), (replicas, *shape)))
        advance = lat.metropolis
        state = lambda: lat.theta  # noqa: E731
    advance(burn)
    snaps = []
    for _ in range(samples_per_replica):
        advance(every)
        snaps.append(state())
    configs = np.stack(snaps, axis=1).reshape(replicas * samples_per_replica, *shape)
    return configs, np.repeat(np.arange(replicas), samples_per_replica)


# -- temperature sweep --------------------------------------------------------------------------------------------
@dataclass
class LatentTable:
    """One row per temperature: MI, H(G | A) and prediction scores with errors (see ``columns``)."""

    model: str
    shape: tuple[int, ...]
    block: int
    q: int
    ks: list[int]
    rows: list[dict[str, float]] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.rows])

    @property
    def columns(self) -> list[str]:
        return list(self.rows[0]) if self.rows else []

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        lines = [",".join(self.columns)] + [",".join(f"{r[c]:.6g}" for c in self.columns) for r in self.rows]
        path.write_text("\n".join(lines) + "\n")
        return path

    def to_json(self, path: str | Path) -> Path:
        import json

        path = Path(path)
        path.write_text(json.dumps({"model": self.model, "shape": list(self.shape), "block": self.block,
                                    "q": self.q, "ks": self.ks, "rows": self.rows, "meta": self.meta}, indent=1))
        return path

    def __str__(self) -> str:
        head = f"{'T':>7} {'MI [bit]':>16} {'H(G|A) [bit]':>16}" + "".join(f" {'acc k=' + str(k):>16}" for k in self.ks)
        lines = [head]
        for r in self.rows:
            ests = [Estimate(r[c], r[c + "_err"]) for c in ["mi", "h_cond"] + [f"acc_{k}" for k in self.ks]]
            lines.append(f"{r['T']:7.4f}" + "".join(f" {format(e, ''):>16}" for e in ests))
        return "\n".join(lines)


def sweep(model: str, shape: tuple[int, ...], temps: Sequence[float], *, block: int | None = None, q: int = 8,
          ks: Sequence[int] = (1, 4, 16, 64), replicas: int = 256, samples_per_replica: int = 4, burn: int = 300,
          every: int = 20, seed: int = 0, progress: Callable[[int, int], None] | None = None) -> LatentTable:
    """MI of two distant blocks, H(global | block) and prediction accuracy vs k, at each temperature.

    Args:
        model: ``"ising"`` or ``"xy"``. shape: lattice shape. temps: temperatures (> 0).
        block: block side (default: a quarter of the smallest side). q: angle bins (XY; Ising uses 2).
        ks: numbers of observed sites for the prediction accuracy.
        replicas, samples_per_replica, burn, every, seed: see ``sample``; temperature i uses seed + i.
        progress: called as progress(done, total) after each temperature.

    Example:
        >>> table = sweep("ising", (16, 16), [1.8, 3.0], replicas=64, burn=100)   # doctest: +SKIP
        >>> print(table)                                                           # doctest: +SKIP
    """
    require_choice("model", model, MODELS)
    shape = tuple(shape)
    block = block if block is not None else max(1, min(shape) // 4)
    q = 2 if model == "ising" else require_int("q", q, 2, 4096)
    temps = [float(t) for t in temps]
    if not temps or not all(t > 0 and math.isfinite(t) for t in temps):
        raise ValueError(f"temps must be a non-empty list of finite temperatures > 0, got {temps}")
    table = LatentTable(model, shape, block, q, list(ks),
                        meta={"replicas": replicas, "samples_per_replica": samples_per_replica, "burn": burn,
                              "every": every, "seed": seed})
    for i, T in enumerate(temps):
        configs, groups = sample(model, shape, T, replicas=replicas, samples_per_replica=samples_per_replica,
                                 burn=burn, every=every, seed=seed + i)
        mi = mutual_information(configs, model, block, q=q, groups=groups)
        hc = conditional_entropy(configs, model, block, q=q, groups=groups)
        row = {"T": T, "mi": mi.value, "mi_err": mi.error, "h_cond": hc.value, "h_cond_err": hc.error}
        for k, acc in zip(table.ks, prediction_accuracy(configs, model, table.ks, seed=seed + i, groups=groups)):
            row[f"acc_{k}"], row[f"acc_{k}_err"] = acc.value, acc.error
        table.rows.append(row)
        if progress is not None:
            progress(i + 1, len(temps))
    return table


def figure(table: LatentTable, path: str | Path) -> Path:
    """MI and H(G | A) vs T with the transition marked (T_c for 2D Ising, T_KT for 2D XY), and the prediction
    accuracy vs k at every temperature. Needs matplotlib."""
    from ..plot import DPI, _pyplot

    plt = _pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    T = table.column("T")
    ax.errorbar(T, table.column("mi"), table.column("mi_err"), marker="o", label="I(A; B), distant blocks")
    ax.errorbar(T, table.column("h_cond"), table.column("h_cond_err"), marker="s", label="H(G | A)")
    if len(table.shape) == 2:
        tc, name = (exact.TC_2D, "T_c") if table.model == "ising" else (T_KT, "T_KT")
        ax.axvline(tc, color="grey", ls="--", label=f"{name} = {tc:.3f}")
    ax.set_xlabel("T [J]")
    ax.set_ylabel("bits")
    side = "×".join(map(str, table.shape))
    ax.set_title(f"{table.model}: {side}, {table.block}-site blocks, q = {table.q}")
    ax.legend(fontsize=8)
    cmap = plt.get_cmap("coolwarm")
    for j, row in enumerate(table.rows):
        acc = [row[f"acc_{k}"] for k in table.ks]
        err = [row[f"acc_{k}_err"] for k in table.ks]
        bx.errorbar(table.ks, acc, err, marker=".", color=cmap(j / max(1, len(table.rows) - 1)),
                    label=f"T = {row['T']:.3g}")
    bx.set_xscale("log")
    bx.set_xlabel("observed sites k")
    bx.set_ylabel("fraction right" if table.model == "ising" else "⟨cos(θ - prediction)⟩")
    bx.set_title("predicting unseen sites")
    bx.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
