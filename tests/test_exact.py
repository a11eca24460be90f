"""Tests for symbreak.analysis.exact against the spec's reference values and independent
calculations (SciPy elliptic integrals, hand-worked 2 x 2 lattice, explicit brute force)."""
import itertools
import math

import numpy as np
import pytest
from scipy.special import ellipk

from symbreak.analysis import exact

TC = 2 / math.log(1 + math.sqrt(2))
TS = [1.5, 2.0, TC, 3.0]
U_L4 = [-1.950642561, -1.755380289, -1.565623788, -1.017069627]
U_L32 = [-1.951116573, -1.745564527, -1.433658466, -0.817309739]
U_INF = [-1.9511165731, -1.7455645753, -1.4142135624, -0.8173095925]
FIELDS = ("log_z", "energy", "specific_heat", "abs_magnetization", "m2", "m4", "binder")


def brute_force(shape, T, h=0.0, J=1.0):
    """Independent reference: explicit bond list and a Python loop over all states."""
    sites = list(itertools.product(*map(range, shape)))
    index = {s: i for i, s in enumerate(sites)}
    bonds = [(index[s], index[tuple((x + (b == a)) % n for b, (x, n) in enumerate(zip(s, shape)))])
             for s in sites for a in range(len(shape))]
    N = len(sites)
    H, m = [], []
    for spins in itertools.product((1, -1), repeat=N):
        m.append(sum(spins) / N)
        H.append(-J * sum(spins[i] * spins[j] for i, j in bonds) - h * N * m[-1])
    H, m = np.array(H), np.array(m)
    w = np.exp(-(H - H.min()) / T)
    p = w / w.sum()
    u = p @ H
    m2, m4 = p @ m**2, p @ m**4
    return dict(log_z=math.log(w.sum()) - H.min() / T, energy=u / N,
                specific_heat=p @ (H - u) ** 2 / (N * T**2), abs_magnetization=p @ abs(m),
                m2=m2, m4=m4, binder=1 - m4 / (3 * m2**2))


def test_constants():
    assert exact.TC_2D == pytest.approx(2.269185314213022, abs=1e-15)
    assert exact.TC_3D == 4.5115232


@pytest.mark.parametrize("T, u", list(zip(TS, U_INF)))
def test_onsager_energy_reference(T, u):
    assert exact.onsager_energy(T) == pytest.approx(u, abs=2e-10)


def test_onsager_energy_at_tc_and_vs_scipy():
    assert exact.onsager_energy(TC) == pytest.approx(-math.sqrt(2), abs=1e-14)
    for eps in (1e-6, -1e-6):
        assert exact.onsager_energy(TC * (1 + eps)) == pytest.approx(-math.sqrt(2), abs=1e-4)
    T = np.array([0.5, 1.0, 2.0, 2.2, 2.3, 2.5, 4.0, 10.0])
    K = 1 / T
    q = 2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2
    ref = -1 / np.tanh(2 * K) * (1 + 2 / np.pi * (2 * np.tanh(2 * K) ** 2 - 1) * ellipk(q**2))
    np.testing.assert_allclose(exact.onsager_energy(T), ref, rtol=1e-12)
    np.testing.assert_allclose(exact.onsager_energy(2 * T, J=2.0), 2 * ref, rtol=1e-12)


@pytest.mark.parametrize("T, m", [(1.5, 0.9864996026), (2.0, 0.9113193779), (2.2, 0.7847551314),
                                  (TC, 0.0), (2.5, 0.0), (10.0, 0.0)])
def test_onsager_magnetization(T, m):
    assert exact.onsager_magnetization(T) == pytest.approx(m, abs=2e-10)


def test_onsager_specific_heat():
    T = np.array([1.0, 1.5, 2.0, 2.2, 2.25, 2.3, 2.5, 3.0, 5.0, 10.0])
    d = 1e-4
    u = exact.onsager_energy
    num = (u(T - 2 * d) - 8 * u(T - d) + 8 * u(T + d) - u(T + 2 * d)) / (12 * d)
    np.testing.assert_allclose(exact.onsager_specific_heat(T), num, rtol=1e-8)
    assert exact.onsager_specific_heat(TC) == math.inf
    # logarithmic divergence, amplitude (8/pi) K_c^2 per e-fold of |1 - T/T_c|, both sides
    for side in (1, -1):
        c1, c2 = (exact.onsager_specific_heat(TC * (1 + side * e)) for e in (1e-6, 1e-7))
        assert c2 - c1 == pytest.approx(8 / math.pi / TC**2 * math.log(10), rel=1e-4)


@pytest.mark.parametrize("T, u", list(zip(TS, U_L32)))
def test_kaufman_reference_l32(T, u):
    assert exact.kaufman_energy(32, T) == pytest.approx(u, abs=1e-9)


@pytest.mark.parametrize("method", ["enumerate", "transfer"])
def test_enumeration_reference_l4(method):
    res = exact.enumerate_ising((4, 4), TS, method=method)
    np.testing.assert_allclose(res.energy, U_L4, atol=1e-9)
    np.testing.assert_allclose(exact.kaufman_energy(4, TS), U_L4, atol=1e-9)


@pytest.mark.parametrize("L", [2, 3, 4, 5, 6])
def test_kaufman_matches_enumeration(L):
    T = np.array([0.5, 1.0, 1.5, 2.0, TC, 2.5, 3.0, 5.0, 10.0])
    res = exact.enumerate_ising((L, L), T)
    np.testing.assert_allclose(exact.kaufman_log_partition(L, T), res.log_z, rtol=1e-12)
    np.testing.assert_allclose(exact.kaufman_energy(L, T), res.energy, atol=1e-10)
    np.testing.assert_allclose(exact.kaufman_specific_heat(L, T), res.specific_heat, atol=1e-10)


def test_kaufman_large_lattice():
    T = np.array([1.0, 1.5, 2.0, 3.0, 5.0])
    np.testing.assert_allclose(exact.kaufman_energy(256, T), exact.onsager_energy(T), atol=1e-10)
    np.testing.assert_allclose(exact.kaufman_specific_heat(256, T),
                               exact.onsager_specific_heat(T), rtol=1e-8)
    gaps = [abs(exact.kaufman_energy(L, TC) + math.sqrt(2)) for L in (32, 64, 128, 256)]
    assert all(a > b > 0 for a, b in zip(gaps, gaps[1:]))
    assert gaps[-1] < 3e-3
    # c(T_c, L) = A ln L + B + O(1/L), A = (8/pi) K_c^2, B = 0.1381 (Ferdinand and Fisher 1969)
    A = 8 / math.pi / TC**2
    c = {L: exact.kaufman_specific_heat(L, TC) for L in (128, 256, 512, 1024)}
    corr = [c[2 * L] - c[L] - A * math.log(2) for L in (128, 256, 512)]
    assert 0 < corr[2] < 2e-4
    assert corr[0] / corr[1] == pytest.approx(2, rel=1e-2)  # O(1/L) correction
    assert corr[1] / corr[2] == pytest.approx(2, rel=1e-2)
    assert c[1024] - A * math.log(1024) == pytest.approx(0.1381, abs=3e-4)
    grid = np.linspace(0.5, 10, 60)
    for f in (exact.kaufman_log_partition, exact.kaufman_energy, exact.kaufman_specific_heat):
        assert np.all(np.isfinite(f(256, grid)))
    np.testing.assert_allclose(exact.kaufman_energy(8, 2 * grid, J=2.0),
                               2 * exact.kaufman_energy(8, grid), rtol=1e-13)


@pytest.mark.parametrize("method", ["enumerate", "transfer"])
def test_two_by_two_by_hand(method):
    # Periodic 2 x 2: every bond is doubled, sum_<ij> s_i s_j = 2 (s0 s1 + s2 s3 + s0 s2 + s1 s3).
    # All up/down: E = -8 (2 states); one spin flipped: E = 0 (8, M = +-2);
    # adjacent pair flipped: E = 0 (4, M = 0); diagonal pair flipped: E = +8 (2, M = 0).
    e, m, g = exact.density_of_states((2, 2))
    table = {(int(a), int(b)): int(c) for a, b, c in zip(e, m, g)}
    assert table == {(-8, 4): 1, (-8, -4): 1, (0, 2): 4, (0, -2): 4, (0, 0): 4, (8, 0): 2}
    for K in (0.1, 0.4, 1.0):
        Z = 2 * math.exp(8 * K) + 12 + 2 * math.exp(-8 * K)
        res = exact.enumerate_ising((2, 2), 1 / K, method=method)
        assert res.log_z == pytest.approx(math.log(Z), rel=1e-13)
        assert res.energy == pytest.approx(-2 * math.sinh(8 * K) / (math.cosh(8 * K) + 3), rel=1e-13)
        assert res.m2 == pytest.approx((2 * math.exp(8 * K) + 2) / Z, rel=1e-13)
        assert res.abs_magnetization == pytest.approx((2 * math.exp(8 * K) + 4) / Z, rel=1e-13)
        assert res.m4 == pytest.approx((2 * math.exp(8 * K) + 0.5) / Z, rel=1e-13)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3), (2, 2, 2), (3, 2, 2)])
@pytest.mark.parametrize("h, J", [(0.0, 1.0), (0.37, 1.0), (-0.2, -0.7)])
def test_against_brute_force(shape, h, J):
    for T in (0.8, 2.0, 4.5):
        ref = brute_force(shape, T, h, J)
        for method in ("enumerate", "transfer"):
            res = exact.enumerate_ising(shape, T, h=h, J=J, method=method)
            for f in FIELDS:
                assert getattr(res, f) == pytest.approx(ref[f], rel=1e-10, abs=1e-12), (method, f)


@pytest.mark.parametrize("shape, h", [((4, 5), 0.3), ((3, 3, 2), -0.2), ((4, 4), 0.0)])
def test_transfer_equals_density_of_states(shape, h):
    T = np.array([0.6, 1.5, TC, 4.0, 9.0])
    a = exact.enumerate_ising(shape, T, h=h, method="enumerate")
    b = exact.enumerate_ising(shape, T, h=h, method="transfer")
    for f in FIELDS:
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-10, atol=1e-13)


def test_transfer_larger_lattices():
    T = np.array([1.0, 2.0, TC, 3.0])
    res = exact.enumerate_ising((8, 8), T)
    np.testing.assert_allclose(res.energy, exact.kaufman_energy(8, T), atol=1e-10)
    np.testing.assert_allclose(res.specific_heat, exact.kaufman_specific_heat(8, T), atol=1e-10)
    assert res.binder[0] == pytest.approx(2 / 3, abs=1e-3)
    assert 0.6 < res.binder[2] < 0.62  # near the crossing value U* = 0.611
    # 3D: the energy and specific heat are the T-derivatives of ln Z and of u
    T0, d = 4.0, 1e-3
    r = [exact.enumerate_ising((4, 4, 2), T0 + k * d) for k in (-2, -1, 0, 1, 2)]
    stencil = np.array([1, -8, 0, 8, -1]) / (12 * d)
    assert r[2].energy == pytest.approx(T0**2 * stencil @ [x.log_z for x in r] / 32, rel=1e-9)
    assert r[2].specific_heat == pytest.approx(stencil @ [x.energy for x in r], rel=1e-8)


def test_vectorisation_and_types():
    T = np.array([[1.0, 2.0], [3.0, 4.0]])
    for f in (exact.onsager_energy, exact.onsager_specific_heat, exact.onsager_magnetization):
        assert f(T).shape == T.shape and isinstance(f(2.0), float)
        assert f(T)[1, 0] == f(3.0)
    assert exact.kaufman_energy(6, T)[1, 1] == pytest.approx(exact.kaufman_energy(6, 4.0), rel=1e-15)
    res = exact.enumerate_ising((3, 3), T)
    assert res.energy.shape == T.shape and isinstance(exact.enumerate_ising((3, 3), 2.0).m2, float)
    assert res.binder[0, 1] == pytest.approx(exact.enumerate_ising((3, 3), 2.0).binder, rel=1e-14)
    e, m, g = exact.density_of_states((4, 4))
    assert g.dtype == np.int64 and g.sum() == 2**16 and (e % 4 == 0).all()


@pytest.mark.parametrize("call", [
    lambda: exact.onsager_energy(0.0), lambda: exact.onsager_specific_heat(-1.0),
    lambda: exact.onsager_magnetization(float("nan")), lambda: exact.kaufman_energy(4, [1.0, 0.0]),
    lambda: exact.enumerate_ising((2, 2), math.inf)])
def test_bad_temperature(call):
    with pytest.raises(ValueError, match="T must be"):
        call()


@pytest.mark.parametrize("L", [1, 0, 2.5, True])
def test_bad_size(L):
    with pytest.raises(ValueError, match="L must be"):
        exact.kaufman_energy(L, 2.0)


def test_bad_other_input():
    with pytest.raises(ValueError, match="20 spins"):
        exact.density_of_states((5, 5))
    with pytest.raises(ValueError, match="20 spins"):
        exact.enumerate_ising((5, 5), 2.0, method="enumerate")
    with pytest.raises(ValueError, match="10 spins"):
        exact.enumerate_ising((11, 11), 2.0)
    for shape in [(4,), (4, 1), (3, 2.0)]:
        with pytest.raises(ValueError, match="shape"):
            exact.enumerate_ising(shape, 2.0)
    with pytest.raises(ValueError, match="J must be"):
        exact.onsager_energy(2.0, J=-1.0)
    with pytest.raises(ValueError, match="method"):
        exact.enumerate_ising((2, 2), 2.0, method="exact")
