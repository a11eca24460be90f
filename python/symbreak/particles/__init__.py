"""Particles in a periodic box that crystallise: neighbour-list molecular dynamics (C++ core) and
trajectories (GSD, extended XYZ)."""

from .system import INTEGRATORS, LJ, LJForceShifted, Morse, ParticleSystem, SoftCore
from .trajectory import Frame, GSDWriter, XYZWriter, read_trajectory, trajectory_writer, write_trajectory

__all__ = ["ParticleSystem", "LJ", "LJForceShifted", "Morse", "SoftCore", "INTEGRATORS",
           "Frame", "GSDWriter", "XYZWriter", "read_trajectory", "trajectory_writer", "write_trajectory"]
