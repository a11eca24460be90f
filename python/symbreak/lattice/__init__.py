"""Lattice simulators."""

from .ising import Ising
from .xy import XY

__all__ = ["Ising", "XY"]
