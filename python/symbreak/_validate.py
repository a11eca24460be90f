"""Argument checks at the Python boundary: each raises ValueError naming the parameter and the allowed range."""

from __future__ import annotations

import math
from typing import Any, Sequence


def require_finite(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def require_positive(name: str, value: Any) -> float:
    v = require_finite(name, value)
    if v <= 0.0:
        raise ValueError(f"{name} must be > 0 and finite, got {v}")
    return v


def require_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value.__index__())
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v


def require_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value
