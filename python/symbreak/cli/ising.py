"""``symbreak ising``: the Ising model along a temperature schedule.

Example::

    symbreak ising --shape 256 256 --anneal 3.5:1.0 --sweeps 2000 --out runs/ising

writes ``observables.csv``, ``run.json`` and ``ising.png`` to ``--out`` and prints the figure's path.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__, get_num_threads, schedules, set_num_threads
from ..lattice import Ising
from ..results import RunResult
from ._common import PROG, Progress, anneal, int_at_least, temperature


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``symbreak ising`` to the sub-command parsers."""
    q = sub.add_parser("ising", help="simulate the Ising model along a temperature schedule",
                       description="Ising model along a temperature schedule; writes observables.csv, run.json "
                                   "and ising.png to --out. Temperatures in units of J/k_B.")
    q.add_argument("--shape", type=int, nargs="+", default=[256, 256], metavar="L",
                   help="lattice sides, 2 (2D) or 3 (3D), each even (default: 256 256)")
    temp = q.add_mutually_exclusive_group()
    temp.add_argument("--anneal", type=anneal, metavar="T0:T1",
                      help="cool from T0 to T1 over the run (default: 3.5:1.0)")
    temp.add_argument("--T", type=temperature, metavar="T", help="constant temperature instead of --anneal")
    q.add_argument("--schedule", choices=("linear", "geometric"), default="linear",
                   help="shape of the --anneal ramp (default: linear)")
    q.add_argument("--sweeps", type=int_at_least(1), default=2000, help="number of sweeps (default: 2000)")
    q.add_argument("--algorithm", choices=("metropolis", "heat_bath", "wolff"), default="metropolis")
    q.add_argument("--seed", type=int, default=0, help="random seed, 0 <= seed < 2**64 (default: 0)")
    q.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    q.add_argument("--measure-every", type=int_at_least(1), default=10, metavar="K",
                   help="sweeps between measurements (default: 10)")
    q.add_argument("--J", type=float, default=1.0, help="coupling (default: 1)")
    q.add_argument("--h", type=float, default=0.0, help="external field (default: 0)")
    q.add_argument("--snapshots", type=int_at_least(0), default=4, metavar="N",
                   help="lattice snapshots at N evenly spaced temperatures (default: 4)")
    q.add_argument("--threads", type=int_at_least(1), metavar="N", help="OpenMP threads (default: all)")
    q.add_argument("--out", type=Path, default=Path("runs/ising"), help="output folder (default: runs/ising)")
    q.add_argument("--quiet", action="store_true", help="no progress output")
    q.set_defaults(run=_run_ising)



# -- ising ------------------------------------------------------------------------------------------------
def _snapshot_blocks(T_measured: np.ndarray, n: int) -> list[int]:
    """Indices of the measurements nearest ``n`` evenly spaced temperatures (evenly spaced in time if T is
    constant), sorted and distinct."""
    if n == 0 or len(T_measured) == 0:
        return []
    if T_measured[0] == T_measured[-1]:
        idx = np.rint(np.linspace(0, len(T_measured) - 1, n)).astype(int)
    else:
        targets = np.linspace(T_measured[0], T_measured[-1], n)
        idx = np.abs(T_measured[None, :] - targets[:, None]).argmin(axis=1)
    return sorted(set(idx.tolist()))


def _run_ising(args: argparse.Namespace) -> int:
    if args.threads is not None:
        set_num_threads(args.threads)
    if args.T is not None:
        full = schedules.constant(args.T, args.sweeps)
    else:
        T0, T1 = args.anneal or (3.5, 1.0)
        full = getattr(schedules, args.schedule)(T0, T1, args.sweeps)
    k = args.measure_every
    if k > args.sweeps:
        raise ValueError(f"--measure-every ({k}) must not exceed --sweeps ({args.sweeps})")
    ising = Ising(tuple(args.shape), T=float(full.values[0]), J=args.J, h=args.h, algorithm=args.algorithm,
                  seed=args.seed, device=args.device)
    args.out.mkdir(parents=True, exist_ok=True)

    # Chunks of whole measurement blocks (a partial block is not measured), ending at every snapshot; the
    # results do not depend on chunking (random numbers are keyed by sweep number).
    blocks = args.sweeps // k
    snap_ends = {k * (b + 1) for b in _snapshot_blocks(full.values[k - 1::k][:blocks], args.snapshots)}
    every = k * max(1, blocks // 200)
    bounds = sorted({0, k * blocks, args.sweeps, *range(every, k * blocks, every), *snap_ends})

    progress = Progress(args.sweeps, None if args.quiet else sys.stderr)
    parts, snapshots, snapshot_steps, sim_seconds = [], [], [], 0.0
    try:
        for a, b in zip(bounds[:-1], bounds[1:]):
            t = time.perf_counter()
            parts.append(ising.run(schedules.Schedule(full.values[a:b], full.description), measure_every=k))
            sim_seconds += time.perf_counter() - t
            if b in snap_ends:
                snapshots.append((float(full.values[b - 1]), ising.spins))
                snapshot_steps.append(b)
            progress.update(b, float(full.values[b - 1]))
    finally:
        progress.close()
    result = RunResult.concatenate([r for r in parts if len(r)])  # the unmeasured tail is empty
    result.meta["sweeps"] = args.sweeps

    result.to_csv(args.out / "observables.csv")
    flips_per_ns = ising.sites * args.sweeps / sim_seconds / 1e9 if sim_seconds > 0 else None
    params = {key: (str(v) if isinstance(v, Path) else v) for key, v in vars(args).items() if key not in ("command", "run")}
    params.update(anneal=None if args.T is not None else [float(full.values[0]), float(full.values[-1])],
                  schedule_description=full.description)
    summary = {"final_abs_m": ising.abs_magnetization, "final_u": ising.energy, "final_T": ising.T,
               "elapsed_s": sim_seconds, "flips_per_ns": flips_per_ns, "sites": ising.sites,
               "measurements": len(result), "snapshot_T": [T for T, _ in snapshots],
               "threads": get_num_threads(), "version": __version__}
    (args.out / "run.json").write_text(json.dumps({"parameters": params, "summary": summary}, indent=2) + "\n")

    from ..plot import ising_figure  # matplotlib is optional: imported only here

    figure = ising_figure(result, snapshots, args.out / "ising.png", snapshot_steps=snapshot_steps)
    if not args.quiet:
        print(f"{PROG}: {args.sweeps} sweeps of {ising.sites} sites in {sim_seconds:.2f} s "
              f"({flips_per_ns or 0:.2f} flips/ns); final |m| = {summary['final_abs_m']:.4f}, "
              f"u = {summary['final_u']:.4f} J", file=sys.stderr)
    print(figure)
    return 0
