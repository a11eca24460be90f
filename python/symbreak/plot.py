"""Figures of simulation runs (matplotlib, Agg backend, imported only when a figure is drawn).

Install the optional dependency with ``pip install symbreak[plot]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .analysis import exact
from .results import RunResult

__all__ = ["ising_figure", "particles_figure", "xy_figure"]

DPI = 120


def _pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend, or an ImportError saying how to install it."""
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError("figures need matplotlib: pip install symbreak[plot]") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def ising_figure(result: RunResult, snapshots: list[tuple[float, np.ndarray]], path: str | Path, *,
                 snapshot_steps: list[int] | None = None) -> Path:
    """Draw an Ising run: a row of lattice snapshots above |m| and u, saved as a PNG.

    Args:
        result: the run's measurements (``Ising.run`` output, possibly concatenated); ``result.meta`` supplies
            shape, J, h, algorithm, schedule, seed (and optionally sweeps) for the title and reference curves.
        snapshots: ``(T, spins)`` pairs, T in units of J/k_B and spins a 2D or 3D array of ±1 (3D: the slice
            at index 0 of the first axis is shown). May be empty.
        path: where to write the PNG (parent folder must exist).
        snapshot_steps: the sweep count of each snapshot, needed to place them on a constant-T run's time axis.

    Returns:
        ``path`` as a Path.

    An anneal is drawn against T (points joined in measurement order); a constant-T run against sweeps. For a
    2D lattice with h = 0 and J > 0 the exact infinite-lattice values (Onsager's u(T), Yang's M(T)) are
    overlaid, and for h = 0 and J > 0 a dashed line marks the infinite-lattice T_c (2D exact, 3D Monte Carlo).
    """
    plt = _pyplot()
    meta = result.meta
    shape = tuple(meta.get("shape", ()))
    J, h = float(meta.get("J", 1.0)), float(meta.get("h", 0.0))
    ordered = h == 0.0 and J > 0.0
    tc = J * {2: exact.TC_2D, 3: exact.TC_3D}.get(len(shape), np.nan) if ordered else np.nan
    onsager = len(shape) == 2 and ordered
    over_time = len(result) == 0 or result.T.min() == result.T.max()

    n = len(snapshots)
    fig = plt.figure(figsize=(12.0, 8.2 if n else 4.6), layout="constrained")
    rows = fig.subfigures(2, 1, height_ratios=[3.4, 4.2]) if n else [None, fig]
    if n:
        axes = rows[0].subplots(1, n, squeeze=False)[0]
        for i, (ax, (T, spins)) in enumerate(zip(axes, snapshots)):
            spins = np.asarray(spins)
            ax.imshow(spins if spins.ndim == 2 else spins[0], cmap="gray", vmin=-1, vmax=1,
                      interpolation="nearest")
            title = f"sweep {snapshot_steps[i]}" if over_time and snapshot_steps else f"T = {T:.3g}"
            ax.set_title(title + (" (slice 0)" if spins.ndim == 3 else ""), fontsize=11)
            ax.set_xticks([])
            ax.set_yticks([])
        rows[0].suptitle("spins (white +1, black −1)", fontsize=10)
    ax_m, ax_u = rows[1].subplots(1, 2)

    x = result.step if over_time else result.T
    measured = dict(marker="o", ms=2.5, lw=0.8, color="tab:blue", label="simulation")
    ax_m.plot(x, result.abs_m, **measured)
    ax_u.plot(x, result.u, **measured)
    if n and (snapshot_steps or not over_time):
        ax_m.plot(snapshot_steps if over_time else [T for T, _ in snapshots],
                  [abs(float(np.mean(s))) for _, s in snapshots], ls="none", marker="o", ms=8, mfc="none",
                  mec="tab:orange", mew=1.5, label="snapshots (top row)")
    exact_style = dict(color="black", lw=1.6, alpha=0.8)
    if onsager and over_time and len(result):
        T = float(result.T[0])
        ax_m.axhline(exact.onsager_magnetization(T, J=J), label="exact M(T), infinite lattice", **exact_style)
        ax_u.axhline(exact.onsager_energy(T, J=J), label="exact u(T), infinite lattice", **exact_style)
    elif onsager and not over_time:
        grid = np.linspace(result.T.min(), result.T.max(), 600)
        ax_m.plot(grid, exact.onsager_magnetization(grid, J=J), label="exact M(T), infinite lattice", **exact_style)
        ax_u.plot(grid, exact.onsager_energy(grid, J=J), label="exact u(T), infinite lattice", **exact_style)
        if _lags(result, tc, J):
            ax_m.text(0.97, 0.5, "below $T_c$: domains of both signs;\nsingle-spin updates merge them\n"
                      "slowly (~L² sweeps): |m| lags M(T)", transform=ax_m.transAxes, fontsize=8.5,
                      color="0.3", ha="right", va="center", bbox=dict(fc="white", ec="0.8", alpha=0.9))
    for ax in (ax_m, ax_u):
        if not over_time and result.T.min() <= tc <= result.T.max():
            ax.axvline(tc, ls="--", lw=1.0, color="tab:red", label=f"$T_c$ = {tc:.4g}")
        ax.set_xlabel("sweeps" if over_time else "temperature T  [J / k$_B$]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    ax_m.set_ylabel("|m|  (magnetisation per spin)")
    ax_m.set_ylim(-0.03, 1.05)
    ax_u.set_ylabel("u  (energy per spin) [J]")

    sides = "×".join(map(str, shape))
    schedule = str(meta.get("schedule", "")).replace("->", "→")
    sweeps = meta.get("sweeps", int(result.step[-1]) if len(result) else 0)
    fig.suptitle(f"{len(shape)}D Ising {sides}: {meta.get('algorithm', '')}, {schedule}, "
                 f"{sweeps} sweeps, J = {J:g}, h = {h:g}, seed {meta.get('seed', '')}", fontsize=12)
    path = Path(path)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _lags(result: RunResult, tc: float, J: float) -> bool:
    """True when |m| falls clearly (by > 0.1) below the exact 2D M(T) somewhere well below T_c."""
    below = result.T < 0.95 * tc
    return bool(np.any(result.abs_m[below] < exact.onsager_magnetization(result.T[below], J=J) - 0.1))


def particles_figure(result: RunResult, snapshots: list[dict[str, Any]], rdfs: list[tuple[str, np.ndarray, np.ndarray]],
                     path: str | Path) -> Path:
    """Draw a particle run: snapshots coloured by local crystal orientation above T, energy, order and g(r).

    Args:
        result: ``ParticleSystem.run`` output (possibly concatenated).
        snapshots: dicts with ``step``, ``T``, ``positions`` (N, d), ``box`` and ``orientation`` (N,) — the local
            hexatic angle arg(ψ₆)/6 in [0, π/3) in 2D, or local Q₆ in 3D (drawn as a projection on x-y).
        rdfs: ``(label, r, g)`` curves of the radial distribution function (e.g. at the start and the end).
        path: where to write the PNG.
    """
    plt = _pyplot()
    n = len(snapshots)
    fig = plt.figure(figsize=(13.0, 8.6 if n else 4.4), layout="constrained")
    rows = fig.subfigures(2, 1, height_ratios=[4.2, 3.6]) if n else [None, fig]
    if n:
        axes = rows[0].subplots(1, n, squeeze=False)[0]
        for ax, snap in zip(axes, snapshots):
            x, box, c = np.asarray(snap["positions"]), np.asarray(snap["box"]), np.asarray(snap["orientation"])
            two_d = x.shape[1] == 2
            sc = ax.scatter(x[:, 0], x[:, 1], c=c, s=max(0.3, 3000.0 / len(x)), lw=0,
                            cmap="hsv" if two_d else "viridis", vmin=0, vmax=np.pi / 3 if two_d else 0.6)
            ax.set_xlim(0, box[0])
            ax.set_ylim(0, box[1])
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"step {snap['step']}, T = {snap['T']:.3g}", fontsize=10)
        label = "local crystal orientation arg(ψ₆)/6 [rad]" if snapshots[0]["positions"].shape[1] == 2 \
            else "local Q₆ (projection on x-y)"
        rows[0].colorbar(sc, ax=axes, shrink=0.7, label=label)
    ax_t, ax_e, ax_o, ax_g = rows[1].subplots(1, 4)
    t = result.step * float(result.meta.get("dt", 1.0))
    ax_t.plot(t, result.T, color="black", lw=1.2, label="target T (schedule)")
    ax_t.plot(t, result.extra["T_kin"], color="tab:red", lw=0.9, label="kinetic T")
    ax_t.set_ylabel("temperature [ε / k$_B$]")
    ax_e.plot(t, result.extra["e_total"], color="tab:blue", lw=0.9, label="total")
    ax_e.plot(t, result.u, color="tab:green", lw=0.9, label="potential")
    ax_e.set_ylabel("energy per particle [ε]")
    ax_o.plot(t, result.abs_m, color="tab:purple", lw=1.0)
    ax_o.set_ylabel("global |ψ₆|" if result.meta.get("order") == "psi6" else "global Q₆")
    ax_o.set_ylim(0, 1.02)
    for label, r, g in rdfs:
        ax_g.plot(r, g, lw=1.0, label=label)
    ax_g.set_xlabel("r [σ]")
    ax_g.set_ylabel("g(r)")
    for ax in (ax_t, ax_e, ax_o):
        ax.set_xlabel("time [τ]")
    for ax in (ax_t, ax_e, ax_o, ax_g):
        ax.grid(alpha=0.3)
    for ax in (ax_t, ax_e, ax_g):
        ax.legend(fontsize=8)
    meta = result.meta
    fig.suptitle(f"{meta.get('dim', '')}D particles, N = {meta.get('n', '')}: {meta.get('potential', '')}, "
                 f"{meta.get('integrator', '')}, dt = {meta.get('dt', '')}, {meta.get('schedule', '')}", fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def xy_figure(result: RunResult, vortex_density: np.ndarray, snapshots: list[tuple[float, np.ndarray]],
              path: str | Path) -> Path:
    """Draw an XY run: snapshots of θ coloured by angle with vortices marked, above |m| and u vs T and the vortex
    density vs T (against time steps for a constant-T run).

    Args:
        result: ``XY.run`` measurements (one replica), possibly concatenated; ``result.meta`` gives the title.
        vortex_density: vortices plus antivortices per plaquette at each measurement (same length as result).
        snapshots: ``(T, theta)`` pairs of 2D angle arrays. path: the PNG to write.
    """
    from .analysis.latent import T_KT
    from .analysis.xy import vortex_map

    plt = _pyplot()
    meta = result.meta
    over_time = len(result) == 0 or result.T.min() == result.T.max()
    x = result.step if over_time else result.T
    n = len(snapshots)
    fig = plt.figure(figsize=(13.0, 8.4 if n else 4.4), layout="constrained")
    rows = fig.subfigures(2, 1, height_ratios=[3.6, 4.0]) if n else [None, fig]
    if n:
        axes = rows[0].subplots(1, n, squeeze=False)[0]
        for ax, (T, theta) in zip(axes, snapshots):
            theta = np.asarray(theta)
            ax.imshow(np.mod(theta, 2 * np.pi), cmap="hsv", vmin=0, vmax=2 * np.pi, interpolation="nearest")
            w = vortex_map(theta)
            for sign, style in ((1, dict(marker="o", mfc="none", mec="black")), (-1, dict(marker="x", color="black"))):
                i, j = np.nonzero(w == sign)  # plaquette (i, j) is centred between sites i, i+1 and j, j+1
                ax.plot(j + 0.5, i + 0.5, ls="none", ms=4, mew=1.0, **style)
            ax.set_title(f"T = {T:.3g}: {int(np.abs(w).sum())} vortices", fontsize=10)
            ax.set_xlim(-0.5, theta.shape[1] - 0.5)
            ax.set_ylim(theta.shape[0] - 0.5, -0.5)
            ax.set_xticks([])
            ax.set_yticks([])
        rows[0].suptitle("θ (colour = angle); ○ vortex, × antivortex", fontsize=10)
    ax_m, ax_v = rows[1].subplots(1, 2)
    ax_m.plot(x, result.abs_m, marker="o", ms=2, lw=0.8, label="|m|")
    ax_m.plot(x, result.u, marker="o", ms=2, lw=0.8, label="u (potential energy per site) [J]")
    ax_v.plot(x, np.maximum(vortex_density, 1e-6), marker="o", ms=2, lw=0.8, color="tab:purple")
    ax_v.set_yscale("log")
    ax_v.set_ylabel("vortices per plaquette")
    for ax in (ax_m, ax_v):
        if not over_time and result.T.min() <= T_KT <= result.T.max():
            ax.axvline(T_KT, ls="--", lw=1.0, color="tab:red", label=f"$T_{{KT}}$ ≈ {T_KT}")
        ax.set_xlabel("time steps" if over_time else "temperature T  [J / k$_B$]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    sides = "×".join(map(str, meta.get("shape", ())))
    schedule = str(meta.get("schedule", "")).replace("->", "→")
    fig.suptitle(f"XY {sides}: BAOAB γ = {meta.get('gamma', '')}, dt = {meta.get('dt', '')}, {schedule}, "
                 f"seed {meta.get('seed', '')}", fontsize=12)
    path = Path(path)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
