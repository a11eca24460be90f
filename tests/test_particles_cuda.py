"""ParticleSystem on CUDA against the CPU engine (skipped without a GPU, except the no-GPU error checks).

What to expect, and why: the GPU engine sorts particles by cell with the same stable order, builds the same
neighbour lists and has each particle sum its own list in list order, with the same expressions, and neither
side contracts a·b + c into an FMA (the CPU kernels are built with -ffp-contract=off, cuda/particles/md.cu with
--fmad=false). +, -, ×, ÷ and √ are correctly rounded on both, so forces, V and W are bitwise equal for LJ,
force-shifted LJ and the soft core, in float64 and float32; Morse calls exp and the Langevin kicks call log,
cos and sin, whose CUDA and glibc versions may differ in the last ulp (hence 1e-12 relative in float64). A
trajectory then stays within round-off amplified by the chaos of a few hundred steps. The kinetic energy is
summed in a different (fixed) order than on the CPU: equal to ~1e-14 relative.
"""

import numpy as np
import pytest

import symbreak
from symbreak import _core
from symbreak.cli import main
from symbreak.particles import LJ, LJForceShifted, Morse, ParticleSystem, SoftCore

REASON = symbreak.cuda_unavailable_reason()
needs_gpu = pytest.mark.skipif(bool(REASON), reason=f"no GPU: {REASON}")

EXACT = [LJ(), LJForceShifted(), SoftCore(epsilon=1.5, r_cut=1.6)]  # no transcendental functions
MORSE = Morse(epsilon=1.2, a=3.0, r0=1.1, r_cut=2.2)


def gas_state(n, dim, density, seed, T=1.0):
    """Positions, velocities and box of a jittered gas (from the CPU constructor)."""
    ps = ParticleSystem.gas(n, dim=dim, density=density, T=T, seed=seed, min_distance=0.85)
    rng = np.random.default_rng(seed)
    return np.mod(ps.positions + 0.04 * rng.standard_normal((n, dim)), ps.box), ps.velocities, ps.box


def pair(x, v, box, **kwargs):
    """The same system on the CPU and on the GPU."""
    return (ParticleSystem(x, v, box, **kwargs, device="cpu"), ParticleSystem(x, v, box, **kwargs, device="cuda"))


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("pot", EXACT + [MORSE], ids=lambda p: type(p).__name__)
def test_forces_energy_and_virial_match_cpu(pot, dim, dtype):
    x, v, box = gas_state(500 if dim == 2 else 700, dim, 0.8, seed=dim)
    cpu, gpu = pair(x, v, box, potential=pot, dtype=dtype)
    assert gpu.device == "cuda:0"
    tc, tg = cpu._core.totals(), gpu._core.totals()
    if pot in EXACT:
        np.testing.assert_array_equal(gpu.forces, cpu.forces)
        assert tg["potential"] == tc["potential"] and tg["virial"] == tc["virial"]
    else:
        rtol = 1e-12 if dtype == "float64" else 1e-5
        scale = np.abs(cpu.forces).max()
        np.testing.assert_allclose(gpu.forces, cpu.forces, rtol=rtol, atol=rtol * scale)
        assert tg["potential"] == pytest.approx(tc["potential"], rel=rtol)
        assert tg["virial"] == pytest.approx(tc["virial"], rel=rtol)
    assert tg["kinetic"] == pytest.approx(tc["kinetic"], rel=1e-13)
    np.testing.assert_allclose(tg["momentum"], tc["momentum"], atol=1e-12 * len(x))
    assert gpu.counters["mean_neighbours"] == cpu.counters["mean_neighbours"]


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("integrator", ["verlet", "langevin", "damping"])
@pytest.mark.parametrize("dim", [2, 3])
def test_trajectory_matches_cpu(integrator, dim):
    x, v, box = gas_state(2000, dim, 0.8 if dim == 2 else 0.7, seed=5)
    cpu, gpu = pair(x, v, box, integrator=integrator, gamma=1.0, T=1.0, seed=11)
    rc = cpu.run(300, measure_every=100, order=False)
    rg = gpu.run(300, measure_every=100, order=False)
    assert gpu.step == cpu.step == 300
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-9)
    np.testing.assert_allclose(gpu.velocities, cpu.velocities, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rg.u, rc.u, rtol=1e-11)
    np.testing.assert_allclose(rg.extra["pressure"], rc.extra["pressure"], rtol=1e-10)
    assert gpu.counters["rebuilds"] == cpu.counters["rebuilds"] > 1


@pytest.mark.gpu
@needs_gpu
def test_float32_trajectory_matches_cpu():
    x, v, box = gas_state(2000, 2, 0.8, seed=6)
    cpu, gpu = pair(x, v, box, integrator="verlet", dtype="float32")
    cpu.advance(200)
    gpu.advance(200)
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-3)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dim", [2, 3])
def test_langevin_kicks_match_cpu(dim):
    # A dilute grid (spacing 4 > r_cut + skin): no forces, so one step is v ← c₁v + σξ with the CPU's ξ
    # (Philox keyed by seed and step, countered by the particle's tag); only libm's last ulp differs.
    side = 4 if dim == 2 else 3
    grid = np.stack(np.meshgrid(*[np.arange(side)] * dim, indexing="ij"), axis=-1).reshape(-1, dim)
    x = 4.0 * grid + 2.0
    box = np.full(dim, 4.0 * side)
    v = np.random.default_rng(0).standard_normal(x.shape)
    cpu, gpu = pair(x[::-1].copy(), v, box, integrator="langevin", gamma=2.0, T=1.5, seed=123)
    assert np.abs(cpu.forces).max() == 0
    for _ in range(3):
        cpu.advance(1)
        gpu.advance(1)
        np.testing.assert_allclose(gpu.velocities, cpu.velocities, rtol=1e-13, atol=1e-15)
    assert np.abs(gpu.velocities - v).max() > 0.01


@pytest.mark.gpu
@needs_gpu
def test_gpu_runs_are_deterministic_and_states_move_between_devices():
    # The cell sort uses atomics, then restores the stable order: two runs are identical.
    runs = []
    for _ in range(2):
        ps = ParticleSystem.gas(5000, dim=2, density=0.8, T=1.0, seed=2, integrator="langevin", device="cuda")
        ps.advance(200)
        runs.append(ps)
    np.testing.assert_array_equal(runs[0].positions, runs[1].positions)
    # a CPU state continues on the GPU (and back) as it would have on the CPU, to round-off
    cpu = ParticleSystem.gas(5000, dim=2, density=0.8, T=1.0, seed=2, integrator="verlet")
    cpu.advance(50)
    gpu = ParticleSystem.gas(5000, dim=2, density=0.8, T=1.0, seed=2, integrator="verlet", device="cuda")
    gpu.load_state_dict(cpu.state_dict())
    cpu.advance(100)
    gpu.advance(100)
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-10)
    back = ParticleSystem.gas(5000, dim=2, density=0.8, T=1.0, seed=2, integrator="verlet")
    back.load_state_dict(gpu.state_dict())
    np.testing.assert_array_equal(back.positions, gpu.positions)


@pytest.mark.gpu
@needs_gpu
def test_list_overflow_mid_run_keeps_the_cpu_trajectory():
    # A dilute soft-core gas falling in on the box centre: lists outgrow the stride set at construction
    # during advance(); the GPU walks cells for the overflowed particles until the call ends, then regrows.
    rng = np.random.default_rng(1)
    box = np.array([40.0, 40.0])
    grid = np.stack(np.meshgrid(np.arange(20), np.arange(20), indexing="ij"), axis=-1).reshape(-1, 2)
    x = 2.0 * grid + 1.0 + 0.1 * rng.standard_normal((400, 2))
    v = 0.25 * (box / 2 - x)
    cpu, gpu = pair(x, v, box, potential=SoftCore(epsilon=1.0, r_cut=1.5), integrator="verlet", dt=0.01)
    stride0 = gpu.counters["list_stride"]
    cpu.advance(600)
    gpu.advance(600)
    assert gpu.counters["list_stride"] > stride0
    assert gpu.counters["rebuilds"] == cpu.counters["rebuilds"]
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-9)


@pytest.mark.gpu
@needs_gpu
def test_errors_on_gpu_are_the_cpus():
    x, v, box = gas_state(50, 2, 0.3, seed=1)
    x[17] = np.mod(x[4] + [0.1, 0.0], box)
    messages = []
    for device in ("cpu", "cuda"):
        with pytest.raises(ValueError, match=r"particles 4 and 17 are 0\.1\d* apart at step 0") as info:
            ParticleSystem(x, None, box, device=device)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    ps = ParticleSystem.gas(200, dim=2, density=0.8, T=1.0, seed=1, dt=0.2, device="cuda")
    with pytest.raises((RuntimeError, ValueError), match="non-finite|apart"):
        ps.advance(2000)
    with pytest.raises(ValueError, match=r"only \d+ CUDA device"):
        ParticleSystem(x, None, box, potential=SoftCore(), device="cuda:4096")


@pytest.mark.skipif(not REASON, reason="a CUDA device is visible")
def test_cuda_without_gpu_raises_clear_error(tmp_path, capsys):
    x, v, box = gas_state(50, 2, 0.3, seed=1)
    with pytest.raises(RuntimeError, match="device='cuda' is unavailable"):
        ParticleSystem(x, v, box, device="cuda")
    # the compiled engine itself refuses too (no driver, or built without CUDA)
    with pytest.raises(RuntimeError, match="unavailable"):
        _core.particles.ParticlesCore(2, False, x, v, box.tolist(), "lj", 1.0, 1.0, 2.5, 5.0, 1.0, 0.3, 1.0, 0.5,
                                      0, device="cuda", device_id=0)
    assert main(["particles", "--n", "64", "--steps", "10", "--device", "cuda", "--quiet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symbreak: error: device='cuda'") and "Traceback" not in err
