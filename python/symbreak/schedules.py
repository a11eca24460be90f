"""Temperature schedules: maps from step (sweep or time step) to temperature, shared by every simulator.

A schedule has a length (its number of steps) and evaluates to a float64 array of one temperature per step::

    >>> from symbreak import schedules
    >>> s = schedules.piecewise(schedules.linear(3.5, 2.5, 100), schedules.constant(2.5, 400))
    >>> len(s), s(0), s(99), s(499)
    (500, 3.5, 2.5, 2.5)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._validate import require_finite, require_int, require_positive

__all__ = ["Schedule", "constant", "linear", "geometric", "piecewise", "as_schedule"]


class Schedule:
    """A finite temperature schedule: ``len(s)`` steps, ``s(i)`` the temperature of step ``i``."""

    def __init__(self, values: np.ndarray, description: str):
        values = np.ascontiguousarray(values, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError("schedule values must be one-dimensional")
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("schedule temperatures must be finite and >= 0 (the Ising model needs > 0)")
        self._values = values
        self._values.setflags(write=False)
        self.description = description

    def __len__(self) -> int:
        return len(self._values)

    def __call__(self, step: int) -> float:
        return float(self._values[require_int("step", step, 0, len(self) - 1)])

    @property
    def values(self) -> np.ndarray:
        """Read-only float64 array of the temperature at each step."""
        return self._values

    def __add__(self, other: "Schedule") -> "Schedule":
        return piecewise(self, other)

    def __repr__(self) -> str:
        return f"Schedule({self.description}, steps={len(self)})"


def _ramp(T0: float, T1: float, steps: int, shape: Callable[[np.ndarray], np.ndarray], name: str) -> Schedule:
    T0 = require_positive("T0", T0)
    T1 = require_positive("T1", T1)
    steps = require_int("steps", steps, 1)
    x = np.linspace(0.0, 1.0, steps) if steps > 1 else np.zeros(1)
    values = shape(x)
    values[-1] = T1 if steps > 1 else T0  # exact end points, whatever the rounding
    return Schedule(values, f"{name} {T0:g} -> {T1:g}")


def constant(T: float, steps: int) -> Schedule:
    """``steps`` steps at temperature ``T`` (T = 0 is allowed: the rotors' NVE dynamics)."""
    T = require_finite("T", T)
    if T < 0:
        raise ValueError(f"T must be >= 0 and finite, got {T}")
    return Schedule(np.full(require_int("steps", steps, 1), T), f"constant {T:g}")


def linear(T0: float, T1: float, steps: int) -> Schedule:
    """Linear ramp from ``T0`` (step 0) to ``T1`` (last step)."""
    return _ramp(T0, T1, steps, lambda x: T0 + (T1 - T0) * x, "linear")


def geometric(T0: float, T1: float, steps: int) -> Schedule:
    """Geometric (exponential) ramp from ``T0`` to ``T1``: equal ratios between consecutive steps."""
    return _ramp(T0, T1, steps, lambda x: T0 * (T1 / T0) ** x, "geometric")


def piecewise(*segments: Schedule) -> Schedule:
    """Segments run one after another, e.g. ``piecewise(linear(3.5, 2.3, 1000), constant(2.3, 5000))``."""
    if not segments or not all(isinstance(s, Schedule) for s in segments):
        raise ValueError("piecewise needs one or more Schedule segments")
    return Schedule(np.concatenate([s.values for s in segments]), " + ".join(s.description for s in segments))


def as_schedule(schedule: "Schedule | float", steps: int | None) -> Schedule:
    """A Schedule as given, or a constant one from a temperature and a step count."""
    if isinstance(schedule, Schedule):
        if steps is not None and steps != len(schedule):
            raise ValueError(f"steps={steps} disagrees with the schedule's length {len(schedule)}; omit steps")
        return schedule
    if steps is None:
        raise ValueError("a constant temperature needs the number of steps (e.g. sweeps=1000)")
    return constant(schedule, steps)
