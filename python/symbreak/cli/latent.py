"""``symbreak latent``: natural-latent measures over a temperature sweep.

Example::

    symbreak latent --model ising --shape 32 32 --temps 1.8:3.0:13 --out runs/latent

writes ``latent.csv``, ``latent.json`` and ``latent.png`` (MI and H(G | A) vs T with T_c / T_KT marked, and the
prediction accuracy vs k) to ``--out``, prints the table to stderr and the figure's path to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import set_num_threads
from ..analysis import latent
from ._common import PROG, Progress, int_at_least, temperature_range


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``symbreak latent`` to the sub-command parsers."""
    q = sub.add_parser("latent", help="mutual information of distant blocks etc. vs temperature",
                       description="Natural latents over a temperature sweep: MI between the order parameters of "
                                   "two distant blocks, H(global | block) and the accuracy of predicting unseen "
                                   "sites from k observed ones, over independent replicas (symbreak.analysis.latent).")
    q.add_argument("--model", choices=latent.MODELS, default="ising")
    q.add_argument("--shape", type=int, nargs="+", default=[32, 32], metavar="L", help="lattice (default: 32 32)")
    q.add_argument("--temps", type=temperature_range, default=[1.8 + 0.1 * i for i in range(13)],
                   metavar="T0:T1:N", help="temperatures: T0:T1:N or T0,T1,... (default: 1.8:3.0:13)")
    q.add_argument("--block", type=int_at_least(1), help="block side (default: a quarter of the smallest side)")
    q.add_argument("--q", type=int_at_least(2), default=8, help="angle bins for XY (default: 8)")
    q.add_argument("--ks", type=int_at_least(1), nargs="+", default=[1, 4, 16, 64], metavar="K",
                   help="observed-site counts for the prediction accuracy (default: 1 4 16 64)")
    q.add_argument("--replicas", type=int_at_least(2), default=256, help="independent replicas (default: 256)")
    q.add_argument("--samples", type=int_at_least(1), default=4, help="samples per replica (default: 4)")
    q.add_argument("--burn", type=int_at_least(0), default=300, help="equilibration units (default: 300)")
    q.add_argument("--every", type=int_at_least(1), default=10, help="units between samples (default: 10)")
    q.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    q.add_argument("--threads", type=int_at_least(1), metavar="N", help="OpenMP threads (default: all)")
    q.add_argument("--out", type=Path, default=Path("runs/latent"), help="output folder (default: runs/latent)")
    q.add_argument("--quiet", action="store_true", help="no progress output")
    q.set_defaults(run=_run_latent)


def _run_latent(args: argparse.Namespace) -> int:
    if args.threads is not None:
        set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(args.temps), None if args.quiet else sys.stderr, unit="temperatures")
    try:
        table = latent.sweep(args.model, tuple(args.shape), args.temps, block=args.block, q=args.q, ks=args.ks,
                             replicas=args.replicas, samples_per_replica=args.samples, burn=args.burn,
                             every=args.every, seed=args.seed,
                             progress=lambda done, _total: progress.update(done, args.temps[done - 1]))
    finally:
        progress.close()
    table.to_csv(args.out / "latent.csv")
    table.to_json(args.out / "latent.json")
    figure = latent.figure(table, args.out / "latent.png")
    if not args.quiet:
        print(f"{PROG}: {table}", file=sys.stderr)
    print(figure)
    return 0
