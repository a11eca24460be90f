"""bench/lammps_peer.py: the O(N²) reference is right, LAMMPS agrees with it, and the shared initial states are
what they claim to be."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from symbreak.analysis import structure as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import lammps_peer as lp  # noqa: E402


@pytest.fixture(scope="module")
def lammps():
    try:
        return lp.import_lammps()
    except ImportError as e:
        pytest.skip(str(e))


def states():
    return {2: lp.random_state(150, [18.0, 17.0], seed=3), 3: lp.random_state(200, [8.0, 7.5, 7.0], seed=4)}


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


# --- the reference itself -----------------------------------------------------------------------------------


def test_brute_force_two_particles():
    box = np.array([10.0, 10.0, 10.0])
    vc = 4 * (2.5 ** -12 - 2.5 ** -6)
    for r, f_expected in [(2 ** (1 / 6), 0.0), (1.0, 24.0), (1.5, 24 * (2 * 1.5 ** -13 - 1.5 ** -7))]:
        res = lp.lj_brute_force([[1.0, 1.0, 1.0], [1.0 + r, 1.0, 1.0]], box)
        assert res.energy == pytest.approx(4 * (r ** -12 - r ** -6) - vc, abs=1e-14)
        assert res.forces[1, 0] == pytest.approx(f_expected, abs=1e-12)  # repulsion pushes particle 1 to +x
        assert res.virial == pytest.approx(f_expected * r, abs=1e-12)
    beyond = lp.lj_brute_force([[0.5, 1.0, 1.0], [9.5, 1.0, 1.0]], box)  # 1.0 apart through the boundary
    assert beyond.energy == pytest.approx(-vc, abs=1e-14) and beyond.forces[0, 0] == pytest.approx(24.0)
    unshifted = lp.lj_brute_force([[1.0, 1.0, 1.0], [2.0, 1.0, 1.0]], box, shift=False)
    assert unshifted.energy == 0.0


@pytest.mark.parametrize("dim", [2, 3])
def test_brute_force_is_minus_gradient(dim):
    s = states()[dim]
    res = lp.lj_brute_force(s.positions, s.box)
    np.testing.assert_allclose(res.forces.sum(axis=0), 0.0, atol=1e-11)
    h = 1e-6
    for i, axis in [(0, 0), (7, 1), (42, dim - 1)]:
        plus, minus = s.positions.copy(), s.positions.copy()
        plus[i, axis] += h
        minus[i, axis] -= h
        grad = (lp.lj_brute_force(plus, s.box).energy - lp.lj_brute_force(minus, s.box).energy) / (2 * h)
        assert -grad == pytest.approx(res.forces[i, axis], rel=1e-6, abs=1e-6)
    # Virial: W = -dU/dλ at λ = 1 for a uniform scaling r → λ r of positions and box.
    scaled = [lp.lj_brute_force(s.positions * lam, s.box * lam).energy for lam in (1 + h, 1 - h)]
    assert res.virial == pytest.approx(-(scaled[0] - scaled[1]) / (2 * h), rel=1e-6)


# --- LAMMPS vs the reference --------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("shift", [True, False])
def test_lammps_forces_match_brute_force(lammps, dim, shift):
    s = states()[dim]
    ref = lp.lj_brute_force(s.positions, s.box, shift=shift)
    got = lp.lammps_forces(s.positions, s.box, s.velocities, shift=shift)
    assert got.forces.shape == s.positions.shape
    assert rel(got.forces, ref.forces) < 1e-10
    assert got.energy == pytest.approx(ref.energy, rel=1e-10)
    assert got.virial == pytest.approx(ref.virial, rel=1e-10)
    pressure = st.pressure(st.kinetic_energy(s.velocities), ref.virial, float(np.prod(s.box)), dim)
    assert got.pressure == pytest.approx(pressure, rel=1e-10)


def test_lammps_other_parameters_masses_and_threads(lammps):
    s = states()[3]
    masses = np.where(np.arange(200) % 3 == 0, 2.0, 0.5)
    ref = lp.lj_brute_force(s.positions, s.box, epsilon=0.7, sigma=1.1, r_cut=3.0)
    got = lp.lammps_forces(s.positions, s.box, s.velocities, masses=masses, epsilon=0.7, sigma=1.1, r_cut=3.0,
                           threads=2)
    assert rel(got.forces, ref.forces) < 1e-10 and got.energy == pytest.approx(ref.energy, rel=1e-10)
    kinetic = st.kinetic_energy(s.velocities, masses)
    assert got.pressure == pytest.approx(st.pressure(kinetic, ref.virial, float(np.prod(s.box)), 3), rel=1e-10)


@pytest.mark.parametrize("dim", [2, 3])
def test_lammps_nve_rate(lammps, dim):
    s = lp.triangular_state(512) if dim == 2 else lp.fcc_state(4)
    out = lp.lammps_nve_rate(s.positions, s.velocities, s.box, steps=50, dt=0.005)
    assert out["particle_steps_per_s"] > 0 and out["seconds"] > 0
    assert out["n"] == len(s.positions) and out["dim"] == dim and out["precision"] == "double"
    assert out["pair_style"] == "lj/cut" and out["threads"] == 1
    e0, e1 = out["etotal_per_particle"]
    assert abs(e1 - e0) < 2e-3  # velocity Verlet at dt = 0.005 conserves energy closely over the 50 timed steps


# --- shared initial states ----------------------------------------------------------------------------------


def test_fcc_state_is_lammps_bench_conditions():
    s = lp.fcc_state(5)
    assert s.positions.shape == (500, 3)
    assert len(s.positions) / np.prod(s.box) == pytest.approx(0.8442, rel=1e-12)
    assert st.temperature(s.velocities) == pytest.approx(1.44, rel=1e-12)
    np.testing.assert_allclose(st.momentum(s.velocities), 0.0, atol=1e-12)
    np.testing.assert_allclose(st.steinhardt_q(s.positions, s.box).q, 0.5745242597140699, rtol=1e-10)
    assert lp.fcc_state().positions.shape == (32000, 3)
    np.testing.assert_array_equal(lp.fcc_state(5).velocities, s.velocities)  # seeded


def test_triangular_state():
    s = lp.triangular_state(4096, density=0.8, temperature=1.0, jitter=0.0)
    a = math.sqrt(2 / (math.sqrt(3) * 0.8))
    np.testing.assert_allclose(s.box, [64 * a, 32 * math.sqrt(3) * a])
    assert len(s.positions) / np.prod(s.box) == pytest.approx(0.8, rel=1e-12)
    assert st.psi6(s.positions, s.box).order == pytest.approx(1.0, abs=1e-12)
    assert st.temperature(s.velocities) == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(st.momentum(s.velocities), 0.0, atol=1e-11)
    jittered = lp.triangular_state(4096, seed=5)
    assert 0.5 < st.psi6(jittered.positions, jittered.box).order < 1.0


@pytest.mark.parametrize("call, match", [
    (lambda: lp.triangular_state(101), "n must be even"),
    (lambda: lp.triangular_state(100, jitter=0.7), "jitter"),
    (lambda: lp.fcc_state(1), "n_cells"),
    (lambda: lp.fcc_state(3, density=0.0), "density"),
    (lambda: lp.random_state(500, [5.0, 5.0]), "could not place"),
    (lambda: lp.lj_brute_force(np.zeros((2, 2)), [4.0, 4.0]), "box too small"),
    (lambda: lp.lj_brute_force(np.zeros((2, 2)), [8.0, 8.0], r_cut=-1.0), "r_cut"),
    (lambda: lp.lj_brute_force(np.zeros((2, 3)), [8.0, 8.0]), "positions"),
    (lambda: lp.lammps_forces(np.zeros((2, 2)), [8.0, 8.0], threads=0), "threads"),
    (lambda: lp.lammps_nve_rate(np.zeros((2, 2)), None, [8.0, 8.0], steps=5), "velocities"),
    (lambda: lp.lammps_nve_rate(np.zeros((2, 2)), np.zeros((2, 2)), [8.0, 8.0], steps=0), "steps"),
    (lambda: lp.lammps_nve_rate(np.zeros((2, 2)), np.zeros((2, 2)), [8.0, 8.0], steps=5, dt=0.0), "dt"),
])
def test_errors_name_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
