"""symbreak.optim under torch.distributed (gloo, 2 processes on 127.0.0.1): sharded and DDP runs follow 1 process.

Sharded: every rank holds a flat slice of every tensor (rank 0 the first ceil(n/2) elements, rank 1 the rest, so
the (1,) tensor leaves rank 1 an empty shard), declares the slices' global element offsets with ``shard_offsets``
and passes ``process_group``; the loss is separable, so each rank computes its part and the closure all-reduces it.
DDP: replicated parameters, half the batch per rank, the loss all-reduced to the global mean; no process group.
With a GPU, both ranks also run the fused CUDA step on it (gloo all-reduces the device buffers).
"""

import os
import socket

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
mp = pytest.importorskip("torch.multiprocessing")

from symbreak.optim import BBI, ECD, ECDSep  # noqa: E402
import symbreak  # noqa: E402
from symbreak.optim._base import fused_available  # noqa: E402

SHAPES = [(3, 5), (7,), (2, 3, 4), (1,), (13,), (5, 1, 3), (17,)]
SCENARIOS = {  # name: (class, settings); noise and bounces on, so global element indices matter
    "ECD-tensor": (ECD, dict(lr=0.05, eta=10.0, nu=0.05, weight_decay=0.01)),
    "ECD-global": (ECD, dict(lr=0.05, eta=10.0, nu=0.05, weight_decay=0.01, projection="global")),
    "ECDSep": (ECDSep, dict(lr=0.02, eta=2.0, nu=1e-3, delta_energy=0.5, weight_decay=0.01)),
    "BBI": (BBI, dict(lr=0.2, threshold0=5, threshold=3, n_fixed_bounces=2, delta_energy=0.5)),
}
IMPLS = ("reference", "foreach", "fused")
STEPS = 40
CUDA_REASON = symbreak.cuda_unavailable_reason()


def full_tensors():
    g = torch.Generator().manual_seed(0)
    return [torch.randn(s, generator=g).flatten() for s in SHAPES]


def separable_loss(flat_params, coefficients):
    return sum(((a * (x - b) ** 2) + 0.05 * x ** 4).sum() for x, (a, b) in zip(flat_params, coefficients))


def coefficients():
    g = torch.Generator().manual_seed(1)
    sizes = [t.numel() for t in full_tensors()]
    return [(1.0 + torch.rand(n, generator=g), torch.randn(n, generator=g)) for n in sizes]


def shard_bounds(n, rank):
    half = (n + 1) // 2
    return (0, half) if rank == 0 else (half, n)


def run_sharded(cls, kw, impl, rank=None, group=None, device="cpu"):
    """The 1-process run when rank is None, else this rank's shard run. Returns the final flat params and momenta
    (on the CPU) and the global state."""
    tensors = [t.to(device) for t in full_tensors()]
    coefs = [(a.to(device), b.to(device)) for a, b in coefficients()]
    offsets, bounds = [], []
    start = 0
    for t in tensors:
        lo, hi = (0, t.numel()) if rank is None else shard_bounds(t.numel(), rank)
        bounds.append((lo, hi))
        offsets.append(start + lo)
        start += t.numel()
    params = [torch.nn.Parameter(t[lo:hi].clone()) for t, (lo, hi) in zip(tensors, bounds)]
    local = [(a[lo:hi], b[lo:hi]) for (a, b), (lo, hi) in zip(coefs, bounds)]
    extra = {} if rank is None else dict(process_group=group, shard_offsets=offsets)
    opt = cls([{"params": params[:3]}, {"params": params[3:], "lr": kw["lr"] * 0.5}], impl=impl, **kw, **extra)

    def closure():
        opt.zero_grad()
        loss = separable_loss(params, local) + 1.0 / (1 if rank is None else 2)
        loss.backward()
        total = loss.detach().clone()
        if rank is not None:
            dist.all_reduce(total, group=group)
        return total

    for _ in range(STEPS):
        opt.step(closure)
    return [p.detach().cpu() for p in params], [opt.state[p]["momentum"].cpu() for p in params], opt.global_state


def mlp_data():
    g = torch.Generator().manual_seed(2)
    X = torch.randn(64, 8, generator=g)
    return X, torch.sin(X.sum(1, keepdim=True))


def mlp():
    torch.manual_seed(3)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))


def run_ddp(rank=None, world=1):
    X, y = mlp_data()
    model = mlp()
    if rank is not None:
        X, y = X[rank::world], y[rank::world]
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = ECD(model.parameters(), lr=0.3, eta=10.0, F0=0.0, nu=0.01)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X), y)
        loss.backward()
        total = loss.detach().clone()
        if rank is not None:
            dist.all_reduce(total)
            total /= world
        return total

    for _ in range(30):
        opt.step(closure)
    return [p.detach().clone() for p in model.parameters()]


def _worker(rank, world, port, outdir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        out = {(name, impl): run_sharded(cls, kw, impl, rank, dist.group.WORLD)
               for name, (cls, kw) in SCENARIOS.items() for impl in IMPLS
               if impl != "fused" or fused_available(cls.name, "cpu")}
        if not CUDA_REASON:
            out |= {(name, "fused-cuda"): run_sharded(cls, kw, "fused", rank, dist.group.WORLD, "cuda")
                    for name, (cls, kw) in SCENARIOS.items() if fused_available(cls.name, "cuda")}
        out["ddp"] = run_ddp(rank, world)
        torch.save(out, os.path.join(outdir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    outdir = str(tmp_path_factory.mktemp("dist"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(2, port, outdir), nprocs=2, join=True)
    return [torch.load(os.path.join(outdir, f"rank{r}.pt"), weights_only=False) for r in range(2)]


def assert_close(ref, got, rtol=1e-6):
    scale = max(t.abs().max() for t in ref)
    for a, b in zip(ref, got):
        assert (a - b).abs().max() <= rtol * scale


def assert_shards_follow(state, params, momenta, shards, rtol=1e-6):
    assert shards[0][2]["step"] == shards[1][2]["step"] == state["step"] == STEPS
    joined = [[torch.cat([shards[0][k][i], shards[1][k][i]]) for i in range(len(SHAPES))] for k in (0, 1)]
    assert_close(params, joined[0], rtol)
    assert_close(momenta, joined[1], rtol)
    assert abs(shards[0][2]["P2"] - state["P2"]) <= rtol * state["P2"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_sharded_run_follows_one_process(ranks, name, impl):
    cls, kw = SCENARIOS[name]
    if impl == "fused" and not fused_available(cls.name, "cpu"):
        pytest.skip(f"no fused CPU step for {cls.__name__} in this build")
    params, momenta, state = run_sharded(cls, kw, impl)
    shards = [ranks[r][(name, impl)] for r in range(2)]
    if cls is BBI:
        assert state["n_bounces"] > 2 and shards[0][2]["n_bounces"] == state["n_bounces"]
    assert_shards_follow(state, params, momenta, shards)


@pytest.mark.gpu
@pytest.mark.skipif(bool(CUDA_REASON), reason=f"no GPU: {CUDA_REASON}")
@pytest.mark.parametrize("name", [n for n, (cls, _) in SCENARIOS.items() if cls is not BBI])
def test_sharded_fused_cuda_follows_one_process_reference(ranks, name):
    """Two ranks' fused CUDA steps (device buffers all-reduced between the launches) against the 1-process CPU
    reference, within the 1e-5 the GPU tests allow (the noise uses the device's log, sin and cos)."""
    cls, kw = SCENARIOS[name]
    params, momenta, state = run_sharded(cls, kw, "reference")
    assert_shards_follow(state, params, momenta, [ranks[r][(name, "fused-cuda")] for r in range(2)], rtol=1e-5)


def test_ddp_matches_one_process(ranks):
    single = run_ddp()
    assert all(torch.equal(a, b) for a, b in zip(ranks[0]["ddp"], ranks[1]["ddp"]))
    assert_close(single, ranks[0]["ddp"])
