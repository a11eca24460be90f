"""symbreak.analysis.structure: exact lattice values, ideal-gas limits, and freud as the oracle on the same frames."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

from symbreak.analysis import structure as st

freud = pytest.importorskip("freud")

SQ3 = math.sqrt(3.0)


def triangular(cx, cy, a=1.0):
    """Periodic triangular lattice: cx × cy rectangular cells a × √3a, 2 particles each, bonds along x."""
    ix, iy = np.meshgrid(np.arange(cx), np.arange(cy), indexing="ij")
    cell = np.stack([ix.ravel() * a, iy.ravel() * SQ3 * a], axis=1)
    return np.concatenate([cell, cell + [a / 2, SQ3 * a / 2]]), np.array([cx * a, cy * SQ3 * a])


def patch(theta, centre, radius, a=1.0):
    """A disc of triangular lattice rotated by theta around its centre (for orientations that no box fits)."""
    pts, _ = triangular(60, 35, a)
    pts = pts - pts.mean(axis=0)
    pts = pts[np.hypot(*pts.T) < radius]
    c, s = math.cos(theta), math.sin(theta)
    return pts @ np.array([[c, s], [-s, c]]) + centre


def cubic(n, basis):
    cells = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    return (cells + np.asarray(basis, dtype=float)).reshape(-1, 3), np.full(3, float(n))


def freud_system(pos, box):
    """freud's view of our frame: box from side lengths (Lz = 0 in 2D), points centred and padded to 3D."""
    fbox = freud.box.Box.from_box(list(box) if len(box) == 3 else [box[0], box[1]])
    p3 = np.zeros((len(pos), 3))
    p3[:, : len(box)] = pos - box / 2
    return fbox, p3


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


# --- thermodynamics -----------------------------------------------------------------------------------------


def test_kinetic_temperature_momentum(rng):
    v = rng.normal(size=(50, 3))
    m = rng.uniform(0.5, 2.0, 50)
    k = 0.5 * sum(mi * vi @ vi for mi, vi in zip(m, v))
    assert st.kinetic_energy(v, m) == pytest.approx(k, rel=1e-14)
    assert st.kinetic_energy(v.astype(np.float32)) == pytest.approx(0.5 * np.sum(v.astype(np.float32) ** 2.0))
    assert st.temperature(v, m) == pytest.approx(2 * k / (3 * 50 - 3), rel=1e-14)
    assert st.temperature(v, m, dof=150) == pytest.approx(2 * k / 150, rel=1e-14)
    np.testing.assert_allclose(st.momentum(v, m), (m[:, None] * v).sum(axis=0), rtol=1e-13)


def test_pressure_convention():
    # Ideal gas: P = 2K/(dV) = N T / V with K = d N T / 2.
    assert st.pressure(kinetic=150.0, virial=0.0, volume=100.0, dim=3) == pytest.approx(1.0)
    assert st.pressure(kinetic=100.0, virial=40.0, volume=60.0, dim=2) == pytest.approx((200.0 + 40.0) / 120.0)


@pytest.mark.parametrize("call, match", [
    (lambda: st.pressure(1.0, 0.0, 1.0, dim=4), "dim"),
    (lambda: st.pressure(1.0, 0.0, 0.0, dim=3), "volume"),
    (lambda: st.pressure(-1.0, 0.0, 1.0, dim=3), "kinetic"),
    (lambda: st.pressure(1.0, float("nan"), 1.0, dim=3), "virial"),
    (lambda: st.temperature(np.ones((1, 2))), "dof"),
    (lambda: st.kinetic_energy(np.ones((4, 2)), masses=np.ones(3)), "masses"),
    (lambda: st.kinetic_energy(np.ones((4, 2)), masses=-1.0), "masses"),
    (lambda: st.kinetic_energy(np.ones((4, 4))), "velocities"),
    (lambda: st.momentum(np.full((4, 2), np.inf)), "velocities"),
])
def test_thermo_errors_name_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- g(r) ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [2, 3])
def test_rdf_ideal_gas_is_one(rng, dim):
    box = np.array([60.0, 50.0] if dim == 2 else [16.0, 15.0, 14.0])
    n = 4000
    pos = rng.uniform(0, 1, (n, dim)) * box
    r, g = st.rdf(pos, box, r_max=6.0, bins=24)
    # Poisson error of each bin: unordered pairs expected = N ρ' ΔV / 2.
    edges = np.linspace(0, 6.0, 25)
    shell = (math.pi if dim == 2 else 4 * math.pi / 3) * np.diff(edges ** dim)
    sigma = 1 / np.sqrt(n * (n - 1) / np.prod(box) * shell / 2)
    assert np.all(np.abs(g - 1) < 5 * sigma)
    assert abs(np.average(g, weights=shell) - 1) < 0.01
    np.testing.assert_allclose(r, 0.5 * (edges[1:] + edges[:-1]))


@pytest.mark.parametrize("frame", ["gas2d", "lattice2d", "gas3d", "fcc3d"])
def test_rdf_matches_freud(rng, frame):
    if frame == "gas2d":
        box = np.array([23.0, 19.0])
        pos = rng.uniform(0, 1, (900, 2)) * box
    elif frame == "lattice2d":
        pos, box = triangular(20, 12, a=1.1)
        pos = st.wrap(pos + rng.normal(0, 0.08, pos.shape), box)
    elif frame == "gas3d":
        box = np.array([11.0, 10.0, 12.0])
        pos = rng.uniform(0, 1, (1000, 3)) * box
    else:
        pos, box = cubic(6, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
        pos = st.wrap(1.2 * pos + rng.normal(0, 0.05, pos.shape), 1.2 * box)
        box = 1.2 * box
    r_max, bins = 0.5 * box.min() * 0.99, 80
    r, g = st.rdf(pos, box, r_max, bins)
    ref = freud.density.RDF(bins, r_max, normalization_mode="finite_size").compute(freud_system(pos, box))
    np.testing.assert_allclose(r, ref.bin_centers, atol=1e-5)
    # Compare pair counts: freud works in float32, so a pair within ~1e-6 of a bin edge may land in the next bin.
    n = len(pos)
    edges = np.linspace(0, r_max, bins + 1)
    shell = (math.pi if len(box) == 2 else 4 * math.pi / 3) * np.diff(edges ** len(box))
    to_counts = n * (n - 1) / np.prod(box) * shell
    diff = np.abs(np.rint(g * to_counts) - np.rint(ref.rdf * to_counts))
    assert diff.max() <= 2 and diff.sum() <= 8
    np.testing.assert_allclose(g * to_counts, np.rint(g * to_counts), atol=1e-6)  # our g is exact counts / norm


def test_rdf_lattice_peaks():
    pos, box = triangular(12, 7)
    r, g = st.rdf(pos, box, r_max=3.0, bins=300)
    first = r[np.argmax(g > 0)]
    assert abs(first - 1.0) < 0.01 and np.all(g[r < 0.99] == 0)


# --- ψ6 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transpose", [False, True])
def test_psi6_perfect_triangular_lattice(transpose):
    pos, box = triangular(12, 7, a=1.3)
    if transpose:  # the lattice rotated by 90°: orientation π/2 mod π/3 = π/6
        pos, box = pos[:, ::-1], box[::-1]
    h = st.psi6(st.wrap(pos + 0.123, box), box)
    np.testing.assert_allclose(np.abs(h.psi), 1.0, atol=1e-12)
    assert h.order == pytest.approx(1.0, abs=1e-12)
    expected = math.pi / 6 if transpose else 0.0
    wrapped = np.angle(np.exp(6j * (h.local_orientation - expected))) / 6  # circular distance, period π/3
    assert np.all(np.abs(wrapped) < 1e-12)
    assert np.all((h.local_orientation >= 0) & (h.local_orientation < math.pi / 3))


@pytest.mark.parametrize("theta", [0.3, 0.9, 1.2])
def test_psi6_orientation_is_the_lattice_rotation(theta):
    box = np.array([40.0, 40.0])
    pos = patch(theta, box / 2, radius=9.0)
    h = st.psi6(pos, box)
    interior = np.hypot(*(pos - box / 2).T) < 7.0
    np.testing.assert_allclose(np.abs(h.psi[interior]), 1.0, atol=1e-9)
    np.testing.assert_allclose(h.local_orientation[interior], theta % (math.pi / 3), atol=1e-9)


@pytest.mark.parametrize("frame", ["gas", "lattice"])
def test_psi6_matches_freud(rng, frame):
    if frame == "gas":
        box = np.array([30.0, 26.0])
        pos = rng.uniform(0, 1, (700, 2)) * box
    else:
        pos, box = triangular(24, 14, a=1.12)
        pos = st.wrap(pos + rng.normal(0, 0.1, pos.shape), box)
    h = st.psi6(pos.astype(np.float32), box)
    ref = freud.order.Hexatic(k=6).compute(freud_system(pos.astype(np.float32), box),
                                           neighbors={"num_neighbors": 6})
    np.testing.assert_allclose(h.psi, ref.particle_order, atol=2e-4)
    assert h.order == pytest.approx(abs(np.mean(ref.particle_order)), abs=1e-5)
    if frame == "gas":
        assert h.order < 0.1


def test_psi6_float32_equals_float64(rng):
    box = np.array([12.0, 12.0])
    pos = (rng.uniform(0, 1, (200, 2)) * box).astype(np.float32)
    a, b = st.psi6(pos, box), st.psi6(pos.astype(np.float64), box)
    np.testing.assert_array_equal(a.psi, b.psi)


# --- Steinhardt ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("basis, k, expected", [
    ([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], 12, 0.5745242597140699),  # fcc
    ([[0, 0, 0], [0.5, 0.5, 0.5]], 14, 0.5106882308569508),  # bcc, 8 + 6 neighbours
    ([[0, 0, 0]], 6, math.sqrt(2) / 4),  # simple cubic
])
def test_q6_perfect_lattices(basis, k, expected):
    pos, box = cubic(4, basis)
    s = st.steinhardt_q(st.wrap(1.7 * pos + 0.01, 1.7 * box), 1.7 * box, k=k)
    np.testing.assert_allclose(s.q, expected, rtol=1e-12)
    assert s.order == pytest.approx(expected, rel=1e-12)


def test_q6_random_gas_small(rng):
    box = np.array([12.0, 12.0, 12.0])
    pos = rng.uniform(0, 1, (1500, 3)) * box
    s = st.steinhardt_q(pos, box)
    assert s.order < 0.05  # ~ 1/sqrt(N k)
    assert 0.2 < s.q.mean() < 0.45  # ~ 1/sqrt(k) per particle


@pytest.mark.parametrize("l", [0, 1, 2, 6, 12])
def test_spherical_harmonics_equal_scipys(rng, l):
    """The recurrence behind steinhardt_q against scipy's Y_l^m, poles and the equator included."""
    special = pytest.importorskip("scipy.special")
    vec = np.concatenate([rng.normal(size=(300, 3)) * rng.uniform(0.1, 3.0, (300, 1)),
                          [[0, 0, 2.0], [0, 0, -0.5], [1.0, 0, 0], [0, -3.0, 0], [1.0, 1.0, 1e-9]]])
    r = np.linalg.norm(vec, axis=1)
    polar, azimuth = np.arccos(vec[:, 2] / r), np.arctan2(vec[:, 1], vec[:, 0])
    m = np.arange(l + 1)[:, None]
    want = (special.sph_harm_y(l, m, polar, azimuth) if hasattr(special, "sph_harm_y")
            else special.sph_harm(m, l, azimuth, polar))
    np.testing.assert_allclose(st._ylm(l, vec), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("neighbours", [{"k": 12}, {"r_cut": 1.5}])
def test_steinhardt_matches_freud(rng, neighbours):
    box = np.array([9.0, 10.0, 8.5])
    pos = rng.uniform(0, 1, (700, 3)) * box
    s = st.steinhardt_q(pos, box, l=6, **neighbours)
    query = {"num_neighbors": neighbours["k"]} if "k" in neighbours else {"r_max": neighbours["r_cut"]}
    ref = freud.order.Steinhardt(6).compute(freud_system(pos, box), neighbors=query)
    np.testing.assert_allclose(s.q, ref.particle_order, atol=1e-4)
    assert s.order == pytest.approx(ref.order, abs=1e-5)


def test_steinhardt_other_l_matches_freud(rng):
    box = np.array([8.0, 8.0, 8.0])
    pos = rng.uniform(0, 1, (400, 3)) * box
    for l in (4, 8):
        ref = freud.order.Steinhardt(l).compute(freud_system(pos, box), neighbors={"num_neighbors": 10})
        np.testing.assert_allclose(st.steinhardt_q(pos, box, l=l, k=10).q, ref.particle_order, atol=1e-4)


# --- grains -------------------------------------------------------------------------------------------------


def test_crystal_grains_separates_two_orientations():
    box = np.array([60.0, 30.0])
    left, right = patch(0.1, [15.0, 15.0], 9.0), patch(0.5, [45.0, 15.0], 9.0)
    pos = np.concatenate([left, right])
    labels = st.crystal_grains(pos, box)
    inner_l = np.hypot(*(left - [15.0, 15.0]).T) < 7.0
    inner_r = np.hypot(*(right - [45.0, 15.0]).T) < 7.0
    a, b = labels[: len(left)][inner_l], labels[len(left):][inner_r]
    assert len(set(a)) == 1 and len(set(b)) == 1 and a[0] >= 0 and b[0] >= 0 and a[0] != b[0]
    assert set(labels) <= set(range(-1, labels.max() + 1))


def test_crystal_grains_lattice_and_gas(rng):
    pos, box = triangular(12, 7)
    assert np.all(st.crystal_grains(pos, box) == 0)
    gas_box = np.array([30.0, 30.0])
    gas = rng.uniform(0, 1, (700, 2)) * gas_box
    assert np.mean(st.crystal_grains(gas, gas_box, min_size=5) == -1) > 0.95


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda p, b: st.rdf(p, b, r_max=6.0), "r_max"),
    (lambda p, b: st.rdf(p, b, r_max=1.0, bins=0), "bins"),
    (lambda p, b: st.rdf(p[:, :1], b, r_max=1.0), "positions"),
    (lambda p, b: st.rdf(np.column_stack([p, p[:, 0]]), b, r_max=1.0), "positions"),
    (lambda p, b: st.rdf(p + 5.0, b, r_max=1.0), r"\[0, L\)"),
    (lambda p, b: st.rdf(np.where(p > 5, np.nan, p), b, r_max=1.0), "finite"),
    (lambda p, b: st.rdf(p, [10.0, -1.0], r_max=1.0), "box"),
    (lambda p, b: st.rdf(p, [10.0], r_max=1.0), "box"),
    (lambda p, b: st.psi6(p, b, k=0), "k"),
    (lambda p, b: st.psi6(p[:5], b), "k = 6"),
    (lambda p, b: st.psi6([[0, 0], [1, 0], [0, 1], [1, 1], [2, 0], [0, 2], [5.5, 5.5]], b), "box too small"),
    (lambda p, b: st.psi6(np.concatenate([p, p[:1]]), b), "coincide"),
    (lambda p, b: st.psi6(np.zeros((10, 3)), [5.0, 5.0, 5.0]), "2D"),
    (lambda p, b: st.steinhardt_q(p, b), "3D"),
    (lambda p, b: st.steinhardt_q(np.zeros((20, 3)), [9.0] * 3, k=4, r_cut=1.0), "not both"),
    (lambda p, b: st.steinhardt_q(np.zeros((20, 3)), [9.0] * 3, r_cut=5.0), "r_cut"),
    (lambda p, b: st.crystal_grains(p, b, min_order=2.0), "min_order"),
    (lambda p, b: st.crystal_grains(p, b, max_misorientation=0.0), "max_misorientation"),
])
def test_structure_errors_name_the_problem(rng, call, match):
    box = np.array([10.0, 10.0])
    pos = rng.uniform(0, 1, (300, 2)) * box
    with pytest.raises(ValueError, match=match):
        call(pos, box)


def test_wrap_into_half_open_box():
    box = np.array([10.0, 4.0])
    w = st.wrap(np.array([[-1e-20, 4.0], [10.0, -3.0], [25.5, 1.0]]), box)
    np.testing.assert_array_equal(w, [[0.0, 0.0], [0.0, 1.0], [5.5, 1.0]])


@settings(max_examples=60, deadline=None)
@given(dim=hs.sampled_from([2, 3]), n=hs.integers(0, 40), side=hs.sampled_from([-1.0, 0.0, 2.0, 6.0, 12.0]),
       bad=hs.sampled_from([None, math.nan, math.inf, -0.5, 1.0]), data=hs.data())
def test_fuzz_bad_input_is_a_value_error(dim, n, side, bad, data):
    """Boxes too small or invalid, NaN/inf/outside positions, too few particles: a result or a ValueError."""
    box = np.full(dim, side)
    pos = data.draw(hnp.arrays(np.float64, (n, dim), elements=hs.floats(0.0, 0.999))) * abs(side)
    if bad is not None and n:
        pos[data.draw(hs.integers(0, n - 1)), 0] = bad * abs(side) if bad in (-0.5, 1.0) else bad
    for call in (lambda: st.rdf(pos, box, r_max=2.0, bins=7), lambda: st.psi6(pos, box),
                 lambda: st.steinhardt_q(pos, box), lambda: st.steinhardt_q(pos, box, r_cut=1.5),
                 lambda: st.crystal_grains(pos, box)):
        try:
            call()
        except ValueError:
            pass
