"""The Ising simulator against exact results, and its contracts: determinism, resume, devices, layout."""

import numpy as np
import pytest

import symbreak
from symbreak import schedules
from symbreak.analysis import exact, stats
from symbreak.lattice import Ising
from symbreak.lattice.ising import unpack_storage

TC = exact.TC_2D


def equilibrium(shape, T, algorithm, sweeps, *, burn=500, seed=1, h=0.0, wolff_clusters=1):
    ising = Ising(shape, T, algorithm=algorithm, seed=seed, h=h, wolff_clusters=wolff_clusters)
    ising.sweep(burn)
    return ising.run(T, sweeps=sweeps)


def assert_within(est: stats.Estimate, exact_value: float, sigmas: float = 4.5, floor: float = 0.0):
    assert abs(est.value - exact_value) <= sigmas * est.error + floor, f"{est} vs exact {exact_value}"


# -- physics against exact results --------------------------------------------------------------------------
@pytest.mark.parametrize("T,algorithm", [(1.5, "metropolis"), (2.0, "heat_bath"), (3.0, "metropolis"),
                                         (3.0, "heat_bath")])
def test_energy_equals_kaufman_L32(T, algorithm):
    r = equilibrium((32, 32), T, algorithm, 40_000)
    assert_within(stats.mean_estimate(r.u), exact.kaufman_energy(32, T))


def test_energy_at_tc_equals_kaufman_with_wolff():
    r = equilibrium((32, 32), TC, "wolff", 40_000, wolff_clusters=2)
    assert_within(stats.mean_estimate(r.u), exact.kaufman_energy(32, TC))


@pytest.mark.parametrize("h", [0.0, 0.3])
def test_small_lattice_equals_exact_enumeration(h):
    """4x4 at T_c with and without a field: energy, |m| and the Binder cumulant, all exact."""
    ex = exact.enumerate_ising((4, 4), TC, h=h)
    r = equilibrium((4, 4), TC, "metropolis", 200_000, h=h)
    assert_within(stats.mean_estimate(r.u), ex.energy)
    assert_within(stats.mean_estimate(r.abs_m), ex.abs_magnetization)
    if h == 0.0:
        assert_within(stats.binder_cumulant(r.m), ex.binder)


def test_3d_small_lattice_equals_exact_enumeration():
    ex = exact.enumerate_ising((4, 4, 2), 4.0)
    r = equilibrium((4, 4, 2), 4.0, "heat_bath", 100_000)
    assert_within(stats.mean_estimate(r.u), ex.energy)
    assert_within(stats.mean_estimate(r.abs_m), ex.abs_magnetization)


def test_binder_at_tc_equals_exact_8x8():
    ex = exact.enumerate_ising((8, 8), TC)
    r = equilibrium((8, 8), TC, "wolff", 100_000)
    assert_within(stats.binder_cumulant(r.m), ex.binder)


@pytest.mark.parametrize("T", [1.5, 2.0, 2.2])
def test_abs_m_follows_onsager_below_tc(T):
    ising = Ising((256, 256), T, seed=3, init="up")
    ising.sweep(300)
    r = ising.run(T, sweeps=1000, measure_every=5)
    est = stats.mean_estimate(r.abs_m)
    # L = 256 is far above the correlation length here; the floor covers the O(1/L^2)-small finite-size shift.
    assert_within(est, exact.onsager_magnetization(T), floor=2e-3 if T < 2.1 else 6e-3)


def _binder_crossing(sizes, temps, dim_shape, sweeps, clusters):
    U = {L: [stats.binder_cumulant(equilibrium(dim_shape(L), T, "wolff", sweeps, seed=L,
                                               wolff_clusters=clusters).m) for T in temps] for L in sizes}
    small, large = sizes
    d = [U[large][i].value - U[small][i].value for i in range(len(temps))]
    assert d[0] > 0 > d[-1], f"Binder curves do not cross in {temps}: {U}"
    # Linear interpolation of the sign change of U_large - U_small.
    i = next(i for i in range(len(d) - 1) if d[i] > 0 >= d[i + 1])
    return temps[i] + (temps[i + 1] - temps[i]) * d[i] / (d[i] - d[i + 1]), U


def test_binder_cumulants_cross_near_tc_2d():
    T_cross, U = _binder_crossing((8, 16), [2.15, 2.27, 2.40], lambda L: (L, L), 30_000, 1)
    assert abs(T_cross - TC) < 0.06, (T_cross, U)


@pytest.mark.slow
def test_binder_cumulants_cross_near_tc_3d():
    T_cross, U = _binder_crossing((6, 10), [4.40, 4.51, 4.62], lambda L: (L, L, L), 20_000, 2)
    assert abs(T_cross - exact.TC_3D) < 0.08, (T_cross, U)


# -- determinism, resume, thread count ------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["metropolis", "heat_bath", "wolff"])
def test_resume_is_bit_identical(algorithm):
    a = Ising((24, 16), 2.3, algorithm=algorithm, seed=11)
    a.sweep(30)
    state = a.state_dict()
    a.run(schedules.linear(2.3, 1.8, 40))
    b = Ising((24, 16), 9.9, seed=11, init="down")
    b.load_state_dict(state)
    b.run(schedules.linear(2.3, 1.8, 40))
    assert np.array_equal(a.spins, b.spins) and a.step == b.step == 70


def test_results_do_not_depend_on_thread_count():
    saved = symbreak.get_num_threads()
    spins = []
    try:
        for threads in (1, 2, 3):
            symbreak.set_num_threads(threads)
            spins.append(Ising((192, 130), 2.27, seed=5).sweep(7).spins)
    finally:
        symbreak.set_num_threads(saved)
    assert all(np.array_equal(spins[0], s) for s in spins[1:])


def test_same_seed_same_lattice_different_seed_different():
    a, b, c = (Ising((32, 32), 2.0, seed=s).sweep(3).spins for s in (1, 1, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_run_measures_on_schedule():
    ising = Ising((16, 16), seed=0)
    sched = schedules.piecewise(schedules.linear(3.0, 2.0, 10), schedules.constant(2.0, 10))
    r = ising.run(sched, measure_every=4)
    assert list(r.step) == [4, 8, 12, 16, 20]
    assert np.allclose(r.T, sched.values[[3, 7, 11, 15, 19]])
    assert ising.T == 2.0 and r.step.dtype == np.int64
    assert np.allclose(r.abs_m, np.abs(r.m)) and np.all(np.abs(r.u) <= 2.0 + 1e-12)
    assert r.sites == 256 and len(ising.run(2.0, sweeps=3, measure_every=5)) == 0


@pytest.mark.parametrize("shape", [(8, 12), (130, 130), (4, 6, 8), (10, 12, 66)])
def test_observables_match_spins(shape):
    """Rows shorter and longer than a vector, several row batches (threads), 2D and 3D."""
    ising = Ising(shape, 2.0 if len(shape) == 2 else 4.0, h=0.25, seed=4).sweep(5)
    s = ising.spins.astype(int)
    bonds = sum((s * np.roll(s, 1, a)).sum() for a in range(s.ndim))
    assert ising.magnetization == pytest.approx(s.mean(), abs=1e-15)
    assert ising.energy == pytest.approx((-bonds - 0.25 * s.sum()) / s.size, abs=1e-15)


# -- state access ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 10), (4, 6, 8)])
def test_init_array_and_spins_round_trip(shape):
    rng = np.random.default_rng(0)
    init = rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)
    ising = Ising(shape, init=init)
    assert ising.spins.dtype == np.int8 and np.array_equal(ising.spins, init)
    assert Ising(shape, init="up").magnetization == 1.0 and Ising(shape, init="down").magnetization == -1.0


def test_dlpack_is_zero_copy_view_of_the_storage():
    ising = Ising((6, 10), 2.0, seed=2).sweep(2)
    view = np.from_dlpack(ising)
    assert view.shape == (2, 6, 5) and view.dtype == np.int8
    assert np.array_equal(unpack_storage(view), ising.spins)
    before = view.copy()
    ising.T = 5.0
    ising.sweep(3)  # the view aliases the simulator's memory: it sees the update without a new export
    assert not np.array_equal(view, before) and np.array_equal(unpack_storage(view), ising.spins)
    final = ising.spins
    del ising  # the view keeps the memory alive
    assert np.array_equal(unpack_storage(view), final)


# -- devices ----------------------------------------------------------------------------------------------------
def test_cuda_without_gpu_raises_clearly():
    if symbreak.cuda_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(RuntimeError, match="cuda"):
        Ising((8, 8), device="cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("algorithm", ["metropolis", "heat_bath"])
@pytest.mark.parametrize("shape", [(64, 64), (130, 34), (6, 10), (16, 8, 24)])
def test_cuda_spins_bit_identical_to_cpu(algorithm, shape):
    if not symbreak.cuda_available():
        pytest.skip(f"no GPU: {symbreak.cuda_unavailable_reason()}")
    sched = schedules.linear(3.0, 1.5, 60)
    cpu = Ising(shape, algorithm=algorithm, seed=9, device="cpu")
    gpu = Ising(shape, algorithm=algorithm, seed=9, device="cuda")
    rc, rg = cpu.run(sched, measure_every=7), gpu.run(sched, measure_every=7)
    assert np.array_equal(cpu.spins, gpu.spins)
    assert np.array_equal(rc.m, rg.m) and np.array_equal(rc.u, rg.u)
    gpu_resumed = Ising(shape, seed=9, device="cuda")
    gpu_resumed.load_state_dict(cpu.state_dict())  # states move between devices and stay bit-identical
    assert np.array_equal(gpu_resumed.sweep(5).spins, cpu.sweep(5).spins)


@pytest.mark.gpu
def test_cuda_dlpack_is_device_memory():
    if not symbreak.cuda_available():
        pytest.skip(f"no GPU: {symbreak.cuda_unavailable_reason()}")
    torch = pytest.importorskip("torch")
    ising = Ising((64, 64), seed=1, device="cuda").sweep(3)
    t = torch.from_dlpack(ising)
    assert t.is_cuda and t.shape == (2, 64, 32)
    assert np.array_equal(unpack_storage(t.cpu().numpy()), ising.spins)


# -- replicas -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["metropolis", "heat_bath", "wolff"])
def test_replica_zero_is_the_single_lattice_and_replicas_differ(algorithm):
    sched = schedules.linear(4.0, 3.0, 25)  # hot: two replicas agree on all 60 spins with negligible chance
    many = Ising((10, 6), algorithm=algorithm, seed=21, replicas=5)
    one = Ising((10, 6), algorithm=algorithm, seed=21)
    rm, r1 = many.run(sched, measure_every=5), one.run(sched, measure_every=5)
    assert many.spins.shape == (5, 10, 6) and np.array_equal(many.spins[0], one.spins)
    assert rm.m.shape == (5, 5) and np.array_equal(rm.m[:, 0], r1.m) and np.array_equal(rm.u[:, 0], r1.u)
    flat = many.spins.reshape(5, -1)
    assert all(not np.array_equal(flat[i], flat[j]) for i in range(5) for j in range(i))


def test_replica_observables_match_their_spins():
    ising = Ising((8, 12), 2.0, h=0.25, seed=4, replicas=3).sweep(5)
    for r, s in enumerate(ising.spins.astype(int)):
        bonds = (s * np.roll(s, 1, 0)).sum() + (s * np.roll(s, 1, 1)).sum()
        assert ising.magnetization[r] == pytest.approx(s.mean())
        assert ising.energy[r] == pytest.approx((-bonds - 0.25 * s.sum()) / s.size)


@pytest.mark.parametrize("algorithm", ["metropolis", "wolff"])
def test_replicas_resume_bit_identical(algorithm):
    a = Ising((8, 8), 2.3, algorithm=algorithm, seed=12, replicas=6)
    a.sweep(10)
    state = a.state_dict()
    a.sweep(20)
    b = Ising((8, 8), seed=12, replicas=6)
    b.load_state_dict(state)
    assert np.array_equal(b.sweep(20).spins, a.spins)
    with pytest.raises(ValueError, match="replicas"):
        Ising((8, 8), seed=12, replicas=2).load_state_dict(state)


def test_replica_averages_equal_exact_enumeration_4x4():
    """Independent replicas: the error bar is the spread of per-replica means, with no autocorrelation model."""
    ex = exact.enumerate_ising((4, 4), TC)
    ising = Ising((4, 4), TC, seed=8, replicas=256)
    ising.sweep(200)
    r = ising.run(TC, sweeps=2000, measure_every=2)
    for col, want in ((r.u, ex.energy), (r.abs_m, ex.abs_magnetization)):
        per_replica = col.mean(axis=0)
        err = per_replica.std(ddof=1) / np.sqrt(per_replica.size)
        assert abs(per_replica.mean() - want) < 4.5 * err, (per_replica.mean(), err, want)


def test_replicas_fill_both_phases_below_tc():
    """From random starts, each replica orders up or down by itself: the signs are a fair coin."""
    ising = Ising((16, 16), 1.5, seed=6, replicas=400, algorithm="wolff", wolff_clusters=4)
    ising.sweep(100)
    m = ising.magnetization
    assert np.all(np.abs(m) > 0.8)
    up = int(np.sum(m > 0))
    assert abs(up - 200) < 4 * 10, up  # binomial(400, 1/2): σ = 10


def test_replica_arguments_are_checked():
    with pytest.raises(ValueError, match="replicas"):
        Ising((4, 4), replicas=0)
    with pytest.raises(ValueError, match="init"):
        Ising((4, 4), replicas=2, init=np.ones((3, 4, 4)))
    two = Ising((4, 4), replicas=2, init=np.stack([np.ones((4, 4)), -np.ones((4, 4))]))
    assert list(two.magnetization) == [1.0, -1.0]
    view = np.from_dlpack(two)
    assert view.shape == (2, 2, 4, 2) and np.array_equal(unpack_storage(view, replicas=True), two.spins)


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(4, 4), (6, 10), (16, 8, 24)])
def test_cuda_replicas_bit_identical_to_cpu(shape):
    if not symbreak.cuda_available():
        pytest.skip(f"no GPU: {symbreak.cuda_unavailable_reason()}")
    sched = schedules.linear(3.0, 1.5, 30)
    cpu = Ising(shape, seed=9, replicas=7, device="cpu")
    gpu = Ising(shape, seed=9, replicas=7, device="cuda")
    rc, rg = cpu.run(sched, measure_every=7), gpu.run(sched, measure_every=7)
    assert np.array_equal(cpu.spins, gpu.spins) and np.array_equal(rc.m, rg.m) and np.array_equal(rc.u, rg.u)
