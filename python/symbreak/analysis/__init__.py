"""Analysis: exact reference results, statistics of Monte Carlo time series, XY observables, natural latents,
Kibble–Zurek quenches and particle structure."""

from . import exact, latent, quench, stats, structure, xy

__all__ = ["exact", "latent", "quench", "stats", "structure", "xy"]
