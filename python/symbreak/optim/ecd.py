"""ECD: Energy Conserving Descent, the q = 1 "scaled" variant (spec/ecd.md §1)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from .._validate import require_choice, require_finite, require_positive
from ._base import EnergyOptimizer


class ECD(EnergyOptimizer):
    r"""Energy Conserving Descent with q = 1 (the variant Silverstein, Kunin & Shyam train GPT-2 with).

    The momentum p lives on the unit sphere (‖p‖ = 1 over all parameters) and rotates towards -G = -(g + w θ);
    every step moves θ by h p, a Euclidean distance h = lr / √η in parameter space. With
    F̃ = F + ½ w ‖θ‖² - F0 and k = h η d / (2 (d - 1) F̃), one step is, per tensor i::

        p_i ← c p_i;  G_i = g_i + w θ_i;  p_i ← p_i - k (G_i - ⟨p_i, G_i⟩ p_i);  θ_i ← θ_i + h p_i

    with c = 1/‖p‖ restoring ‖p‖ = 1 (``conserve_energy``), then, if ν > 0, a rotation of p by Philox noise of
    size ν' = ν / √d (d = number of elements). F0 must lie below the losses you expect to reach: the step size
    k grows as F̃ → 0, and a step with F̃ <= eps2 is skipped.

    Args:
        params: parameters or param-group dicts (torch.optim conventions).
        lr: step scale (required; paper, GPT-2 with symmetry breaking: 1.0). Per group; LR schedulers work.
        eta: η > 0 (required; paper: 100). Per group.
        F0: loss offset, below the reachable minimum (default -1.0; paper: 2.0 for its language-model loss).
        nu: momentum noise ν >= 0 (default 0.0; paper: 0.0).
        weight_decay: L2 coefficient w >= 0 in F̃ and G (default 0). Per group: F̃ adds ½ w ‖θ‖² of each group.
        conserve_energy: rescale p to ‖p‖ = 1 at each step (default True).
        projection: "tensor" (⟨p_i, G_i⟩ per tensor, as published; default) or "global" (over all parameters).
        eps1, eps2: tolerance of the rescale test and floor of F̃ (1e-10, 1e-40).
        seed: Philox seed of the noise (default 0); noise is keyed by (seed, step) and each element's global
            index, so it does not depend on grouping, chunking or sharding.
        impl: "fused" (C++/CUDA; default where ``symbreak._core`` provides it), "foreach" (default otherwise)
            or "reference" (plain per-tensor torch, the test oracle).
        count_frozen: count parameters without gradients in d (default True).
        process_group: torch.distributed group over which parameters are *sharded* (each rank holds a slice
            of every tensor); reductions are summed over it. Not needed under DDP (replicated parameters).
        shard_offsets: with sharding, the global element index of element 0 of each local parameter, in
            parameter order over all groups (default: cumulative sizes, i.e. unsharded).

    Every rank and every step must see the same global loss F (under DDP or sharding, all-reduce its mean
    before passing it). Only one state buffer per parameter: ``state["momentum"]`` (float32; the true momentum
    is ``momentum_scale`` from ``global_state`` times it).

    Example::

        opt = ECD(model.parameters(), lr=1.0, eta=100.0, F0=2.0)
        for x, y in data:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step(loss=loss)      # or opt.step(closure)
    """

    name = "ecd"
    group_keys = ("lr", "eta", "weight_decay")

    def __init__(self, params: Iterable, lr: float, eta: float, F0: float = -1.0, nu: float = 0.0,
                 weight_decay: float = 0.0, conserve_energy: bool = True, projection: str = "tensor",
                 eps1: float = 1e-10, eps2: float = 1e-40, seed: int = 0, *, impl: str | None = None,
                 count_frozen: bool = True, process_group: Any = None,
                 shard_offsets: Sequence[int] | None = None) -> None:
        defaults = dict(lr=lr, eta=eta, F0=F0, nu=nu, weight_decay=weight_decay, conserve_energy=conserve_energy,
                        projection=projection, eps1=eps1, eps2=eps2, seed=seed)
        super().__init__(params, defaults, impl=impl, count_frozen=count_frozen, process_group=process_group,
                         shard_offsets=shard_offsets)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        require_positive("eta", group["eta"])
        require_finite("F0", group["F0"])
        require_choice("projection", group["projection"], ("tensor", "global"))
