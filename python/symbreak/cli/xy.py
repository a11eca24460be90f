"""``symbreak xy``: XY rotors (BAOAB Langevin) along a temperature schedule.

Example::

    symbreak xy --shape 256 256 --cool 1.5:0.2 --steps 20000 --out runs/xy

writes ``observables.csv`` (with the vortex density), ``run.json`` and ``xy.png`` to ``--out`` and prints the
figure's path.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__, get_num_threads, schedules, set_num_threads
from ..analysis.xy import vortex_density
from ..lattice import XY
from ..results import RunResult
from ._common import PROG, Progress, anneal, int_at_least, temperature


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``symbreak xy`` to the sub-command parsers."""
    q = sub.add_parser("xy", help="simulate XY rotors (Langevin) along a temperature schedule",
                       description="XY rotors with BAOAB Langevin dynamics along a temperature schedule; writes "
                                   "observables.csv, run.json and xy.png to --out. Temperatures in units of J/k_B.")
    q.add_argument("--shape", type=int, nargs=2, default=[128, 128], metavar="L", help="2D lattice (default: 128 128)")
    temp = q.add_mutually_exclusive_group()
    temp.add_argument("--cool", type=anneal, metavar="T0:T1", help="cool from T0 to T1 (default: 1.5:0.2)")
    temp.add_argument("--T", type=temperature, metavar="T", help="constant temperature instead of --cool")
    q.add_argument("--steps", type=int_at_least(1), default=4000, help="BAOAB time steps (default: 4000)")
    q.add_argument("--gamma", type=float, default=1.0, help="friction γ >= 0 (default: 1)")
    q.add_argument("--dt", type=float, default=0.1, help="time step > 0 (default: 0.1)")
    q.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    q.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    q.add_argument("--seed", type=int, default=0, help="random seed, 0 <= seed < 2**64 (default: 0)")
    q.add_argument("--measure-every", type=int_at_least(1), default=20, metavar="K",
                   help="steps between measurements (default: 20)")
    q.add_argument("--snapshots", type=int_at_least(0), default=4, metavar="N",
                   help="θ snapshots at N evenly spaced measurements (default: 4)")
    q.add_argument("--threads", type=int_at_least(1), metavar="N", help="OpenMP threads (default: all)")
    q.add_argument("--out", type=Path, default=Path("runs/xy"), help="output folder (default: runs/xy)")
    q.add_argument("--quiet", action="store_true", help="no progress output")
    q.set_defaults(run=_run_xy)


def _run_xy(args: argparse.Namespace) -> int:
    if args.threads is not None:
        set_num_threads(args.threads)
    full = (schedules.constant(args.T, args.steps) if args.T is not None
            else schedules.linear(*(args.cool or (1.5, 0.2)), args.steps))
    k = args.measure_every
    if k > args.steps:
        raise ValueError(f"--measure-every ({k}) must not exceed --steps ({args.steps})")
    xy = XY(tuple(args.shape), T=float(full.values[0]), gamma=args.gamma, dt=args.dt, seed=args.seed,
            dtype=args.dtype, device=args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    blocks = args.steps // k
    snap_at = set(np.rint(np.linspace(0, blocks - 1, args.snapshots)).astype(int).tolist()) if args.snapshots else set()

    progress = Progress(args.steps, None if args.quiet else sys.stderr, unit="steps")
    parts, density, snapshots, sim_seconds = [], [], [], 0.0
    try:
        for b in range(blocks):  # one measurement block per call: the vortex density needs the angles
            t = time.perf_counter()
            parts.append(xy.run(schedules.Schedule(full.values[b * k:(b + 1) * k], full.description), measure_every=k))
            sim_seconds += time.perf_counter() - t
            theta = xy.theta
            density.append(float(vortex_density(theta)))
            if b in snap_at:
                snapshots.append((xy.T, theta))
            progress.update((b + 1) * k, xy.T)
        if blocks * k < args.steps:  # the unmeasured tail
            xy.run(schedules.Schedule(full.values[blocks * k:], full.description), measure_every=args.steps)
    finally:
        progress.close()
    result = RunResult.concatenate(parts)
    result.extra["vortex_density"] = np.array(density)
    result.meta["steps"] = args.steps
    result.to_csv(args.out / "observables.csv")

    obs = xy.observables()
    params = {key: (str(v) if isinstance(v, Path) else v) for key, v in vars(args).items() if key not in ("command", "run")}
    params.update(schedule_description=full.description)
    summary = {"final_abs_m": obs["abs_m"], "final_u": obs["u"], "final_T": xy.T,
               "final_vortex_density": float(vortex_density(xy.theta)), "elapsed_s": sim_seconds,
               "site_steps_per_ns": xy.sites * args.steps / sim_seconds / 1e9 if sim_seconds > 0 else None,
               "sites": xy.sites, "measurements": len(result), "threads": get_num_threads(), "version": __version__}
    (args.out / "run.json").write_text(json.dumps({"parameters": params, "summary": summary}, indent=2) + "\n")

    from ..plot import xy_figure  # matplotlib is optional: imported only here

    figure = xy_figure(result, result.extra["vortex_density"], snapshots, args.out / "xy.png")
    if not args.quiet:
        print(f"{PROG}: {args.steps} steps of {xy.sites} rotors in {sim_seconds:.2f} s; final |m| = "
              f"{obs['abs_m']:.4f}, vortex density = {summary['final_vortex_density']:.5f}", file=sys.stderr)
    print(figure)
    return 0
