"""``symbreak quench``: Kibble–Zurek quenches of XY rotors through T_KT at several rates.

Example::

    symbreak quench --shape 64 64 --steps 100 1000 10000 --replicas 16 --out runs/quench

writes ``quench.csv``, ``quench.json`` and ``quench.png`` (residual vortex density vs quench time) to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import set_num_threads
from ..analysis import quench
from ._common import PROG, Progress, anneal, int_at_least


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``symbreak quench`` to the sub-command parsers."""
    q = sub.add_parser("quench", help="XY Kibble-Zurek quenches: residual vortices vs cooling rate",
                       description="Cool XY replicas linearly through T_KT in each of --steps time steps and "
                                   "measure the vortex density left behind (symbreak.analysis.quench).")
    q.add_argument("--shape", type=int, nargs=2, default=[64, 64], metavar="L", help="2D lattice (default: 64 64)")
    q.add_argument("--steps", type=int_at_least(1), nargs="+", default=[100, 300, 1000, 3000], metavar="N",
                   help="ramp lengths in time steps (default: 100 300 1000 3000)")
    q.add_argument("--cool", type=anneal, default=(1.5, 0.1), metavar="T0:T1", help="ramp (default: 1.5:0.1)")
    q.add_argument("--hold", type=int_at_least(0), default=0, help="steps at T1 after the ramp (default: 0)")
    q.add_argument("--replicas", type=int_at_least(2), default=16, help="replicas per ramp (default: 16)")
    q.add_argument("--gamma", type=float, default=1.0, help="friction γ (default: 1)")
    q.add_argument("--dt", type=float, default=0.1, help="time step (default: 0.1)")
    q.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    q.add_argument("--threads", type=int_at_least(1), metavar="N", help="OpenMP threads (default: all)")
    q.add_argument("--out", type=Path, default=Path("runs/quench"), help="output folder (default: runs/quench)")
    q.add_argument("--quiet", action="store_true", help="no progress output")
    q.set_defaults(run=_run_quench)


def _run_quench(args: argparse.Namespace) -> int:
    if args.threads is not None:
        set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(args.steps), None if args.quiet else sys.stderr, unit="quenches")
    try:
        table = quench.kibble_zurek(tuple(args.shape), args.steps, T_start=args.cool[0], T_end=args.cool[1],
                                    hold=args.hold, replicas=args.replicas, gamma=args.gamma, dt=args.dt,
                                    seed=args.seed, progress=lambda done, _t: progress.update(done, args.cool[1]))
    finally:
        progress.close()
    table.to_csv(args.out / "quench.csv")
    table.to_json(args.out / "quench.json")
    figure = quench.figure(table, args.out / "quench.png")
    if not args.quiet:
        print(f"{PROG}: residual vortices\n{table}", file=sys.stderr)
    print(figure)
    return 0
