"""Analysis: exact reference results, statistics of Monte Carlo time series, XY observables, particle structure."""

from . import exact, stats, structure, xy

__all__ = ["exact", "stats", "structure", "xy"]
