"""The fused step: one call into the C++ (CPU) or CUDA core per optimizer step, under the contract of ``_base``.

CPU: the tensors go to ``_core.optim.ecd_step_cpu`` as data pointers; reduction, scalar phase, update and noise
run in C++ with OpenMP, and a sharded run's sums are all-reduced through a callback between the passes.
CUDA: the pointer and chunk tables live in device memory (the layout cached per optimizer, addresses and
hyper-parameters re-sent asynchronously when they change), the step is a fixed sequence of kernels on torch's current stream with every scalar on the device; a sharded run's
sums are all-reduced in device memory (on that stream) between the launches.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import Tensor

from .. import _core
from ._base import D, INITIALIZED, AllReduce

_DTYPE_CODE = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2}
_CHUNK = 1 << 16  # CUDA: elements per block of the multi-tensor kernels


def _hyper(name: str, hypers: dict[str, Any]) -> dict[str, Any]:
    return {"eta": float(hypers.get("eta", 1.0)), "F0": float(hypers["F0"]), "nu": float(hypers["nu"]),
            "s": float(hypers.get("s", 1.0)), "delta_energy": float(hypers.get("delta_energy", 0.0)),
            "eps1": float(hypers["eps1"]), "eps2": float(hypers["eps2"]),
            "conserve_energy": bool(hypers["conserve_energy"]),
            "global_projection": hypers.get("projection", "tensor") == "global"}


def _per_tensor(groups: list[dict[str, float]], group_ids: list[int], key: str, default: float) -> list[float]:
    return [float(groups[j].get(key, default)) for j in group_ids]


def step(name: str, params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
         group_ids: list[int], groups: list[dict[str, float]], hypers: dict[str, Any], loss: Tensor,
         globals_: Tensor, d_count: int, allreduce: AllReduce | None) -> None:
    """One fused ECD or ECDSep step (contract in ``_base``)."""
    if name not in ("ecd", "ecdsep"):
        raise ValueError(f"no fused step for {name!r}")
    eta_default = float(hypers.get("eta", 1.0))
    per = (_per_tensor(groups, group_ids, "lr", 0.0), _per_tensor(groups, group_ids, "eta", eta_default),
           _per_tensor(groups, group_ids, "weight_decay", 0.0))
    if params[0].device.type == "cuda":
        _step_cuda(name, params, grads, momenta, offsets, per, _hyper(name, hypers), int(hypers["seed"]), loss,
                   globals_, d_count, allreduce)
        return
    work = [p if p.is_contiguous() else p.contiguous() for p in params]  # non-contiguous: update a copy
    grads = [g.contiguous() for g in grads]
    on_ranks = None
    if allreduce is not None:
        def on_ranks(array) -> None:  # the C++ step hands over a float64 numpy view of its sums
            allreduce(torch.from_numpy(array))
    _core.optim.ecd_step_cpu(
        name, [p.data_ptr() for p in work], [_DTYPE_CODE[p.dtype] for p in work], [g.data_ptr() for g in grads],
        [_DTYPE_CODE[g.dtype] for g in grads], [m.data_ptr() for m in momenta], [p.numel() for p in work],
        list(offsets), *per, _hyper(name, hypers), float(loss), globals_.data_ptr(), int(hypers["seed"]),
        float(d_count), on_ranks)
    for p, w in zip(params, work):
        if p is not w:
            p.copy_(w)


def _upload(dst: Tensor, values: list) -> None:
    """values into the device tensor dst without a host synchronisation: an asynchronous copy from pinned memory
    on the current stream (torch's pinned-memory allocator keeps the block until the copy has run)."""
    dst.copy_(torch.tensor(values, dtype=dst.dtype).pin_memory(), non_blocking=True)


class _CudaTables:
    """Device tables of one optimizer's step: the chunk layout (rebuilt only when the tensors' sizes, dtypes or
    offsets change) and, updated by _upload when they change, the tensors' addresses (gradients may be new tensors
    every step: zero_grad sets them to None) and lr / eta / weight decay (a scheduler: every step)."""

    def __init__(self, params: list[Tensor], grads: list[Tensor], offsets: list[int], globals_: Tensor):
        dev = params[0].device
        self.key = self.key_of(params, grads, offsets)
        self.owner = weakref.ref(globals_)  # the optimizer's slot tensor
        i64 = dict(dtype=torch.int64, device=dev)
        numel = [p.numel() for p in params]
        chunk_tensor = [i for i, n in enumerate(numel) for _ in range(0, n, _CHUNK)]
        chunk_begin = [b for n in numel for b in range(0, n, _CHUNK)]
        chunk_first = [0]
        for n in numel:
            chunk_first.append(chunk_first[-1] + -(-n // _CHUNK))
        n, c = len(params), len(chunk_tensor)
        self.pointers = torch.zeros(3 * n, **i64)  # parameters, gradients, momenta
        self.hyper = torch.zeros(3 * n, dtype=torch.float32, device=dev)  # lr, eta, weight decay
        self.tensors = {
            "param_dtype": torch.tensor([_DTYPE_CODE[p.dtype] for p in params], dtype=torch.int32, device=dev),
            "grad_dtype": torch.tensor([_DTYPE_CODE[g.dtype] for g in grads], dtype=torch.int32, device=dev),
            "numel": torch.tensor(numel, **i64), "offset": torch.tensor(offsets, **i64),
            "chunk_tensor": torch.tensor(chunk_tensor, dtype=torch.int32, device=dev),
            "chunk_begin": torch.tensor(chunk_begin, **i64),
            "chunk_first": torch.tensor(chunk_first, dtype=torch.int32, device=dev),
            **dict(zip(("params", "grads", "momenta"), self.pointers.view(3, n).unbind(0))),
            **dict(zip(("lr", "eta", "wd"), self.hyper.view(3, n).unbind(0))),
        }
        u8 = dict(dtype=torch.uint8, device=dev)
        self.buffers = {"partial": torch.empty(c * _core.optim.SUMS_BYTES, **u8),
                        "sums": torch.empty(n * _core.optim.SUMS_BYTES, **u8),
                        "coeffs": torch.empty(n * _core.optim.COEFFS_BYTES, **u8),
                        "noise_partial": torch.empty(c, dtype=torch.float64, device=dev),
                        "norm2": torch.empty(1, dtype=torch.float64, device=dev),
                        "flag": torch.zeros(1, dtype=torch.int32, device=dev)}
        self.sizes = {"n_tensors": n, "n_chunks": c, "chunk_size": _CHUNK}
        self.initialized = False
        self.uploaded: dict[str, list] = {}  # what _upload last sent, per table

    @staticmethod
    def key_of(params: list[Tensor], grads: list[Tensor], offsets: list[int]) -> tuple:
        return tuple((p.numel(), p.dtype, g.dtype, o) for p, g, o in zip(params, grads, offsets))

    def update(self, table: str, values: list) -> None:
        """Upload `pointers` or `hyper` when its values changed (so a steady step copies nothing: capturable)."""
        if self.uploaded.get(table) != values:
            _upload(getattr(self, table), values)
            self.uploaded[table] = values


# One entry per optimizer, keyed by id of its slot tensor; an entry holds a weak reference to that tensor and is
# dropped when it is collected, so a later optimizer that happens to get the same id (and, in a sweep of equal
# models, the same storage) never inherits another's tables or its "initialised" flag.
_cuda_cache: dict[int, _CudaTables] = {}


def _tables_for(params: list[Tensor], grads: list[Tensor], offsets: list[int], globals_: Tensor) -> _CudaTables:
    cached = _cuda_cache.get(id(globals_))
    if cached is not None and cached.owner() is globals_ and cached.key == _CudaTables.key_of(params, grads, offsets):
        return cached
    cached = _cuda_cache[id(globals_)] = _CudaTables(params, grads, offsets, globals_)
    weakref.finalize(globals_, _cuda_cache.pop, id(globals_), None)
    return cached


def _step_cuda(name: str, params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
               per: tuple[list[float], list[float], list[float]], hyper: dict[str, Any], seed: int, loss: Tensor,
               globals_: Tensor, d_count: int, allreduce: AllReduce | None) -> None:
    if not all(t.is_contiguous() for t in (*params, *grads)):
        raise ValueError("the fused CUDA step needs contiguous parameters and gradients; use impl='foreach'")
    cached = _tables_for(params, grads, offsets, globals_)
    cached.update("pointers", [t.data_ptr() for tensors in (params, grads, momenta) for t in tensors])
    cached.update("hyper", [v for values in per for v in values])
    if not cached.initialized:
        # Until a first step has initialised the momenta the host checks once per step (one sync, at most a
        # few times in a run); afterwards the step never synchronises.
        cached.initialized = bool(globals_[INITIALIZED].item())
        if not cached.initialized and name == "ecd":
            d = torch.tensor([float(d_count)], dtype=torch.float64, device=globals_.device)
            if allreduce is not None:
                allreduce(d)  # each rank counts its shard
            globals_[D] = d[0]
    on_ranks = None
    if allreduce is not None:  # the C++ step hands over device pointers to the per-tensor sums and the noise norm
        views = {t.data_ptr(): t for t in (cached.buffers["sums"].view(torch.float64), cached.buffers["norm2"])}

        def on_ranks(pointer: int, count: int) -> None:
            allreduce(views[pointer][:count])
    tables = {k: v.data_ptr() for k, v in cached.tensors.items()} | cached.sizes
    buffers = {k: v.data_ptr() for k, v in cached.buffers.items()}
    buffers.update(globals=globals_.data_ptr(), loss=loss.data_ptr())
    _core.optim.ecd_step_cuda(name, tables, buffers, hyper, not cached.initialized, seed, params[0].device.index or 0,
                              torch.cuda.current_stream(params[0].device).cuda_stream, on_ranks)
