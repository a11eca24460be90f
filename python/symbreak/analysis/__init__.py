"""Analysis: exact reference results, statistics of Monte Carlo time series, XY observables."""

from . import exact, stats, xy

__all__ = ["exact", "stats", "xy"]
