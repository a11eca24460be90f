"""Kibble–Zurek quenches of the XY model: cool through T_KT at several rates, count the vortices left behind.

A lattice cooled at a finite rate falls out of equilibrium near the transition, where relaxation becomes slow;
the vortex-antivortex pairs present then are frozen in and annihilate only slowly afterwards. Slower quenches
leave fewer (Kibble–Zurek scaling, with logarithmic corrections for the KT transition). Each rate is run on R
independent replicas in one lattice object; the error bar of the residual density is the replica spread.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .._validate import require_int, require_positive
from . import xy as xy_obs
from .latent import T_KT

__all__ = ["QuenchTable", "kibble_zurek", "figure"]


@dataclass
class QuenchTable:
    """One row per quench time: ``steps`` (ramp length in time steps), ``tau`` (ramp duration, time units),
    ``rate`` (cooling rate |dT/dt| in J per time unit), ``density`` and ``density_err`` (vortices plus
    antivortices per plaquette after the ramp and hold, mean and standard error over replicas)."""

    rows: list[dict[str, float]] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.rows])

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        cols = list(self.rows[0])
        path.write_text("\n".join([",".join(cols)] + [",".join(f"{r[c]:.6g}" for c in cols) for r in self.rows]) + "\n")
        return path

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps({"rows": self.rows, "meta": self.meta}, indent=1))
        return path

    def kz_exponent(self) -> tuple[float, float]:
        """Slope of log density vs log tau (least squares) and its standard error; needs >= 3 rows with
        vortices left."""
        tau, rho = self.column("tau"), self.column("density")
        ok = rho > 0
        if ok.sum() < 3:
            raise ValueError("kz_exponent needs at least 3 quench times that leave vortices")
        x, y = np.log(tau[ok]), np.log(rho[ok])
        A = np.vstack([x, np.ones_like(x)]).T
        coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
        dof = ok.sum() - 2
        s2 = float(res[0]) / dof if dof > 0 and res.size else 0.0
        return float(coef[0]), math.sqrt(s2 / np.sum((x - x.mean()) ** 2))

    def __str__(self) -> str:
        lines = [f"{'steps':>8} {'tau':>9} {'rate':>10} {'vortex density':>22}"]
        lines += [f"{int(r['steps']):8d} {r['tau']:9.4g} {r['rate']:10.4g} {r['density']:12.5f} ± {r['density_err']:.5f}"
                  for r in self.rows]
        return "\n".join(lines)


def kibble_zurek(shape: tuple[int, int], steps: Sequence[int], *, T_start: float = 1.5, T_end: float = 0.1,
                 hold: int = 0, replicas: int = 32, gamma: float = 1.0, dt: float = 0.1, seed: int = 0,
                 progress: Callable[[int, int], None] | None = None) -> QuenchTable:
    """Cool 2D XY replicas linearly from ``T_start`` to ``T_end`` in each of ``steps`` BAOAB steps.

    Every quench starts from random angles equilibrated for 200 steps at ``T_start`` (above T_KT ≈ 0.89), ramps
    T linearly, then holds ``hold`` steps at ``T_end``; the vortex density is read from the final angles.

    Args:
        shape: 2D lattice ``(L0, L1)``. steps: ramp lengths (time steps, each >= 1); tau = steps · dt.
        T_start, T_end: T_start > T_KT > T_end >= 0 so the ramp crosses the transition.
        hold: steps at T_end after the ramp. replicas: R >= 2 independent lattices per ramp.
        gamma, dt: Langevin friction and time step. seed: quench i uses seed + i.
        progress: called as progress(done, total) after each ramp.

    Example:
        >>> t = kibble_zurek((32, 32), [100, 1000], replicas=8)   # doctest: +SKIP
        >>> t.column("density")                                   # doctest: +SKIP
    """
    from .. import schedules
    from ..lattice import XY

    if len(tuple(shape)) != 2:
        raise ValueError(f"shape must be 2D (vortices live on plaquettes), got {shape!r}")
    T_start, T_end = require_positive("T_start", T_start), float(T_end)
    if not (T_start > T_KT > T_end >= 0):
        raise ValueError(f"need T_start > T_KT ({T_KT}) > T_end >= 0, got T_start={T_start}, T_end={T_end}")
    steps = [require_int("steps", s, 1) for s in steps]
    if not steps:
        raise ValueError("steps must list at least one ramp length")
    hold = require_int("hold", hold, 0)
    replicas = require_int("replicas", replicas, 2, 2**20)
    table = QuenchTable(meta={"shape": list(shape), "T_start": T_start, "T_end": T_end, "hold": hold,
                              "replicas": replicas, "gamma": gamma, "dt": dt, "seed": seed})
    for i, n in enumerate(steps):
        lat = XY(tuple(shape), T_start, gamma=gamma, dt=dt, replicas=replicas, seed=seed + i)
        lat.advance(200)
        lat.run(schedules.linear(T_start, T_end, n), measure_every=n)
        if hold:
            lat.advance(hold)
        rho = np.atleast_1d(xy_obs.vortex_density(lat.theta))
        tau = n * dt
        table.rows.append({"steps": float(n), "tau": tau, "rate": (T_start - T_end) / tau,
                           "density": float(rho.mean()), "density_err": float(rho.std(ddof=1) / math.sqrt(rho.size))})
        if progress is not None:
            progress(i + 1, len(steps))
    return table


def figure(table: QuenchTable, path: str | Path) -> Path:
    """Residual vortex density vs quench time (log-log), with the fitted power law when there are >= 3 points."""
    from ..plot import DPI, _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    tau, rho, err = table.column("tau"), table.column("density"), table.column("density_err")
    ax.errorbar(tau, rho, err, marker="o", ls="none", label="after the quench")
    try:
        slope, slope_err = table.kz_exponent()
        ok = rho > 0
        fit = np.exp(np.polyfit(np.log(tau[ok]), np.log(rho[ok]), 1)[1]) * tau ** slope
        ax.plot(tau, fit, "--", color="grey", label=f"∝ τ^({slope:.2f} ± {slope_err:.2f})")
    except ValueError:
        pass  # too few points for a fit: the data alone
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("quench time τ (T: %.2g → %.2g)" % (table.meta["T_start"], table.meta["T_end"]))
    ax.set_ylabel("vortices per plaquette")
    ax.set_title(f"XY Kibble–Zurek, {table.meta['shape'][0]}×{table.meta['shape'][1]}, R = {table.meta['replicas']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
