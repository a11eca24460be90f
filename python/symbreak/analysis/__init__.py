"""Analysis: exact reference results, statistics of Monte Carlo time series, XY observables, natural latents
and Kibble–Zurek quenches."""

from . import exact, latent, quench, stats, xy

__all__ = ["exact", "latent", "quench", "stats", "xy"]
