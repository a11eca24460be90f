"""Particles in a periodic box: trajectories (GSD, extended XYZ)."""

from .trajectory import Frame, GSDWriter, XYZWriter, read_trajectory, trajectory_writer, write_trajectory

__all__ = ["Frame", "GSDWriter", "XYZWriter", "read_trajectory", "trajectory_writer", "write_trajectory"]
