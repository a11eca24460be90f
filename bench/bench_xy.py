#!/usr/bin/env python3
"""XY rotor throughput and replica-ensemble throughput (CPU).

* XY BAOAB Langevin steps in site-steps per ns (one rotor advanced one time step), float64 and float32, also
  with the observables measured after every step (``run(measure_every=1)``, run's default), and the
  Metropolis reference sampler in site-updates per ns (L <= 1024: it is ~100x slower), for several L at 1 and all
  threads (T = 0.9, γ = 1, dt = 0.1, from random angles).
* Replicas: R small lattices advanced by one call (``replicas=R``) against the same R lattices as R separate
  objects advanced one Python call each, and against one lattice with as many sites. Ising: 32² Metropolis
  sweeps at T_c, in spin flips per ns; XY: 32² BAOAB steps, in site-steps per ns.

Timing follows bench/bench_lattice.py (calibrated call length, interleaved repeats, median, cpu_per_wall).

    PYTHONPATH=python python3 bench/bench_xy.py [--quick] [--out bench/results/xy.json --md bench/results/xy.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import symbreak
from symbreak.lattice import XY, Ising

_spec = importlib.util.spec_from_file_location("bench_lattice", Path(__file__).with_name("bench_lattice.py"))
_bl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bl)

TC = 2.269185314213022
FULL_SIZES = (256, 1024, 2048, 4096)
METROPOLIS_MAX_L = 1024
QUICK_SIZES = (256,)
SEED = 12345


def _threaded(step: Callable[[int], Any], threads: int) -> Callable[[int], Any]:
    def run(n: int) -> None:
        symbreak.set_num_threads(threads)  # process-wide: set before every timed call
        step(n)
    return run


def _cases(sizes: tuple[int, ...], n_all: int, replicas: int) -> list[tuple[dict[str, Any], Callable[[], Callable[[int], Any]], int]]:
    """(record, make the step(n) callable, units advanced per step) for every measurement."""
    cases = []
    for L in sizes:
        for dtype in ("float64", "float32"):
            for threads in sorted({1, n_all}):
                cases.append(({"what": "xy_baoab", "dtype": dtype, "L": L, "threads": threads},
                              lambda L=L, d=dtype, t=threads: _threaded(
                                  XY((L, L), 0.9, gamma=1.0, dt=0.1, seed=SEED, dtype=d).advance, t), L * L))
                cases.append(({"what": "xy_measured", "dtype": dtype, "L": L, "threads": threads,
                               "how": f"{dtype}, run(measure_every=1)"},
                              lambda L=L, d=dtype, t=threads: _threaded(
                                  _measured(XY((L, L), 0.9, gamma=1.0, dt=0.1, seed=SEED, dtype=d)), t), L * L))
        for threads in sorted({1, n_all}) if L <= METROPOLIS_MAX_L else ():
            cases.append(({"what": "xy_metropolis", "dtype": "float64", "L": L, "threads": threads},
                          lambda L=L, t=threads: _threaded(XY((L, L), 0.9, seed=SEED).metropolis, t), L * L))
    R, side = replicas, 32
    big = int(round(side * np.sqrt(R)))
    big += big % 2
    for threads in sorted({1, n_all}):
        cases += [
            ({"what": "ising_replicas", "R": R, "L": side, "threads": threads, "how": "Ising(replicas=R).sweep(n)"},
             lambda t=threads: _threaded(Ising((side, side), TC, seed=SEED, replicas=R).sweep, t), R * side**2),
            ({"what": "ising_replicas", "R": R, "L": side, "threads": threads, "how": "R x Ising().sweep(n)"},
             lambda t=threads: _threaded(_loop([Ising((side, side), TC, seed=SEED + r) for r in range(R)]), t),
             R * side**2),
            ({"what": "ising_replicas", "R": 1, "L": big, "threads": threads, "how": f"Ising(({big}, {big})).sweep(n)"},
             lambda t=threads: _threaded(Ising((big, big), TC, seed=SEED).sweep, t), big**2),
            ({"what": "xy_replicas", "R": R // 4, "L": side, "threads": threads, "how": "XY(replicas=R).advance(n)"},
             lambda t=threads: _threaded(XY((side, side), 0.9, seed=SEED, replicas=R // 4).advance, t),
             R // 4 * side**2),
            ({"what": "xy_replicas", "R": R // 4, "L": side, "threads": threads, "how": "R x XY().advance(n)"},
             lambda t=threads: _threaded(_loop([XY((side, side), 0.9, seed=SEED + r) for r in range(R // 4)], "advance"), t),
             R // 4 * side**2),
        ]
    return cases


def _measured(xy: XY) -> Callable[[int], Any]:
    """n steps with the observables taken after every one (run's default)."""
    return lambda n: xy.run(0.9, steps=n, measure_every=1)


def _loop(lattices: list, method: str = "sweep") -> Callable[[int], None]:
    calls = [getattr(x, method) for x in lattices]

    def run(n: int) -> None:
        for c in calls:
            c(n)
    return run


def run_benchmark(sizes: tuple[int, ...], *, repeats: int, target_s: float, replicas: int,
                  steps: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    mach = _bl.machine()
    n_all = int(mach["usable_cores"])
    old = symbreak.get_num_threads()
    results, t0 = [], time.perf_counter()
    try:
        live = []
        for rec, make, units in _cases(sizes, n_all, replicas):
            step = make()
            if steps is None:
                n = _bl.calibrate(step, target_s)
            else:
                step(1)
                n = steps
            results.append(rec)
            live.append((rec, step, n, units, []))
        for _ in range(repeats):
            for _, step, n, _, runs in live:
                runs.append(_bl._timed(step, n))
        for rec, _, n, units, runs in live:
            s = _bl.summarise(runs, n, units)
            s["per_ns"] = s.pop("flips_per_ns")
            rec.update(s)
            busy = "" if rec["cpu_per_wall"] >= 0.8 * rec["threads"] else f" (only {rec['cpu_per_wall']:.1f} cores busy)"
            log(f"  {rec['what']:15} {rec.get('how', rec.get('dtype', '')):28} L={rec['L']:<5} "
                f"threads={rec['threads']}: {rec['per_ns']:.4g} /ns{busy}")
    finally:
        symbreak.set_num_threads(old)
    return {"benchmark": "xy_and_replica_throughput",
            "units": "site-steps per ns (XY BAOAB), site updates per ns (Metropolis), spin flips per ns (Ising)",
            "machine": mach, "symbreak": symbreak.info(file=io.StringIO()),
            "settings": {"repeats": repeats, "target_seconds": target_s, "fixed_steps": steps, "seed": SEED,
                         "replicas": replicas},
            "measurements": results, "total_seconds": time.perf_counter() - t0}


def markdown(data: dict[str, Any]) -> str:
    # per CPU-ns = per wall-ns / cores busy: the rate of the CPU time the run got, for machines shared with others
    rows = ["| what | variant | L | threads | per ns | per CPU-ns |", "|---|---|---|---|---|---|"]
    for r in data["measurements"]:
        variant = r.get("how") or r["dtype"]
        rows.append(f"| {r['what']} | {variant} | {r['L']} | {r['threads']} | {r['per_ns']:.3g} | "
                    f"{r['per_ns'] / r['cpu_per_wall']:.3g} |")
    m = data["machine"]
    rows.append("")
    rows.append(f"Median of {data['settings']['repeats']}; {m['cpu_model']}, {m['usable_cores']} cores "
                f"(load average at start {', '.join(f'{x:.1f}' for x in m['loadavg_at_start'] or [])}).")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="L = 256 only, fewer repeats")
    ap.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), help="comma-separated L")
    ap.add_argument("--steps", type=int, help="fixed steps per timed call (default: calibrated)")
    ap.add_argument("--repeats", type=int, help="timed rounds (default 5, --quick 3)")
    ap.add_argument("--replicas", type=int, default=256, help="replicas R of the Ising case (XY uses R / 4)")
    ap.add_argument("--target-seconds", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=Path("bench/results/xy.json"))
    ap.add_argument("--md", type=Path, help="also write the Markdown table here")
    a = ap.parse_args(argv)
    sizes = a.sizes or (QUICK_SIZES if a.quick else FULL_SIZES)
    data = run_benchmark(sizes, repeats=a.repeats or (3 if a.quick else 5), target_s=a.target_seconds,
                         replicas=a.replicas, steps=a.steps)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(data, indent=1) + "\n")
    if a.md:
        a.md.write_text(markdown(data))
    return data


if __name__ == "__main__":
    main()
