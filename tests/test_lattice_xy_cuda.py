"""XY on CUDA against the CPU (GPU tests skipped without one), and the zero-copy θ view on every device.

What to expect, and why: both backends call the same per-site rules (lattice/xy.hpp) built from +, -, ×, ÷, √
and bit operations only (poly_math's sincos and log instead of libm), and neither contracts a·b + c into an
FMA (-ffp-contract=off on the CPU, --fmad=false for cuda/lattice/xy.cu), so θ and ω are bitwise equal for the
same seed, in float32 and float64, whatever the replica count. The observables' sums are added in a different
fixed order and call CUDA's cos/sin where the CPU calls glibc's: equal to ~1e-13 relative, not bitwise.
"""

import numpy as np
import pytest

import symbreak
from symbreak import schedules
from symbreak.lattice import XY

REASON = symbreak.cuda_unavailable_reason()
needs_gpu = pytest.mark.skipif(bool(REASON), reason=f"no GPU: {REASON}")
SCHED = schedules.linear(1.2, 0.4, 60)


def pair(shape, **kwargs):
    return XY(shape, device="cpu", **kwargs), XY(shape, device="cuda", **kwargs)


def assert_same_state(a, b):
    assert a.theta.dtype == b.theta.dtype
    assert np.array_equal(a.theta, b.theta) and np.array_equal(a.omega, b.omega)


def test_dlpack_is_a_live_view_of_theta():
    xy = XY((6, 9), T=0.8, seed=4, dtype="float32").advance(3)
    view = np.from_dlpack(xy)
    assert view.shape == (6, 9) and view.dtype == np.float32 and xy.__dlpack_device__() == (1, 0)
    assert np.array_equal(view, xy.theta)
    before = view.copy()
    xy.advance(5)  # the view aliases the simulator's memory
    assert not np.array_equal(view, before) and np.array_equal(view, xy.theta)
    final = xy.theta
    del xy  # the view keeps the memory alive
    assert np.array_equal(view, final)


def test_dlpack_with_replicas_and_torch():
    torch = pytest.importorskip("torch")
    xy = XY((4, 5, 3), T=0.5, seed=1, replicas=3).advance(2)
    t = torch.from_dlpack(xy)
    assert tuple(t.shape) == (3, 4, 5, 3) and t.dtype == torch.float64
    assert np.array_equal(t.numpy(), xy.theta)


def test_cuda_without_gpu_names_the_reason():
    if not REASON:
        pytest.skip("a GPU is visible")
    with pytest.raises(RuntimeError, match="cuda"):
        XY((8, 8), device="cuda")


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("shape", [(37,), (6, 11), (5, 6, 7)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("replicas", [1, 3])
def test_cuda_trajectories_bit_identical_to_cpu(shape, dtype, replicas):
    cpu, gpu = pair(shape, T=1.2, gamma=0.7, dt=0.1, J=1.1, h=0.2, seed=5, dtype=dtype, replicas=replicas)
    rc, rg = cpu.run(SCHED, measure_every=7), gpu.run(SCHED, measure_every=7)
    assert_same_state(cpu, gpu)
    for name in ("abs_m", "u"):
        np.testing.assert_allclose(getattr(rg, name), getattr(rc, name), rtol=1e-12, atol=1e-13)
    for name in ("kinetic", "T_kin"):  # (m_angle is ill-conditioned where |m| is small)
        np.testing.assert_allclose(rg.extra[name], rc.extra[name], rtol=1e-12, atol=1e-13)


@pytest.mark.gpu
@needs_gpu
def test_cuda_nve_and_metropolis_equal_cpu():
    cpu, gpu = pair((16, 16), T=0.0, gamma=0.0, dt=0.05, seed=2, init="random")
    cpu.advance(200)
    gpu.advance(200)
    assert_same_state(cpu, gpu)
    cpu.T = gpu.T = 0.9
    assert cpu.metropolis(3) == gpu.metropolis(3)  # the CPU sampler on a host copy
    cpu.advance(10)
    gpu.advance(10)  # τ was recomputed after the sweeps
    assert_same_state(cpu, gpu)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("first,second", [("cpu", "cuda"), ("cuda", "cpu"), ("cuda", "cuda")])
def test_resume_across_devices_is_bit_identical(first, second):
    kw = dict(T=0.9, gamma=1.0, dt=0.1, seed=8, replicas=2, dtype="float32")
    straight = XY((12, 10), device="cpu", **kw).advance(40)
    a = XY((12, 10), device=first, **kw).advance(15)
    b = XY((12, 10), device=second, **kw)
    b.load_state_dict(a.state_dict())
    b.advance(25)
    assert b.step == 40
    assert_same_state(straight, b)


@pytest.mark.gpu
@needs_gpu
def test_cuda_dlpack_is_live_device_memory():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this torch build has no CUDA")
    xy = XY((32, 32), T=0.7, seed=3, replicas=2, device="cuda").advance(4)
    t = torch.from_dlpack(xy)
    assert t.is_cuda and tuple(t.shape) == (2, 32, 32) and xy.__dlpack_device__() == (2, 0)
    assert np.array_equal(t.cpu().numpy(), xy.theta)
    xy.advance(3)
    assert np.array_equal(t.cpu().numpy(), xy.theta)
