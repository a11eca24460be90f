"""BBI: Bouncing Born-Infeld Energy Conserving Descent (spec/ecd.md §3)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from .._validate import require_finite, require_int
from ._base import N_BOUNCES, EnergyOptimizer


class BBI(EnergyOptimizer):
    r"""BBI (De Luca & Silverstein, ICML 2022): conserves E² = V² + V ‖p‖² with V = F - v0, and bounces.

    An ordinary step, per tensor i (after c rescales p to ‖p‖² = E²/V - V when ``conserve_energy``)::

        p_i ← p_i - ½ Δt (V/E + E/V) g_i;   θ_i ← θ_i + Δt (V/E) p_i

    A bounce replaces p by uniform(-½, ½) Philox noise rescaled to the same ‖p‖, without moving θ. Bounces
    happen every T₀ ordinary steps for the first N_b times, and whenever T₁ ordinary steps pass without a new
    minimum of V. The first step sets E = V₀ + δE and p_i = -(g_i / ‖g_i‖) √(E²/V₀ - V₀).

    Args:
        params: parameters or param-group dicts.
        lr: time step Δt (required). Per group; LR schedulers work.
        v0: ΔV, expected minimum of the loss (default 0.0).
        threshold0: T₀, ordinary steps between fixed bounces (default 1000).
        threshold: T₁, ordinary steps without progress before a bounce (default 3000).
        delta_energy: δE >= 0, extra initial energy (default 0.0).
        n_fixed_bounces: N_b >= 0 (default 1).
        conserve_energy, eps1, eps2, seed, impl, count_frozen, process_group, shard_offsets: as in ``ECD``.

    Example::

        opt = BBI(model.parameters(), lr=0.05, v0=0.0, threshold0=200, threshold=500)
        opt.step(closure)
        print(opt.num_bounces)
    """

    name = "bbi"
    group_keys = ("lr",)

    def __init__(self, params: Iterable, lr: float, v0: float = 0.0, threshold0: int = 1000, threshold: int = 3000,
                 delta_energy: float = 0.0, n_fixed_bounces: int = 1, conserve_energy: bool = True,
                 eps1: float = 1e-10, eps2: float = 1e-40, seed: int = 0, *, impl: str | None = None,
                 count_frozen: bool = True, process_group: Any = None,
                 shard_offsets: Sequence[int] | None = None) -> None:
        defaults = dict(lr=lr, v0=v0, threshold0=threshold0, threshold=threshold, delta_energy=delta_energy,
                        n_fixed_bounces=n_fixed_bounces, conserve_energy=conserve_energy, eps1=eps1, eps2=eps2,
                        seed=seed)
        super().__init__(params, defaults, impl=impl, count_frozen=count_frozen, process_group=process_group,
                         shard_offsets=shard_offsets)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        require_finite("v0", group["v0"])
        require_int("threshold0", group["threshold0"], 1)
        require_int("threshold", group["threshold"], 1)
        require_int("n_fixed_bounces", group["n_fixed_bounces"], 0)

    @property
    def num_bounces(self) -> int:
        """Bounces performed so far (fixed and progress-dependent; synchronises with the device)."""
        return int(self._globals[N_BOUNCES])
