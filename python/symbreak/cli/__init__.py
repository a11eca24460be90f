"""Command line (also ``python -m symbreak``): ``symbreak COMMAND ...``; ``symbreak COMMAND --help`` lists
each command's options. Every command lives in its own module here and adds itself with ``register``."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import info
from . import interp, ising, latent, particles, quench, train_lm, xy
from ._common import PROG, Progress

__all__ = ["main", "Progress"]

_COMMANDS = (ising, xy, latent, quench, particles, train_lm, interp)


def _run_info(_args: argparse.Namespace) -> int:
    info()
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="symbreak: spontaneous symmetry breaking, fast.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("info", help="print the build: version, compiler, OpenMP threads, CUDA and GPUs").set_defaults(
        run=_run_info)
    for module in _COMMANDS:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad arguments or failed run, 1 missing extra)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage and message; return its status instead
        return int(e.code or 0)
    try:
        return args.run(args)
    except ImportError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except (ValueError, RuntimeError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
