"""Analysis: exact reference results and statistics of Monte Carlo time series."""

from . import exact, stats

__all__ = ["exact", "stats"]
