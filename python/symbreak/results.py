"""The result object every simulator's ``run`` returns: one row per measurement, numpy columns."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class RunResult:
    """Observables measured during a run, one entry per measurement.

    Attributes:
        step: global step (sweep) count after the measured step.
        T: temperature of the measured step.
        m: magnetization per site (signed).
        abs_m: |m|.
        u: energy per site, in units of J (for rotors: the potential energy).
        sites: number of sites N (needed for susceptibility and specific heat).
        extra: further columns of the simulator (e.g. the rotors' kinetic energy), same length.

    With R > 1 replicas every observable column has shape (measurements, R); step and T stay 1-D.
    """

    step: np.ndarray
    T: np.ndarray
    m: np.ndarray
    abs_m: np.ndarray
    u: np.ndarray
    sites: int
    meta: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.step)

    def select(self, rows: np.ndarray) -> "RunResult":
        """The measurements picked by ``rows`` (a boolean mask or indices), as a new RunResult."""
        cols = {k: getattr(self, k)[rows] for k in ("step", "T", "m", "abs_m", "u")}
        return RunResult(**cols, sites=self.sites, meta=dict(self.meta),
                         extra={k: v[rows] for k, v in self.extra.items()})

    def columns(self) -> dict[str, np.ndarray]:
        return {"step": self.step, "T": self.T, "m": self.m, "abs_m": self.abs_m, "u": self.u, **self.extra}

    def summary(self, discard: float = 0.2) -> dict:
        """Equilibrium estimates with error bars at a constant temperature (see analysis.stats.summarize).

        Args:
            discard: fraction of the measurements dropped at the start as burn-in.
        """
        from .analysis.stats import summarize

        T = np.unique(self.T)
        if len(T) != 1:
            raise ValueError("summary() needs a constant-temperature run; select rows of one T first")
        return summarize({"m": self.m, "u": self.u}, N=self.sites, T=float(T[0]), discard=discard)

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        cols = self.columns()
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            w.writerows(zip(*(c.tolist() for c in cols.values())))
        return path

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        data = {k: v.tolist() for k, v in self.columns().items()}
        data.update(sites=self.sites, meta=self.meta)
        path.write_text(json.dumps(data))
        return path

    @staticmethod
    def concatenate(results: "list[RunResult]") -> "RunResult":
        if not results:
            raise ValueError("concatenate needs at least one RunResult")
        cols = {k: np.concatenate([getattr(r, k) for r in results]) for k in ("step", "T", "m", "abs_m", "u")}
        extra = {k: np.concatenate([r.extra[k] for r in results]) for k in results[0].extra}
        return RunResult(**cols, sites=results[0].sites, meta=dict(results[0].meta), extra=extra)
