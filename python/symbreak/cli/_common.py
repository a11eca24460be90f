"""Shared pieces of the command line: argument types (each raises ``ArgumentTypeError``, which argparse
reports as "argument --X: ...") and a progress bar."""

from __future__ import annotations

import argparse
import math
import time
from typing import Callable, TextIO

PROG = "symbreak"


def temperature(text: str) -> float:
    """A temperature in units of J/k_B: finite and > 0."""
    try:
        T = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(T) and T > 0):
        raise argparse.ArgumentTypeError(f"temperature must be finite and > 0, got {text}")
    return T


def anneal(text: str) -> tuple[float, float]:
    """``T0:T1``: start and end temperatures."""
    parts = text.split(":")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected T0:T1 (e.g. 3.5:1.0), got {text!r}")
    return temperature(parts[0]), temperature(parts[1])


def temperature_range(text: str) -> list[float]:
    """``T0:T1:N`` (N evenly spaced temperatures from T0 to T1) or a comma-separated list ``T0,T1,...``."""
    parts = text.split(":")
    if len(parts) == 3:
        T0, T1, n = temperature(parts[0]), temperature(parts[1]), int_at_least(1)(parts[2])
        return [T0 + (T1 - T0) * i / (n - 1) for i in range(n)] if n > 1 else [T0]
    if len(parts) == 1:
        return [temperature(t) for t in text.split(",")]
    raise argparse.ArgumentTypeError(f"expected T0:T1:N (e.g. 1.8:3.0:13) or T0,T1,..., got {text!r}")


def int_at_least(lo: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {v}")
        return v

    return parse


# -- progress ---------------------------------------------------------------------------------------------
class Progress:
    """Progress of ``total`` sweeps on a stream: a redrawn bar on a terminal, a few plain lines otherwise.

    Args:
        total: sweeps in the run.
        stream: where to write (stderr); None writes nothing.
        lines: number of plain lines (at evenly spaced fractions) when ``stream`` is not a terminal.
    """

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO | None, lines: int = 4, unit: str = "sweeps"):
        self.total, self.stream, self.lines, self.unit = total, stream, lines, unit
        self.tty = stream is not None and stream.isatty()
        self.start = time.perf_counter()
        self.printed = 0

    def update(self, done: int, T: float | None = None) -> None:
        """Report ``done`` sweeps finished, the last at temperature ``T`` (units of J/k_B; None: no temperature)."""
        if self.stream is None:
            return
        elapsed = time.perf_counter() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else 0.0
        temp = "" if T is None else f"  T={T:.3f}"
        stats = f"{done}/{self.total} {self.unit}{temp}  {rate:,.0f} {self.unit}/s  ETA {_clock(eta)}"
        if self.tty:
            fill = round(self.WIDTH * done / self.total)
            self.stream.write(f"\r[{'#' * fill}{'.' * (self.WIDTH - fill)}] {stats} ")
        elif done * self.lines >= (self.printed + 1) * self.total:
            self.printed = done * self.lines // self.total
            self.stream.write(f"{PROG}: {stats}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


