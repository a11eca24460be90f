"""Lattice simulators."""

from .ising import Ising

__all__ = ["Ising"]
