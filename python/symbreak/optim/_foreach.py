"""Foreach steps: the reference algorithm with ``torch._foreach_*`` ops and device-side control flow.

No host synchronisation and no host-to-device copies: every scalar (F̃, V, c, k, the floor and finiteness tests,
bounce decisions) is a 0-dim float64 tensor on the parameters' device, and decisions select values with
``torch.where``. A skipped step multiplies by exact ones and adds exact zeros, and masks the (possibly non-finite)
gradients per tensor, so params and momenta stay bit-identical. The price of staying sync-free: the
initialisation select runs every step, and BBI draws its bounce noise every step (the host cannot know whether
the device decided to bounce). Operation order per element matches ``_reference`` (contract in ``_base``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ._base import (D, ENERGY, F, H, INITIALIZED, MSCALE, N_BOUNCES, N_FIXED, NU, P2, SINCE_FIXED, SINCE_MIN,
                    STATUS, STATUS_APPLIED, STATUS_FLOOR, STATUS_NONFINITE, STEP, V_MIN, AllReduce)
from ._philox import RNG_BBI_BOUNCE, RNG_ECD_NOISE, RNG_ECDSEP_NOISE, draw


def _dots(a: list[Tensor], b: list[Tensor], like: Tensor) -> Tensor:
    """Per-tensor ⟨a_i, b_i⟩ as a float64 vector, exactly as ``_reference._dot`` (fp32 BLAS dot per tensor;
    torch's fp32 ``_foreach_norm`` accumulates naively on CPU, 1e-4 relative error at 4M elements)."""
    if not a:
        return like.new_zeros(0)
    return torch.stack([torch.dot(x.reshape(-1), y.reshape(-1)) for x, y in zip(a, b)]).double()


def _norms2(xs: list[Tensor], like: Tensor) -> Tensor:
    return _dots(xs, xs, like)


def _reduce(v: Tensor, allreduce: AllReduce | None) -> Tensor:
    if allreduce is not None:
        allreduce(v)
    return v


def _by_group(group_ids: list[int]) -> list[tuple[int, list[int]]]:
    out: dict[int, list[int]] = {}
    for i, gid in enumerate(group_ids):
        out.setdefault(gid, []).append(i)
    return list(out.items())


def _pick(xs: list[Any], idx: list[int]) -> list[Any]:
    return [xs[i] for i in idx]


def _rescale(conserve: bool, P2_true: Tensor, P2_: Tensor, eps1: float) -> Tensor:
    """c = √(P²_true / P²) unless a guard holds (as ``_reference._rescale``)."""
    if not conserve:
        return torch.ones_like(P2_)
    keep = (P2_ == 0) | (P2_true < 0) | ((P2_true - P2_).abs() < eps1)
    return torch.where(keep, 1.0, (P2_true / P2_).sqrt())


def _first_sums(theta: list[Tensor], g: list[Tensor], wd: list[float], loss: Tensor, d_count: int,
                allreduce: AllReduce | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(½ Σ w_i ‖θ_i‖², per-tensor ‖g_i‖², d, finite), all on the device."""
    zero = loss.new_zeros(())
    wq = [torch.dot(t.reshape(-1), t.reshape(-1)).double() * w if w != 0 else zero for t, w in zip(theta, wd)]
    rows = torch.stack([torch.stack(wq), _norms2(g, loss)], 1) if g else loss.new_zeros(0, 2)
    extra = loss.new_zeros(1, 2)
    extra[0, 0] = float(d_count)
    part = _reduce(torch.cat([rows, extra]), allreduce)
    Q = 0.5 * part[:-1, 0].sum()
    gsq = part[:-1, 1]
    finite = torch.isfinite(loss) & torch.isfinite(Q) & torch.isfinite(gsq.sum())
    return Q, gsq, part[-1, 0], finite


def _masked_G(g: list[Tensor], theta: list[Tensor], wd: list[float], mask: Tensor) -> list[Tensor]:
    """G_i = g_i + w_i θ_i where the step applies, exact zeros otherwise (the gradient may be non-finite)."""
    return [torch.where(mask, gi + w * th if w != 0 else gi, 0.0) for gi, th, w in zip(g, theta, wd)]


def _move(params: list[Tensor], theta: list[Tensor], momenta: list[Tensor], group_ids: list[int],
          coef: dict[int, Tensor]) -> None:
    """θ_i ← θ_i + coef_group p_i in fp32; parameters stored in 16 bits are rounded once."""
    for gid, idx in _by_group(group_ids):
        torch._foreach_add_(_pick(theta, idx), torch._foreach_mul(_pick(momenta, idx), coef[gid]))
    low = [i for i, p in enumerate(params) if p.dtype != torch.float32]
    if low:
        torch._foreach_copy_(_pick(params, low), _pick(theta, low))


def _add_noise(momenta: list[Tensor], cond: Tensor, P: Tensor, nu: Tensor, rng_id: int, seed: int, step: Tensor,
               offsets: list[int], allreduce: AllReduce | None) -> None:
    """p ← (p / P + ν z) · P / ‖p / P + ν z‖ where cond, else p exactly (1 and 0 coefficients)."""
    z = draw("normal", seed, rng_id, step, offsets, [p.numel() for p in momenta], P.device, dtype=torch.float32)
    z = [zi.view_as(p) for zi, p in zip(z, momenta)]
    q = torch._foreach_div(momenta, torch.where(cond, P, 1.0).float())
    torch._foreach_add_(q, torch._foreach_mul(z, torch.where(cond, nu, 0.0).float()))
    norm = _reduce(_norms2(q, P), allreduce).sum().sqrt()
    torch._foreach_mul_(q, torch.where(cond, P / norm, 1.0).float())
    torch._foreach_copy_(momenta, q)


def _init_select(momenta: list[Tensor], init: Tensor, g: list[Tensor]) -> None:
    """p_i ← g_i where this step initialises, else p_i exactly (g may be non-finite then); callers scale next."""
    for p, gi in zip(momenta, g):
        torch.where(init, gi, p, out=p)


def _finish(s: Tensor, old: Tensor, finite: Tensor, apply: Tensor, slots: dict[int, Tensor]) -> None:
    s[STEP] = old[STEP] + apply.double()
    s[STATUS] = torch.where(finite, torch.where(apply, float(STATUS_APPLIED), float(STATUS_FLOOR)),
                            float(STATUS_NONFINITE))
    for slot, value in slots.items():
        s[slot] = value


def _ecd(params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
         group_ids: list[int], groups: list[dict[str, float]], hy: dict[str, Any], loss: Tensor,
         s: Tensor, d_count: int, allreduce: AllReduce | None) -> None:
    old = s.clone()
    theta = [p.float() for p in params]
    g = [x.float() for x in grads]
    wd = [groups[j]["weight_decay"] for j in group_ids]
    Q, gsq, d, finite = _first_sums(theta, g, wd, loss, d_count, allreduce)
    init = finite & (old[INITIALIZED] == 0)
    norm = gsq.sum().sqrt()
    denom = torch.where(norm > 0, -norm, -math.inf).float()  # p = -g / ‖g‖ (0 when ‖g‖ = 0)
    _init_select(momenta, init, g)
    torch._foreach_div_(momenta, torch.where(init, denom, 1.0))
    P2_0 = torch.where(init, (norm > 0).double(), old[P2])
    D_ = torch.where(init, d, old[D])
    MS = torch.where(init, 1.0, old[MSCALE])
    Ft = loss + Q - hy["F0"]
    apply = finite & (Ft > hy["eps2"])
    c = _rescale(hy["conserve_energy"], torch.ones_like(P2_0), P2_0, hy["eps1"]) * MS
    torch._foreach_mul_(momenta, torch.where(apply, c, 1.0).float())
    G = _masked_G(g, theta, wd, apply)
    dots = _reduce(_dots(momenta, G, loss), allreduce)
    delta = dots.sum().expand(len(G)) if hy["projection"] == "global" else dots
    delta = list(delta.float().unbind(0)) if G else []
    h = {gid: groups[gid]["lr"] / math.sqrt(groups[gid]["eta"]) for gid, _ in _by_group(group_ids)}
    for gid, idx in _by_group(group_ids):
        k = h[gid] * groups[gid]["eta"] * D_ / (2 * (D_ - 1) * Ft)
        t = torch._foreach_sub(_pick(G, idx), torch._foreach_mul(_pick(momenta, idx), _pick(delta, idx)))
        torch._foreach_mul_(t, torch.where(apply, k, 0.0).float())
        torch._foreach_sub_(_pick(momenta, idx), t)
    P2n = _reduce(_norms2(momenta, loss), allreduce).sum()
    P = P2n.sqrt()
    _move(params, theta, momenta, group_ids, {gid: torch.where(apply, v, 0.0).float() for gid, v in h.items()})
    nu = hy["nu"] / D_.sqrt()
    if hy["nu"] > 0:
        _add_noise(momenta, apply & (P > 0), P, nu, RNG_ECD_NOISE, hy["seed"], old[STEP], offsets, allreduce)
    h0 = h[group_ids[0]] if group_ids else 0.0
    _finish(s, old, finite, apply, {
        INITIALIZED: torch.where(init, 1.0, old[INITIALIZED]), D: D_, P2: torch.where(apply, P2n, P2_0),
        MSCALE: torch.where(apply, 1.0, MS), H: torch.where(apply, h0, old[H]), NU: torch.where(apply, nu, old[NU]),
        F: torch.where(apply, Ft, old[F])})


def _ecdsep(params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
            group_ids: list[int], groups: list[dict[str, float]], hy: dict[str, Any], loss: Tensor,
            s: Tensor, d_count: int, allreduce: AllReduce | None) -> None:
    old = s.clone()
    theta = [p.float() for p in params]
    g = [x.float() for x in grads]
    wd = [groups[j]["weight_decay"] for j in group_ids]
    Q, gsq, _, finite = _first_sums(theta, g, wd, loss, d_count, allreduce)
    Ft = loss + Q - hy["F0"]
    V = torch.where(Ft > 0, Ft.clamp(min=0) ** hy["eta"], 0.0)
    init = finite & (old[INITIALIZED] == 0)
    dE, gg = hy["delta_energy"], gsq.sum()
    scale = torch.where(gg > 0, (dE / gg).sqrt(), 0.0).float()
    _init_select(momenta, init, g)
    torch._foreach_mul_(momenta, torch.where(init, -scale, 1.0))
    E = torch.where(init, V * (hy["s"] + dE), old[ENERGY])
    P2_0 = torch.where(init, (gg > 0).double() * dE, old[P2])
    MS = torch.where(init, 1.0, old[MSCALE])
    apply = finite & (V > hy["eps2"])
    c = _rescale(hy["conserve_energy"], E / V - hy["s"], P2_0, hy["eps1"]) * MS
    torch._foreach_mul_(momenta, torch.where(apply, c, 1.0).float())
    G = _masked_G(g, theta, wd, apply)
    for gid, idx in _by_group(group_ids):
        k = torch.where(apply, groups[gid]["lr"] * (hy["eta"] / Ft), 0.0).float()
        torch._foreach_sub_(_pick(momenta, idx), torch._foreach_mul(_pick(G, idx), k))
    P2n = _reduce(_norms2(momenta, loss), allreduce).sum()
    P = P2n.sqrt()
    denom = hy["s"] + P2n
    moves = apply & (denom > 0)
    h = {gid: torch.where(moves, 2 * groups[gid]["lr"] / denom, 0.0) for gid, _ in _by_group(group_ids)}
    _move(params, theta, momenta, group_ids, {gid: v.float() for gid, v in h.items()})
    if hy["nu"] > 0:
        nu = torch.full_like(P, hy["nu"])
        _add_noise(momenta, apply & (P > 0), P, nu, RNG_ECDSEP_NOISE, hy["seed"], old[STEP], offsets, allreduce)
    _finish(s, old, finite, apply, {
        INITIALIZED: torch.where(init, 1.0, old[INITIALIZED]), ENERGY: E, P2: torch.where(apply, P2n, P2_0),
        MSCALE: torch.where(apply, 1.0, MS), H: torch.where(apply, h[group_ids[0]] if group_ids else 0.0, old[H]),
        NU: torch.where(apply, hy["nu"], old[NU]), F: torch.where(apply, Ft, old[F])})


def _bbi(params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
         group_ids: list[int], groups: list[dict[str, float]], hy: dict[str, Any], loss: Tensor,
         s: Tensor, d_count: int, allreduce: AllReduce | None) -> None:
    old = s.clone()
    theta = [p.float() for p in params]
    g = [x.float() for x in grads]
    _, gsq, _, finite = _first_sums(theta, g, [0.0] * len(g), loss, d_count, allreduce)
    V = loss - hy["v0"]
    eps2 = hy["eps2"]
    init = finite & (old[INITIALIZED] == 0)
    E = torch.where(init, V + hy["delta_energy"], old[ENERGY])
    mag = torch.where(init & (V > eps2), (E * E / V - V).clamp(min=0).sqrt(), 0.0)
    norms = gsq.sqrt()
    if g:  # p_i = -(g_i / ‖g_i‖) mag
        _init_select(momenta, init, g)
        safe = torch.where(norms > 0, norms, math.inf)
        torch._foreach_div_(momenta, list(torch.where(init, safe, 1.0).float().unbind(0)))
        torch._foreach_mul_(momenta, torch.where(init, -mag, 1.0).float())
    P2_0 = torch.where(init, mag * mag * (norms > 0).sum(), old[P2])
    MS = torch.where(init, 1.0, old[MSCALE])
    apply = finite & (V > eps2)
    c = _rescale(hy["conserve_energy"], E * E / V - V, P2_0, hy["eps1"]) * MS
    torch._foreach_mul_(momenta, torch.where(apply, c, 1.0).float())
    fixed = (old[SINCE_FIXED] >= hy["threshold0"]) & (old[N_FIXED] < hy["n_fixed_bounces"])
    bounce = (old[SINCE_MIN] >= hy["threshold"]) | fixed
    ordinary, bounced = apply & ~bounce, apply & bounce
    # bounce candidates: uniform(-½, ½) momenta with the current ‖p‖
    old_norm2 = _reduce(_norms2(momenta, loss), allreduce).sum()
    u = draw("uniform", hy["seed"], RNG_BBI_BOUNCE, old[STEP], offsets, [p.numel() for p in momenta], loss.device,
             dtype=torch.float32)
    u = torch._foreach_sub([ui.view_as(p) for ui, p in zip(u, momenta)], 0.5)
    r = torch.where(bounced, (old_norm2 / _reduce(_norms2(u, loss), allreduce).sum()).sqrt(), 0.0).float()
    G = _masked_G(g, theta, [0.0] * len(g), ordinary)
    torch._foreach_mul_(momenta, torch.where(bounced, 0.0, 1.0).float())
    for gid, idx in _by_group(group_ids):
        beta = torch.where(ordinary, 0.5 * groups[gid]["lr"] * (V / E + E / V), 0.0).float()
        torch._foreach_sub_(_pick(momenta, idx), torch._foreach_mul(_pick(G, idx), beta))
    torch._foreach_add_(momenta, torch._foreach_mul(u, r))
    h = {gid: torch.where(ordinary, groups[gid]["lr"] * (V / E), 0.0) for gid, _ in _by_group(group_ids)}
    _move(params, theta, momenta, group_ids, {gid: v.float() for gid, v in h.items()})
    P2n = torch.where(bounced, old_norm2, _reduce(_norms2(momenta, loss), allreduce).sum())
    since_min, since_fixed = old[SINCE_MIN], old[SINCE_FIXED]
    improved = V < old[V_MIN]
    _finish(s, old, finite, apply, {
        INITIALIZED: torch.where(init, 1.0, old[INITIALIZED]), ENERGY: E, P2: torch.where(apply, P2n, P2_0),
        MSCALE: torch.where(apply, 1.0, MS),
        SINCE_MIN: torch.where(ordinary, torch.where(improved, 0.0, since_min + 1),
                               torch.where(bounced, 0.0, since_min)),
        SINCE_FIXED: torch.where(ordinary, since_fixed + 1, torch.where(bounced & fixed, 0.0, since_fixed)),
        N_FIXED: old[N_FIXED] + (bounced & fixed).double(), N_BOUNCES: old[N_BOUNCES] + bounced.double(),
        V_MIN: torch.where(ordinary & improved, V, old[V_MIN]),
        H: torch.where(apply, h[group_ids[0]] if group_ids else 0.0, old[H]),
        F: torch.where(apply, V, old[F])})


_STEPS = {"ecd": _ecd, "ecdsep": _ecdsep, "bbi": _bbi}


def step(name: str, params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
         group_ids: list[int], groups: list[dict[str, float]], hypers: dict[str, Any], loss: Tensor,
         globals_: Tensor, d_count: int, allreduce: AllReduce | None) -> None:
    """One foreach step (contract in ``_base``)."""
    _STEPS[name](params, grads, momenta, offsets, group_ids, groups, hypers, loss, globals_, d_count, allreduce)
