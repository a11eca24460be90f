#!/usr/bin/env python3
"""Side-by-side Ising Metropolis throughput: symbreak vs mcising vs a numpy checkerboard baseline.

Throughput is in spin flips per ns, counting attempted single-spin updates (one sweep of an N-site lattice is
N flips). Every implementation runs Metropolis at the critical temperature of its lattice (J = 1, h = 0,
periodic boundaries) from a random start. Each implementation warms up (doubling the sweep count until one
call takes a quarter of the target time) and calibrates ``sweeps`` so one call takes ~the target time; then
``repeats`` rounds time one call of each implementation in turn (so a burst of other load on the machine hits
all of them), and the median is reported. Lattice construction is never timed. mcising and numpy are
single-threaded; ``cpu_per_wall`` (process CPU time / wall time) shows the cores each run kept busy.

    PYTHONPATH=python python3 bench/bench_lattice.py [--quick] [--out bench/results/lattice.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import symbreak
from symbreak.lattice import Ising

TC = {2: 2.269185314213022, 3: 4.5115232}  # exact 2D (Onsager); 3D simple cubic (Ferrenberg et al. 2018)
FULL_SIZES = ((2, 256), (2, 1024), (2, 4096), (3, 128))
QUICK_SIZES = ((2, 256), (2, 1024))
SEED = 12345

Runner = tuple[Callable[[int], Any], Callable[[], float]]  # (sweep(n), energy per site)


class NumpyCheckerboard:
    """Vectorised checkerboard Metropolis in plain numpy (the baseline a user could write in an afternoon).

    Each half-sweep updates one colour of the checkerboard at once: neighbour sums from ``np.roll``, acceptance
    probability min(1, exp(-2 s_i Σ_nn s_j / T)) looked up in a precomputed table, one float32 uniform per site
    per sweep from a numpy ``Generator`` (the two colours use disjoint entries), flips applied in place.
    """

    def __init__(self, shape: tuple[int, ...], T: float, seed: int):
        self.rng = np.random.default_rng(seed)
        self.spins = self.rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)
        self.z = 2 * len(shape)  # coordination number; s_i Σ_nn s_j lies in [-z, z]
        self.accept = np.minimum(1.0, np.exp(-2.0 * np.arange(-self.z, self.z + 1) / T)).astype(np.float32)
        parity = sum(np.arange(n).reshape([-1 if i == a else 1 for i in range(len(shape))])
                     for a, n in enumerate(shape)) % 2
        self.colours = [np.broadcast_to(parity == c, shape).copy() for c in (0, 1)]

    def sweep(self, n: int) -> None:
        """Advance ``n`` sweeps (each site attempted once per sweep)."""
        s = self.spins
        for _ in range(n):
            u = self.rng.random(s.shape, dtype=np.float32)
            for colour in self.colours:
                field = sum(np.roll(s, k, axis=a) for a in range(s.ndim) for k in (1, -1))
                p = np.take(self.accept, s * field + self.z)
                np.negative(s, out=s, where=colour & (u < p))

    def energy(self) -> float:
        """Energy per site, -Σ_<ij> s_i s_j / N."""
        s = self.spins
        return -sum(int((s * np.roll(s, -1, axis=a)).sum(dtype=np.int64)) for a in range(s.ndim)) / s.size


def _symbreak(shape: tuple[int, ...], T: float, device: str, threads: int) -> Runner:
    ising = Ising(shape, T, algorithm="metropolis", seed=SEED, device=device, init="random")

    def sweep(n: int) -> None:
        symbreak.set_num_threads(threads)  # OpenMP threads of the core (process-wide, so set before every call)
        ising.sweep(n)

    return sweep, lambda: ising.energy


def _mcising(shape: tuple[int, ...], T: float) -> Runner:
    from mcising._core import IsingSimulation

    sim = IsingSimulation(shape[0], 1.0, 0.0, 0.0, 0.0, SEED, "metropolis", "square" if len(shape) == 2 else "cubic")
    return (lambda n: sim.sweep(n, temperature=T)), sim.energy


def _numpy(shape: tuple[int, ...], T: float) -> Runner:
    model = NumpyCheckerboard(shape, T, SEED)
    return model.sweep, model.energy


def _timed(sweep: Callable[[int], Any], n: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of ``sweep(n)``."""
    w, c = time.perf_counter(), time.process_time()
    sweep(n)
    return time.perf_counter() - w, time.process_time() - c


def calibrate(sweep: Callable[[int], Any], target_s: float) -> int:
    """Warm up, then return the sweep count for which one ``sweep`` call takes ~``target_s``."""
    n = 1
    while _timed(sweep, n)[0] < target_s / 4:  # warm-up (leaves the random start's transient behind)
        n *= 2
    rate = max(n / _timed(sweep, n)[0] for _ in range(2))  # the faster call is the less disturbed
    return max(1, round(target_s * rate))


def summarise(runs: list[tuple[float, float]], sweeps: int, sites: int) -> dict[str, Any]:
    """Median wall time, all wall times, cores kept busy and throughput of ``runs`` (wall, CPU seconds)."""
    wall = [w for w, _ in runs]
    med = statistics.median(wall)
    return {"sweeps": sweeps, "seconds": {"median": med, "all": wall},
            "cpu_per_wall": sum(c for _, c in runs) / sum(wall), "flips_per_ns": sites * sweeps / med / 1e9}


def machine() -> dict[str, Any]:
    """CPU model, logical core counts, OS."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu_model": model, "logical_cores": os.cpu_count(), "usable_cores": usable,
            "platform": platform.platform(), "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None}


def run_benchmark(sizes: tuple[tuple[int, int], ...], *, repeats: int, target_s: float = 0.8,
                  sweeps: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure every implementation on every ``(dim, L)``; returns the JSON-ready result dict."""
    try:
        import mcising
        mc_version, mc_skip = mcising.__version__, None
    except ImportError as e:
        mc_version, mc_skip = None, f"mcising not installed ({e})"
    mach = machine()
    n_all = int(mach["usable_cores"])
    cuda_skip = None if symbreak.cuda_available() else symbreak.cuda_unavailable_reason()
    old_threads = symbreak.get_num_threads()
    results: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    try:
        for dim, L in sizes:
            shape, T = (L,) * dim, TC[dim]
            base = {"dim": dim, "L": L, "T": T}
            plan: list[tuple[dict[str, Any], Callable[[], Runner], str | None]] = []
            for threads in sorted({1, n_all}):
                plan.append(({"impl": "symbreak", "device": "cpu", "threads": threads,
                              "call": "Ising(algorithm='metropolis').sweep(n)"},
                             lambda t=threads: _symbreak(shape, T, "cpu", t), None))
            plan.append(({"impl": "symbreak", "device": "cuda", "threads": None,
                          "call": "Ising(algorithm='metropolis', device='cuda').sweep(n)"},
                         lambda: _symbreak(shape, T, "cuda", n_all), cuda_skip))
            plan.append(({"impl": "mcising", "device": "cpu", "threads": 1,
                          "call": f"mcising._core.IsingSimulation(L, 1, 0, 0, 0, seed, 'metropolis', "
                                  f"'{'square' if dim == 2 else 'cubic'}').sweep(n, temperature=T)"},
                         lambda: _mcising(shape, T), mc_skip))
            plan.append(({"impl": "numpy", "device": "cpu", "threads": 1,
                          "call": "NumpyCheckerboard.sweep(n) (this script)"}, lambda: _numpy(shape, T), None))
            live = []  # (record, runner, sweeps, timed runs)
            for meta, make, skip in plan:
                rec = {**meta, **base}
                results.append(rec)
                if skip is not None:
                    rec["skipped"] = skip
                    continue
                runner = make()
                if sweeps is None:
                    n = calibrate(runner[0], target_s)
                else:
                    runner[0](1)
                    n = sweeps
                live.append((rec, runner, n, []))
            for _ in range(repeats):  # interleaved rounds
                for _, runner, n, runs in live:
                    runs.append(_timed(runner[0], n))
            for rec, (_, energy), n, runs in live:
                rec.update(summarise(runs, n, L**dim), energy_per_site=energy())
                note = " (few sweeps: slow)" if n <= 2 and sweeps is None else ""
                if rec["device"] == "cpu" and rec["cpu_per_wall"] < 0.8 * rec["threads"]:
                    note += f" (WARNING: only {rec['cpu_per_wall']:.1f} cores busy: machine loaded?)"
                log(f"  {dim}D L={L:<5} {rec['impl']:8} {rec['device']:4} threads={rec['threads']}: "
                    f"{rec['flips_per_ns']:.4f} flips/ns, {n} sweeps{note}")
    finally:
        symbreak.set_num_threads(old_threads)
    return {"benchmark": "ising_metropolis_throughput", "units": "attempted spin flips per ns",
            "machine": mach, "symbreak": symbreak.info(file=io.StringIO()),
            "versions": {"numpy": np.__version__, "mcising": mc_version, "symbreak": symbreak.__version__},
            "settings": {"repeats": repeats, "target_seconds": target_s, "fixed_sweeps": sweeps, "seed": SEED},
            "measurements": results, "ratios": ratios(results, n_all),
            "total_seconds": time.perf_counter() - t_start}


def _fpn(results: list[dict[str, Any]], dim: int, L: int, impl: str, device: str = "cpu",
         threads: int | None = None) -> float | None:
    for r in results:
        if ((r["dim"], r["L"], r["impl"], r["device"]) == (dim, L, impl, device)
                and (threads is None or r["threads"] == threads) and "flips_per_ns" in r):
            return r["flips_per_ns"]
    return None


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def ratios(results: list[dict[str, Any]], n_all: int) -> list[dict[str, Any]]:
    """Per lattice: symbreak (CPU all threads, CPU 1 thread, CUDA) throughput over mcising's and numpy's."""
    out = []
    for dim, L in dict.fromkeys((r["dim"], r["L"]) for r in results):
        sb_all, sb_1 = _fpn(results, dim, L, "symbreak", threads=n_all), _fpn(results, dim, L, "symbreak", threads=1)
        sb_cuda = _fpn(results, dim, L, "symbreak", "cuda")
        mc, nu = _fpn(results, dim, L, "mcising"), _fpn(results, dim, L, "numpy")
        out.append({"dim": dim, "L": L, "symbreak_cpu_all_vs_mcising": _div(sb_all, mc),
                    "symbreak_cpu_all_vs_numpy": _div(sb_all, nu), "symbreak_cpu_1_vs_mcising": _div(sb_1, mc),
                    "symbreak_cpu_1_vs_numpy": _div(sb_1, nu), "symbreak_cuda_vs_mcising": _div(sb_cuda, mc),
                    "symbreak_cuda_vs_numpy": _div(sb_cuda, nu)})
    return out


def markdown(data: dict[str, Any]) -> str:
    """The README table: flips/ns per implementation, and symbreak (all threads) / mcising."""
    res, n_all = data["measurements"], data["machine"]["usable_cores"]
    has_cuda = any(r["device"] == "cuda" and "flips_per_ns" in r for r in res)
    f = lambda x: "n/a" if x is None else f"{x:.3g}"  # noqa: E731
    head = ["lattice", "symbreak 1 thread", f"symbreak {n_all} threads"] + ["symbreak CUDA"] * has_cuda \
        + [f"mcising {data['versions']['mcising'] or ''}".strip(), "numpy", "speed-up vs mcising"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for q in data["ratios"]:
        dim, L = q["dim"], q["L"]
        row = [f"{dim}D {L}{'²' if dim == 2 else '³'}", f(_fpn(res, dim, L, "symbreak", threads=1)),
               f(_fpn(res, dim, L, "symbreak", threads=n_all))]
        row += [f(_fpn(res, dim, L, "symbreak", "cuda"))] * has_cuda
        sp = q["symbreak_cpu_all_vs_mcising"]
        row += [f(_fpn(res, dim, L, "mcising")), f(_fpn(res, dim, L, "numpy")), "n/a" if sp is None else f"{sp:.2f}×"]
        lines.append("| " + " | ".join(row) + " |")
    m = data["machine"]
    lines.append(f"\nSpin flips per ns (attempted Metropolis updates) at T_c, median of {data['settings']['repeats']}; "
                 f"{m['cpu_model']}, {m['usable_cores']} cores. mcising and numpy are single-threaded.")
    return "\n".join(lines)


def parse_sizes(text: str) -> tuple[tuple[int, int], ...]:
    """``"2:256,3:128"`` -> ((2, 256), (3, 128))."""
    return tuple((int(d), int(L)) for d, L in (item.split(":") for item in text.split(",")))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line entry point; returns the result dict it wrote."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2D L=256 and 1024 only, fewer repeats (CI smoke)")
    ap.add_argument("--sizes", type=parse_sizes, help="comma-separated dim:L, e.g. 2:64,3:16 (overrides --quick)")
    ap.add_argument("--sweeps", type=int, help="fixed sweeps per timed call (default: calibrated to --target-seconds)")
    ap.add_argument("--repeats", type=int, help="timed rounds (default 5, --quick 3)")
    ap.add_argument("--target-seconds", type=float, default=0.8, help="wall time per timed call (default 0.8)")
    ap.add_argument("--out", type=Path, default=Path("bench/results/lattice.json"))
    ap.add_argument("--md", type=Path, help="also write the Markdown table here (e.g. bench/results/lattice.md)")
    args = ap.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    repeats = args.repeats or (3 if args.quick else 5)
    symbreak.info()
    data = run_benchmark(sizes, repeats=repeats, target_s=args.target_seconds, sweeps=args.sweeps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    table = markdown(data)
    print("\n" + table + f"\n\nwrote {args.out} ({data['total_seconds']:.0f} s)")
    if args.md:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(table + "\n")
    return data


if __name__ == "__main__":
    main()
