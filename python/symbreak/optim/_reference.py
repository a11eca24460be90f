"""Reference steps: plain per-tensor torch code that mirrors spec/ecd.md line by line (the test oracle).

Slow on purpose: one tensor at a time, host control flow (it reads scalars with ``.item()``), every reduction
materialised. The call contract is documented in ``_base``. Numerics: elements in fp32; scalars as Python floats
(float64), rounded to fp32 by torch where they multiply a tensor; one reduction partial per tensor (fp32 dot,
widened to float64), all-reduced across ranks when sharded, summed in parameter order.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ._base import (D, ENERGY, F, H, INITIALIZED, MSCALE, N_BOUNCES, N_FIXED, NU, P2, SINCE_FIXED, SINCE_MIN,
                    STATUS, STATUS_APPLIED, STATUS_FLOOR, STATUS_NONFINITE, STEP, V_MIN, AllReduce)
from ._philox import RNG_BBI_BOUNCE, RNG_ECD_NOISE, RNG_ECDSEP_NOISE, draw


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """⟨a, b⟩ of one tensor: fp32 BLAS dot, widened to float64."""
    return torch.dot(a.reshape(-1), b.reshape(-1)).double()


def _reduce(parts: list[Tensor], allreduce: AllReduce | None) -> Tensor:
    """Per-tensor float64 partials (a list of equal-shape tensors) -> all-reduced stack."""
    v = torch.stack(parts) if parts else torch.zeros(0, dtype=torch.float64)
    if allreduce is not None:
        allreduce(v)
    return v


def _noise(kind: str, seed: int, rng_id: int, step: float, offset: int, like: Tensor) -> Tensor:
    return draw(kind, seed, rng_id, int(step), [offset], [like.numel()], like.device)[0].float().view_as(like)


def _move(params: list[Tensor], theta: list[Tensor], momenta: list[Tensor], coef: list[float]) -> None:
    """θ_i ← θ_i + coef_i p_i, in fp32, rounded once to the parameter dtype."""
    for param, th, p, h in zip(params, theta, momenta, coef):
        param.copy_(th + h * p)


def _add_noise(momenta: list[Tensor], P: float, nu: float, rng_id: int, hy: dict[str, Any], step: float,
               offsets: list[int], allreduce: AllReduce | None) -> None:
    """p_i ← p_i / P + ν z_i, then rescale every p_i by P / ‖p‖ (spec §1 step 7, §2 step 6)."""
    for p, o in zip(momenta, offsets):
        p.copy_(p / P + nu * _noise("normal", hy["seed"], rng_id, step, o, p))
    norm = math.sqrt(_reduce([_dot(p, p) for p in momenta], allreduce).sum().item())
    for p in momenta:
        p.mul_(P / norm)


def _first_sums(params: list[Tensor], grads: list[Tensor], wd: list[float], loss: Tensor, d_count: int,
                allreduce: AllReduce | None) -> tuple[float, float, Tensor, float, bool]:
    """(F, ½ Σ w_i ‖θ_i‖², per-tensor ‖g_i‖², d, finite)."""
    zero = torch.zeros((), dtype=torch.float64, device=loss.device)
    rows = [torch.stack([_dot(t, t) * w if w != 0 else zero, _dot(g, g)]) for t, g, w in zip(params, grads, wd)]
    part = _reduce(rows + [torch.tensor([float(d_count), 0.0], dtype=torch.float64, device=loss.device)], allreduce)
    F_ = loss.item()
    Q = 0.5 * part[:-1, 0].sum().item()
    gsq = part[:-1, 1]
    finite = math.isfinite(F_) and math.isfinite(Q) and math.isfinite(gsq.sum().item())
    return F_, Q, gsq, part[-1, 0].item(), finite


def _rescale(conserve: bool, P2_true: float, P2_: float, eps1: float) -> float:
    """c = √(P²_true / P²) unless a guard holds (spec §2 step 2; §1 step 3 is P²_true = 1)."""
    if not conserve or P2_ == 0.0 or P2_true < 0.0 or abs(P2_true - P2_) < eps1:
        return 1.0
    return math.sqrt(P2_true / P2_)


def _ecd(params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
         group_ids: list[int], groups: list[dict[str, float]], hy: dict[str, Any], loss: Tensor,
         s: list[float], d_count: int, allreduce: AllReduce | None) -> None:
    lr = [groups[j]["lr"] for j in group_ids]
    eta = [groups[j]["eta"] for j in group_ids]
    wd = [groups[j]["weight_decay"] for j in group_ids]
    theta = [p.float() for p in params]
    g = [x.float() for x in grads]
    F_, Q, gsq, d, finite = _first_sums(theta, g, wd, loss, d_count, allreduce)
    if not finite:
        s[STATUS] = STATUS_NONFINITE
        return
    if s[INITIALIZED] == 0.0:
        norm = math.sqrt(gsq.sum().item())
        for p, gi in zip(momenta, g):
            p.copy_(-gi / norm if norm > 0 else torch.zeros_like(p))
        s[D], s[P2], s[MSCALE], s[INITIALIZED] = d, 1.0 if norm > 0 else 0.0, 1.0, 1.0
    # 1-2. F̃ and the floor
    Ft = F_ + Q - hy["F0"]
    if not Ft > hy["eps2"]:
        s[STATUS] = STATUS_FLOOR
        return
    # 3-4. rescale to ‖p‖ = 1, then the projected momentum step per tensor
    c = _rescale(hy["conserve_energy"], 1.0, s[P2], hy["eps1"]) * s[MSCALE]
    G = []
    for p, gi, th, w in zip(momenta, g, theta, wd):
        p.mul_(c)
        G.append(gi + w * th if w != 0 else gi)
    dots = _reduce([_dot(p, Gi) for p, Gi in zip(momenta, G)], allreduce)
    delta = [dots.sum().item()] * len(G) if hy["projection"] == "global" else dots.tolist()
    d = s[D]
    h = [lr_i / math.sqrt(eta_i) for lr_i, eta_i in zip(lr, eta)]
    for p, Gi, di, hi, eta_i in zip(momenta, G, delta, h, eta):
        k = hi * eta_i * d / (2 * (d - 1) * Ft)
        p.sub_(k * (Gi - di * p))
    # 5-6. P² and the parameter step
    P2_ = _reduce([_dot(p, p) for p in momenta], allreduce).sum().item()
    P = math.sqrt(P2_)
    _move(params, theta, momenta, h)
    # 7. noise
    nu = hy["nu"] / math.sqrt(d)
    if hy["nu"] > 0 and P > 0:
        _add_noise(momenta, P, nu, RNG_ECD_NOISE, hy, s[STEP], offsets, allreduce)
    s[STEP] += 1
    s[P2], s[MSCALE], s[STATUS], s[H], s[NU], s[F] = P2_, 1.0, STATUS_APPLIED, h[0] if h else 0.0, nu, Ft


def _ecdsep(params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
            group_ids: list[int], groups: list[dict[str, float]], hy: dict[str, Any], loss: Tensor,
            s: list[float], d_count: int, allreduce: AllReduce | None) -> None:
    lr = [groups[j]["lr"] for j in group_ids]
    wd = [groups[j]["weight_decay"] for j in group_ids]
    theta = [p.float() for p in params]
    g = [x.float() for x in grads]
    F_, Q, gsq, _, finite = _first_sums(theta, g, wd, loss, d_count, allreduce)
    if not finite:
        s[STATUS] = STATUS_NONFINITE
        return
    # 1. F̃ and V = F̃^η (V = 0 when F̃ <= 0: the floor)
    Ft = F_ + Q - hy["F0"]
    V = Ft ** hy["eta"] if Ft > 0 else 0.0
    if s[INITIALIZED] == 0.0:
        dE, gg = hy["delta_energy"], gsq.sum().item()
        scale = math.sqrt(dE / gg) if gg > 0 else 0.0
        for p, gi in zip(momenta, g):
            p.copy_(-gi * scale)
        s[ENERGY] = V * (hy["s"] + dE)
        s[P2], s[MSCALE], s[INITIALIZED] = dE if gg > 0 else 0.0, 1.0, 1.0
    if not V > hy["eps2"]:
        s[STATUS] = STATUS_FLOOR
        return
    # 2-3. rescale to the energy shell, momentum step
    c = _rescale(hy["conserve_energy"], s[ENERGY] / V - hy["s"], s[P2], hy["eps1"]) * s[MSCALE]
    for p, gi, th, w, dt in zip(momenta, g, theta, wd, lr):
        Gi = gi + w * th if w != 0 else gi
        p.mul_(c).sub_(dt * (hy["eta"] / Ft) * Gi)
    # 4-5. P² and the parameter step (θ moves only when s + P² > 0)
    P2_ = _reduce([_dot(p, p) for p in momenta], allreduce).sum().item()
    P = math.sqrt(P2_)
    denom = hy["s"] + P2_
    h = [2 * dt / denom if denom > 0 else 0.0 for dt in lr]
    _move(params, theta, momenta, h)
    # 6. noise
    if hy["nu"] > 0 and P > 0:
        _add_noise(momenta, P, hy["nu"], RNG_ECDSEP_NOISE, hy, s[STEP], offsets, allreduce)
    s[STEP] += 1
    s[P2], s[MSCALE], s[STATUS], s[H], s[NU], s[F] = P2_, 1.0, STATUS_APPLIED, h[0] if h else 0.0, hy["nu"], Ft


def _bbi(params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
         group_ids: list[int], groups: list[dict[str, float]], hy: dict[str, Any], loss: Tensor,
         s: list[float], d_count: int, allreduce: AllReduce | None) -> None:
    lr = [groups[j]["lr"] for j in group_ids]
    theta = [p.float() for p in params]
    g = [x.float() for x in grads]
    F_, _, gsq, _, finite = _first_sums(theta, g, [0.0] * len(g), loss, d_count, allreduce)
    if not finite:
        s[STATUS] = STATUS_NONFINITE
        return
    V = F_ - hy["v0"]
    if s[INITIALIZED] == 0.0:
        E = V + hy["delta_energy"]
        mag = math.sqrt(max(E * E / V - V, 0.0)) if V > hy["eps2"] else 0.0
        norms = gsq.sqrt().tolist()
        for p, gi, n in zip(momenta, g, norms):
            p.copy_(-(gi / n) * mag if n > 0 else torch.zeros_like(p))
        s[ENERGY], s[P2], s[MSCALE], s[INITIALIZED] = E, mag * mag * sum(n > 0 for n in norms), 1.0, 1.0
    if not V > hy["eps2"]:
        s[STATUS] = STATUS_FLOOR
        return
    E = s[ENERGY]
    c = _rescale(hy["conserve_energy"], E * E / V - V, s[P2], hy["eps1"]) * s[MSCALE]
    for p in momenta:
        p.mul_(c)
    fixed = s[SINCE_FIXED] >= hy["threshold0"] and s[N_FIXED] < hy["n_fixed_bounces"]
    if s[SINCE_MIN] >= hy["threshold"] or fixed:
        # bounce: fresh uniform(-½, ½) momenta with the old ‖p‖; θ stays
        old = _reduce([_dot(p, p) for p in momenta], allreduce).sum().item()
        u = [_noise("uniform", hy["seed"], RNG_BBI_BOUNCE, s[STEP], o, p) - 0.5 for p, o in zip(momenta, offsets)]
        r = math.sqrt(old / _reduce([_dot(x, x) for x in u], allreduce).sum().item())
        for p, x in zip(momenta, u):
            p.copy_(x * r)
        if fixed:
            s[N_FIXED] += 1
            s[SINCE_FIXED] = 0.0
        s[SINCE_MIN] = 0.0
        s[N_BOUNCES] += 1
        P2_, h = old, [0.0] * len(lr)
    else:
        for p, gi, dt in zip(momenta, g, lr):
            p.sub_(0.5 * dt * (V / E + E / V) * gi)
        h = [dt * (V / E) for dt in lr]
        _move(params, theta, momenta, h)
        P2_ = _reduce([_dot(p, p) for p in momenta], allreduce).sum().item()
        s[SINCE_FIXED] += 1
        s[SINCE_MIN] += 1
        if V < s[V_MIN]:
            s[V_MIN], s[SINCE_MIN] = V, 0.0
    s[STEP] += 1
    s[P2], s[MSCALE], s[STATUS], s[H], s[F] = P2_, 1.0, STATUS_APPLIED, h[0] if h else 0.0, V


_STEPS = {"ecd": _ecd, "ecdsep": _ecdsep, "bbi": _bbi}


def step(name: str, params: list[Tensor], grads: list[Tensor], momenta: list[Tensor], offsets: list[int],
         group_ids: list[int], groups: list[dict[str, float]], hypers: dict[str, Any], loss: Tensor,
         globals_: Tensor, d_count: int, allreduce: AllReduce | None) -> None:
    """One reference step (contract in ``_base``); the slots are read on the host and written back once."""
    slots = globals_.tolist()
    _STEPS[name](params, grads, momenta, offsets, group_ids, groups, hypers, loss, slots, d_count, allreduce)
    globals_.copy_(torch.tensor(slots, dtype=torch.float64))
