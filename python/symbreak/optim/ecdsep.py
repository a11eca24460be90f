"""ECDSep: Energy Conserving Descent with the separable Hamiltonian (spec/ecd.md §2)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from .._validate import require_finite
from ._base import EnergyOptimizer


class ECDSep(EnergyOptimizer):
    r"""ECDSep (De Luca, Gatti & Silverstein 2023): conserves E = V (s + ‖p‖²) with V = F̃^η, F̃ = F + ½ w ‖θ‖² - F0.

    One step, per tensor i::

        p_i ← c p_i - Δt (η / F̃) (g_i + w θ_i);   θ_i ← θ_i + 2 Δt p_i / (s + ‖p‖²)

    where c puts p back on the energy shell ‖p‖² = E / V - s (``conserve_energy``), followed, if ν > 0, by a
    rotation of p with Philox noise of size ν. The first step sets E = V₀ (s + δE) and p = -g √(δE / ‖g‖²).
    Large η concentrates the dynamics towards the bottom of the basin.

    Args:
        params: parameters or param-group dicts.
        lr: time step Δt (required; vision settings: 0.4-0.6). Per group; LR schedulers work.
        eta: η >= 1 (required; vision: 1.0). Global.
        F0: expected minimum of the loss (default 0.0).
        nu: noise ν >= 0 (default 1e-5; vision: 5e-5).
        s: regularisation switch s >= 0 (default 1.0); when s != 1, δE is forced to 1 (as published).
        delta_energy: initial kinetic energy δE >= 0 (default 0.0).
        weight_decay: L2 coefficient w >= 0 in F̃ and G (default 0). Per group: F̃ adds ½ w ‖θ‖² of each group.
        conserve_energy, eps1, eps2, seed, impl, count_frozen, process_group, shard_offsets: as in ``ECD``.

    Example::

        opt = ECDSep(model.parameters(), lr=0.5, eta=1.0, nu=5e-5)
        opt.step(closure)            # closure: zero_grad, loss, backward, return loss
    """

    name = "ecdsep"
    group_keys = ("lr", "weight_decay")

    def __init__(self, params: Iterable, lr: float, eta: float, F0: float = 0.0, nu: float = 1e-5, s: float = 1.0,
                 delta_energy: float = 0.0, weight_decay: float = 0.0, conserve_energy: bool = True,
                 eps1: float = 1e-10, eps2: float = 1e-40, seed: int = 0, *, impl: str | None = None,
                 count_frozen: bool = True, process_group: Any = None,
                 shard_offsets: Sequence[int] | None = None) -> None:
        defaults = dict(lr=lr, eta=eta, F0=F0, nu=nu, s=s, delta_energy=delta_energy, weight_decay=weight_decay,
                        conserve_energy=conserve_energy, eps1=eps1, eps2=eps2, seed=seed)
        super().__init__(params, defaults, impl=impl, count_frozen=count_frozen, process_group=process_group,
                         shard_offsets=shard_offsets)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if not require_finite("eta", group["eta"]) >= 1.0:
            raise ValueError(f"eta must be >= 1 for ECDSep (V = F̃^η), got {group['eta']}")
        require_finite("F0", group["F0"])
        if not require_finite("s", group["s"]) >= 0.0:
            raise ValueError(f"s must be >= 0, got {group['s']}")

    def _derive(self, hypers: dict[str, Any]) -> dict[str, Any]:
        if hypers["s"] != 1.0:
            hypers["delta_energy"] = 1.0
        return hypers
