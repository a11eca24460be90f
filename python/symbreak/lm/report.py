"""Tables of training runs: one row per (optimizer, biases), mean ± sample std over seeds."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .probes import PROBES
from .train import BIAS_LABELS, RunLog


def _stats(values: Sequence[float]) -> tuple[float, float]:
    a = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if len(a) == 0:
        return math.nan, math.nan
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else math.nan


def summarise(logs: Sequence[RunLog]) -> list[dict[str, Any]]:
    """Group runs by (optimizer, biases) in first-seen order; final validation loss, best validation loss,
    final training loss, tokens/s, memory and probe accuracies as mean and std over seeds (std nan for one
    seed); ``diverged`` counts runs stopped by a non-finite loss (excluded from the statistics)."""
    groups: dict[tuple[str, str], list[RunLog]] = {}
    for log in logs:
        groups.setdefault((log.config["optimizer"], log.config["biases"]), []).append(log)
    rows = []
    for (opt, biases), runs in groups.items():
        ok = [r for r in runs if not r.diverged]
        row: dict[str, Any] = {"optimizer": opt, "biases": biases, "seeds": [r.config["seed"] for r in runs],
                               "diverged": len(runs) - len(ok)}
        for key, values in (("val_loss", [r.val_loss[-1] for r in ok]),
                            ("best_val_loss", [min(r.val_loss) for r in ok]),
                            ("train_loss", [r.train_loss[-1] for r in ok]),
                            ("tokens_per_s", [r.tokens_per_s for r in ok]),
                            ("state_mb", [r.state_mb for r in ok]),
                            ("peak_memory_mb", [r.peak_memory_mb for r in ok]),
                            *((f"probe_{p}", [r.probes.get(p, math.nan) for r in ok]) for p in PROBES)):
            row[key], row[f"{key}_std"] = _stats(values)
        rows.append(row)
    return rows


def _pm(mean: float, std: float, digits: int) -> str:
    if not math.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if math.isfinite(std) else "")


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The summary as a markdown table (losses in nats/token; probes as top-1 accuracy in %)."""
    head = ("| optimizer | attention | seeds | val loss (final) | val loss (best) | train loss | tokens/s | "
            "state MB | " + " | ".join(PROBES) + " |")
    lines = [head, "|" + "---|" * (8 + len(PROBES))]
    for r in rows:
        probes = " | ".join(_pm(100 * r[f"probe_{p}"], 100 * r[f"probe_{p}_std"], 1) for p in PROBES)
        seeds = f"{len(r['seeds'])}" + (f" ({r['diverged']} diverged)" if r["diverged"] else "")
        lines.append(f"| {r['optimizer']} | {BIAS_LABELS[r['biases']]} | {seeds} | "
                     f"{_pm(r['val_loss'], r['val_loss_std'], 3)} | {_pm(r['best_val_loss'], r['best_val_loss_std'], 3)} | "
                     f"{_pm(r['train_loss'], r['train_loss_std'], 3)} | {_pm(r['tokens_per_s'], r['tokens_per_s_std'], 0)} | "
                     f"{r['state_mb']:.1f} | {probes} |")
    return "\n".join(lines) + "\n"


def write(logs: Sequence[RunLog], out: Path, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Write ``runs.json`` (every run with its curves, and ``meta``), ``summary.csv`` and ``summary.md`` to
    ``out``; returns the summary rows."""
    out.mkdir(parents=True, exist_ok=True)
    rows = summarise(logs)
    (out / "runs.json").write_text(json.dumps({"meta": meta, "runs": [r.to_dict() for r in logs],
                                               "summary": rows}, indent=1, default=str) + "\n")
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[k for k in rows[0] if k != "seeds"])
        writer.writeheader()
        for r in rows:
            writer.writerow({k: v for k, v in r.items() if k != "seeds"})
    (out / "summary.md").write_text(markdown(rows))
    return rows
