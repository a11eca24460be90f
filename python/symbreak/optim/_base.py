"""The skeleton ECD, ECDSep and BBI share: torch.optim conventions, global state, dispatch, distributed sums.

Global state
------------
Everything global over all parameter groups lives in ONE float64 tensor ``optimizer._globals`` of NUM_SLOTS
slots on the parameters' device, so a step needs no host synchronisation. Slots (never renumber; checkpoints
store the tensor as is; 0-8 match ``EcdSlot`` in cpp/include/symbreak/optim/ecd.hpp):

==  ===========  ===================================================================================
 0  STEP         applied steps so far; the Philox step key of the next draw (skipped steps excluded)
 1  INITIALIZED  1.0 once the first finite step initialised the momenta (never re-initialised)
 2  STATUS       last call: 0 applied, 1 skipped (non-finite loss/gradient/‖θ‖²), 2 skipped (F̃ or V <= eps2),
                 3 skipped (no parameter had a gradient; set by the optimizer, the step function is not called)
 3  D            d, number of elements, fixed at initialisation (ECD)
 4  P2           P² = ‖p‖² of the true momenta after the last applied step
 5  ENERGY       E: ECDSep V₀(s + δE); BBI V₀ + δE
 6  H            effective step of the first parameter's group in the last applied step (ECD h = lr/√η;
                 ECDSep 2Δt/(s + P²); BBI Δt V/E, 0 on a bounce); for logging
 7  NU           effective noise of the last applied step (ECD ν' = ν/√d; ECDSep ν); for logging
 8  F            F̃ (ECD, ECDSep) or V (BBI) of the last applied step; for logging
 9  MSCALE       true momentum = MSCALE * state["momentum"]. Reference and foreach fold it into their first
                 rescale and leave 1.0; a fused step may carry the final rescale of the noise (or bounce)
                 here instead of making a third pass over p (spec §1, notes)
10  V_MIN        BBI: smallest V seen on an ordinary step (+inf before the first)
11  SINCE_MIN    BBI: ordinary steps since V_MIN last improved (T₁ counter)
12  SINCE_FIXED  BBI: ordinary steps since the start or the last fixed bounce (T₀ counter)
13  N_FIXED      BBI: fixed bounces performed
14  N_BOUNCES    BBI: bounces performed (fixed and progress-dependent)
15  SCRATCH      (fused CUDA step only: hand-over between its kernels within one step)
==  ===========  ===================================================================================

Step contract (``_reference.step``, ``_foreach.step`` and ``symbreak.optim._fused.step`` all take it)
------------------------------------------------------------------------------------------------
::

    step(name, params, grads, momenta, offsets, group_ids, groups, hypers, loss, globals_, d_count, allreduce)
        -> None

- name: "ecd" | "ecdsep" | "bbi".
- params: list[Tensor], the parameters whose ``.grad`` is not None, in parameter order over all groups, all on
  one device; float32, bfloat16 or float16 (mixed allowed); updated in place (math in fp32, rounded once).
- grads: list[Tensor], their dense gradients (same shapes; any of the three dtypes).
- momenta: list[Tensor], float32, contiguous, same shapes; ``state["momentum"]``; updated in place. Zeros before
  the first step (initialised by the step itself).
- offsets: list[int], global element index of element 0 of each tensor (the Philox counter of the noise).
- group_ids: list[int], param-group index of each tensor.
- groups: list[dict[str, float]], per-group hyper-parameters, ``groups[group_ids[i]]``: ECD "lr", "eta",
  "weight_decay"; ECDSep "lr", "weight_decay"; BBI "lr".
- hypers: dict, the global hyper-parameters (equal in every group), already derived (ECDSep "delta_energy" is
  1 when s != 1): ECD F0, nu, conserve_energy, eps1, eps2, seed (int), projection ("tensor" | "global");
  ECDSep eta, F0, nu, s, delta_energy, conserve_energy, eps1, eps2, seed; BBI v0, threshold0, threshold,
  delta_energy, n_fixed_bounces, conserve_energy, eps1, eps2, seed.
- loss: 0-dim float64 tensor on the device (F as given by the user; never read on the host by foreach/fused).
- globals_: the float64 slot tensor above, read and written in place.
- d_count: int, elements this rank counts in d (frozen parameters included unless count_frozen=False); its
  sum over ranks becomes slot D at initialisation.
- allreduce: None (single process) or a callable summing a float64 device tensor in place over the process
  group. Sharded runs call it on every reduction (per-tensor partial sums: ⟨p_i,G_i⟩, ‖p_i‖², ‖g_i‖², w_i‖θ_i‖²,
  and d_count) between the reduction pass and the update pass, so every rank takes the 1-process step. Every
  rank holds a slice of the same tensors in the same order (empty slices allowed), so per-tensor vectors line up.

Numerics shared by all implementations: per-element math in fp32; scalars (F̃, V, c, k, h, ...) in float64 on
the device, rounded to fp32 where they multiply elements; one partial per tensor (reference and foreach: fp32
``torch.dot``, BLAS-accurate), widened to float64 and summed in parameter order. A gradient whose square
overflows fp32 counts as non-finite. Skipped steps leave params, momenta and every slot but STATUS bit-identical,
except that the first finite step initialises (momenta, INITIALIZED, D, P2, ENERGY) even when F̃ / V is at the floor.
Noise: see ``_philox`` (ids RNG_ECD_NOISE = 6, RNG_ECDSEP_NOISE = 7, RNG_BBI_BOUNCE = 8, substep 0).
"""

from __future__ import annotations

import math
from itertools import chain
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import Tensor

from .. import _core
from .._validate import require_choice, require_finite, require_int, require_positive

STEP, INITIALIZED, STATUS, D, P2, ENERGY, H, NU, F = range(9)
MSCALE, V_MIN, SINCE_MIN, SINCE_FIXED, N_FIXED, N_BOUNCES = range(9, 15)
NUM_SLOTS = 16
SLOT_NAMES = ("step", "initialized", "status", "d", "P2", "energy", "h", "nu", "F", "momentum_scale", "v_min",
              "since_min", "since_fixed", "n_fixed_bounces", "n_bounces")
STATUS_APPLIED, STATUS_NONFINITE, STATUS_FLOOR, STATUS_NO_GRAD = 0, 1, 2, 3
PARAM_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
IMPLS = ("fused", "foreach", "reference")

AllReduce = Callable[[Tensor], Any]


def new_globals(device: torch.device) -> Tensor:
    """A fresh slot tensor: all zero except MSCALE = 1 and V_MIN = +inf."""
    g = torch.zeros(NUM_SLOTS, dtype=torch.float64, device=device)
    g[MSCALE] = 1.0
    g[V_MIN] = math.inf
    return g


def fused_available(name: str, device_type: str) -> bool:
    """Whether ``symbreak._core`` has a fused step for this optimizer on this device type."""
    optim = getattr(_core, "optim", None)
    return optim is not None and hasattr(optim, "supports") and bool(optim.supports(name, device_type))


class EnergyOptimizer(torch.optim.Optimizer):
    """Base of ECD, ECDSep and BBI. Subclasses set ``name``, ``group_keys`` (hyper-parameters that may differ
    between groups; every other key of ``defaults`` is global and must agree across groups) and
    ``_check_group``."""

    name: str = ""
    group_keys: tuple[str, ...] = ("lr",)

    def __init__(self, params: Iterable, defaults: dict[str, Any], *, impl: str | None, count_frozen: bool,
                 process_group: Any, shard_offsets: Sequence[int] | None) -> None:
        super().__init__(params, defaults)
        device = self._device()
        self._globals = new_globals(device)
        self._impl = self._resolve_impl(impl, device)
        self._count_frozen = bool(count_frozen)
        self._process_group = process_group
        self._shard_offsets = None if shard_offsets is None else [require_int("shard_offsets[i]", o, 0)
                                                                   for o in shard_offsets]

    # -- construction and validation -------------------------------------------------------------------------
    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate one group's hyper-parameters (ValueError naming the parameter and its range)."""
        require_positive("lr", group["lr"])
        for key in ("nu", "weight_decay", "delta_energy", "eps1"):
            if key in group and not require_finite(key, group[key]) >= 0:
                raise ValueError(f"{key} must be >= 0, got {group[key]}")
        require_finite("eps2", group["eps2"])
        require_int("seed", group["seed"], 0, 2**64 - 1)
        if not isinstance(group["conserve_energy"], bool):
            raise ValueError(f"conserve_energy must be True or False, got {group['conserve_energy']!r}")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        try:
            for p in group["params"]:
                if p.is_sparse or p.layout != torch.strided:
                    raise ValueError(f"{type(self).__name__} does not support sparse parameters (layout {p.layout})")
                if p.is_complex():
                    raise ValueError(f"{type(self).__name__} does not support complex parameters ({p.dtype}); "
                                     "optimise torch.view_as_real(p) instead")
                if p.dtype not in PARAM_DTYPES:
                    raise ValueError(f"{type(self).__name__} supports float32, bfloat16 and float16 parameters, "
                                     f"got {p.dtype}")
            devices = sorted({str(p.device) for g in self.param_groups for p in g["params"]})
            if len(devices) > 1:
                raise ValueError(f"{type(self).__name__}: all parameters must be on one device (the energy is "
                                 f"global), got parameters on {', '.join(devices)}")
            self._check_group(group)
            self._global_hypers()
        except ValueError:
            self.param_groups.pop()
            raise

    def _resolve_impl(self, impl: str | None, device: torch.device) -> str:
        if impl is None:
            return "fused" if fused_available(self.name, device.type) else "foreach"
        require_choice("impl", impl, IMPLS)
        if impl == "fused" and not fused_available(self.name, device.type):
            raise ValueError(f"impl='fused' is not available for {type(self).__name__} on {device.type}: "
                             f"symbreak._core.optim.supports({self.name!r}, {device.type!r}) is not True in this "
                             "build; use impl='foreach' (or leave impl unset to pick the fastest available)")
        return impl

    def _device(self) -> torch.device:
        return self.param_groups[0]["params"][0].device

    def _global_hypers(self) -> dict[str, Any]:
        first = self.param_groups[0]
        keys = [k for k in self.defaults if k not in self.group_keys]
        for i, group in enumerate(self.param_groups[1:], 1):
            for k in keys:
                if group[k] != first[k]:
                    raise ValueError(f"{type(self).__name__}: {k} is global (the energy is shared by all groups) "
                                     f"and must be equal in every param group; group 0 has {first[k]!r}, group "
                                     f"{i} has {group[k]!r}")
        return self._derive({k: first[k] for k in keys})

    def _derive(self, hypers: dict[str, Any]) -> dict[str, Any]:
        """Global hyper-parameters as the step uses them (ECDSep forces δE = 1 when s != 1)."""
        return hypers

    # -- the step ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None, *, loss: Any = None) -> Any:
        """One step. The loss F comes from ``closure`` (called under ``torch.enable_grad()``; it must compute
        the loss, call ``backward()`` and return the loss) or from ``loss=`` after ``loss.backward()``.
        Returns the loss. A non-finite loss or gradient skips the step (see ``last_step_skipped``)."""
        if closure is not None:
            if loss is not None:
                raise ValueError("pass the loss either through closure or through loss=, not both")
            with torch.enable_grad():
                loss = closure()
        if loss is None:
            raise ValueError(f"{type(self).__name__}.step() needs the value of the loss F (the energy depends on "
                             "it): call loss.backward() and then optimizer.step(loss=loss), or pass a closure "
                             "that zeroes the gradients, computes the loss, calls backward() and returns it: "
                             "optimizer.step(closure)")
        device = self._device()
        loss_t = self._loss_tensor(loss, device)
        hypers = self._global_hypers()
        params, grads, momenta, offsets, group_ids, d_count = self._collect()
        if self._globals.device != device:
            self._globals = self._globals.to(device)
        if not params:
            self._globals[STATUS] = STATUS_NO_GRAD
            return loss
        allreduce = self._allreduce()
        if allreduce is None and d_count < 2 and self.name == "ecd":
            raise ValueError(f"ECD needs d >= 2 parameter elements (k has d - 1 in its denominator), got {d_count}")
        groups = [{k: g[k] for k in self.group_keys} for g in self.param_groups]
        if self._impl == "fused":
            from . import _fused as impl_module
        elif self._impl == "foreach":
            from . import _foreach as impl_module
        else:
            from . import _reference as impl_module
        impl_module.step(self.name, params, grads, momenta, offsets, group_ids, groups, hypers, loss_t,
                         self._globals, d_count, allreduce)
        return loss

    @staticmethod
    def _loss_tensor(loss: Any, device: torch.device) -> Tensor:
        if isinstance(loss, Tensor):
            if loss.numel() != 1:
                raise ValueError(f"the loss must be a scalar (one element), got a tensor of shape {tuple(loss.shape)}; "
                                 "reduce it first, e.g. loss.mean()")
            if loss.is_complex():
                raise ValueError(f"the loss must be real, got {loss.dtype}")
            return loss.detach().reshape(()).to(device=device, dtype=torch.float64)
        try:
            return torch.tensor(float(loss), dtype=torch.float64, device=device)
        except (TypeError, ValueError):
            raise ValueError(f"the loss must be a scalar tensor or a number, got {type(loss).__name__}") from None

    def _collect(self) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[int], list[int], int]:
        """The participating tensors (grad not None), their momenta (created lazily), offsets and d count."""
        params, grads, momenta, offsets, group_ids = [], [], [], [], []
        shard = self._shard_offsets
        total = sum(len(g["params"]) for g in self.param_groups)
        if shard is not None and len(shard) != total:
            raise ValueError(f"shard_offsets has {len(shard)} entries but the optimizer holds {total} parameters "
                             "(one global element offset per parameter, in parameter order over all groups)")
        offset, position, d_count = 0, 0, 0
        for gid, group in enumerate(self.param_groups):
            for p in group["params"]:
                start = shard[position] if shard is not None else offset
                offset += p.numel()
                position += 1
                if p.grad is None:
                    d_count += p.numel() if self._count_frozen else 0
                    continue
                g = p.grad
                if g.is_sparse or g.layout != torch.strided:
                    raise ValueError(f"{type(self).__name__} does not support sparse gradients (layout {g.layout}); "
                                     "use dense gradients (e.g. nn.Embedding(sparse=False))")
                if g.shape != p.shape or g.dtype not in PARAM_DTYPES:
                    raise ValueError(f"gradient of shape {tuple(g.shape)} and dtype {g.dtype} does not fit its "
                                     f"parameter of shape {tuple(p.shape)} and dtype {p.dtype}")
                state = self.state[p]
                if "momentum" not in state:
                    state["momentum"] = torch.zeros(p.shape, dtype=torch.float32, device=p.device)
                params.append(p)
                grads.append(g)
                momenta.append(state["momentum"])
                offsets.append(start)
                group_ids.append(gid)
                d_count += p.numel()
        return params, grads, momenta, offsets, group_ids, d_count

    def _allreduce(self) -> AllReduce | None:
        group = self._process_group
        if group is None:
            return None
        import torch.distributed as dist

        if dist.get_world_size(group) == 1:
            return None
        return lambda t: dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)

    # -- inspection -------------------------------------------------------------------------------------------
    @property
    def last_step_skipped(self) -> bool:
        """True when the last ``step()`` did not move anything: a non-finite loss, gradient or ‖θ‖², F̃ / V at or
        below eps2, or no gradients at all. Reading it synchronises with the device; the step itself never does."""
        return bool(self._globals[STATUS] != STATUS_APPLIED)

    @property
    def global_state(self) -> dict[str, float]:
        """The global slots by name (step, P2, energy, ...), as Python floats (synchronises; for logging)."""
        return dict(zip(SLOT_NAMES, self._globals[:len(SLOT_NAMES)].tolist()))

    # -- checkpoints ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """torch's state dict (momenta per parameter, param groups) plus ``"globals"``: every global slot."""
        sd = super().state_dict()
        sd["globals"] = self._globals.clone()
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict from ``state_dict()``; the run continues bit-identically. Momenta stay float32
        (torch's loader would cast them to the parameter dtype)."""
        state_dict = dict(state_dict)
        saved_globals = state_dict.pop("globals", None)
        if not isinstance(saved_globals, Tensor) or saved_globals.numel() != NUM_SLOTS:
            raise ValueError(f"this state dict has no 'globals' tensor of {NUM_SLOTS} slots: it was not saved by "
                             f"symbreak.optim.{type(self).__name__}.state_dict()")
        saved_ids = list(chain.from_iterable(g["params"] for g in state_dict["param_groups"]))
        momenta = {i: s["momentum"] for i, s in state_dict["state"].items() if "momentum" in s}
        super().load_state_dict(state_dict)
        params = list(chain.from_iterable(g["params"] for g in self.param_groups))
        for i, p in zip(saved_ids, params):
            if i in momenta:
                self.state[p]["momentum"] = momenta[i].to(device=p.device, dtype=torch.float32, copy=True)
        self._globals = saved_globals.to(device=self._device(), dtype=torch.float64, copy=True)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.update(_globals=self._globals, _impl=self._impl, _count_frozen=self._count_frozen,
                     _shard_offsets=self._shard_offsets)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for k, v in self.defaults.items():
                group.setdefault(k, v)
        self.__dict__.setdefault("_globals", new_globals(self._device()))
        self.__dict__.setdefault("_impl", "foreach")
        self.__dict__.setdefault("_count_frozen", True)
        self.__dict__.setdefault("_shard_offsets", None)
        self.__dict__.setdefault("_process_group", None)
