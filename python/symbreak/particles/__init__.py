"""Particles in a periodic box that crystallise: neighbour-list molecular dynamics (C++ core)."""

from .system import LJ, INTEGRATORS, LJForceShifted, Morse, ParticleSystem, SoftCore

__all__ = ["ParticleSystem", "LJ", "LJForceShifted", "Morse", "SoftCore", "INTEGRATORS"]
