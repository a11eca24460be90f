"""Induction heads as a phase transition (Olsson et al. 2022; the symmetry-breaking view of the seed's blog).

A 2-layer attention-only GPT is trained on random tokens in which a random segment of L tokens repeats after a
random period P: x_{t} = x_{t-P} for S + P <= t < S + P + L (L = P by default: the whole block appears twice;
everything else is uniform noise). Inside the copy, the next token is predictable by *induction*: find the
previous occurrence of the current token (at t - P) and copy its successor (at t - P + 1). Noise around the
copies removes the shortcut an endlessly periodic sequence offers (predicting the least recently seen token,
which the models we trained on such sequences appear to do instead). The textbook circuit needs a
previous-token head in layer 0 and an induction head in layer 1; the loss sits on a plateau and then drops
when they form. Which layer-0 head becomes the previous-token head is not fixed by the task: the heads are
interchangeable, and one of them is picked spontaneously.

Scores, per head, from attention patterns (B, H, T, T):

- lag-k score: mean attention from t to t - k (k = 1: the previous-token score);
- shifted induction score: mean attention from t to t - P + k over the rows S + P <= t <= S + P + L - 2
  (current token and next token both inside the copy); k = 1 is the textbook induction score.

The shift matters: the models we trained use k > 1. Two layer-0 heads copy the tokens k and k - 1 positions
back (a lag-8 and a lag-7 head, say); a layer-1 head at t then finds the position u = t - P + k whose lag-k
token equals x_t and reads its lag-(k - 1) token, x_{t+1}. Which heads take the lags, and which k, is
chosen spontaneously (k <= the shortest period). A perfect head scores 1; a head attending uniformly to the
positions before it scores about 1 / t ~ 0.05.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .._validate import require_choice, require_finite, require_int
from ..nn import GPT, GPTConfig
from .heads import attention_patterns


def repeated_sequences(n: int, length: int, vocab_size: int, period: tuple[int, int] = (4, 10),
                       generator: torch.Generator | None = None, *,
                       full_copy: bool = False) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``n`` sequences of ``length`` uniform random token ids in [0, vocab_size) in which a segment of L
    tokens starting at S repeats after P positions: x_t = x_{t-P} for S + P <= t < S + P + L. Per sequence, P is
    uniform in [period[0], period[1]], L uniform in [2, P] (L = P with ``full_copy``: the whole block repeats)
    and S uniform in [0, length - P - L].
    Returns (ids (n, length) int64, P (n,), S (n,), L (n,))."""
    require_int("n", n, 1)
    require_int("vocab_size", vocab_size, 2)
    lo, hi = (require_int("period", p, 2) for p in period)
    if not lo <= hi or 2 * hi > length:
        raise ValueError(f"period must satisfy 2 <= lo <= hi and 2 hi <= length = {length}, got {period}")
    periods = torch.randint(lo, hi + 1, (n,), generator=generator)
    lengths = periods.clone() if full_copy else 2 + (torch.rand(n, generator=generator) * (periods - 1)).long()
    starts = (torch.rand(n, generator=generator) * (length - periods - lengths + 1)).long()
    ids = torch.randint(0, vocab_size, (n, length), generator=generator)
    t = torch.arange(length)[None, :]
    copy = (t >= (starts + periods)[:, None]) & (t < (starts + periods + lengths)[:, None])
    return ids.gather(1, torch.where(copy, t - periods[:, None], t)), periods, starts, lengths


def lag_scores(patterns: Tensor, max_lag: int) -> Tensor:
    """(H, max_lag) mean attention from t to t - k (column k - 1, over k <= t < T), from patterns (B, H, T, T).
    A head that copies the token k positions back scores 1 in column k - 1; k = 1 is a previous-token head."""
    B, H, T, _ = _check_patterns(patterns)
    require_int("max_lag", max_lag, 1, T - 1)
    return torch.stack([patterns.diagonal(offset=-k, dim1=-2, dim2=-1).mean(dim=(0, 2)) for k in range(1, max_lag + 1)],
                       dim=1)


def previous_token_score(patterns: Tensor) -> Tensor:
    """(H,) mean attention to the previous position, from patterns (B, H, T, T)."""
    return lag_scores(patterns, 1)[:, 0]


def induction_scores(patterns: Tensor, periods: Tensor, starts: Tensor, lengths: Tensor, max_shift: int) -> Tensor:
    """(H, max_shift) mean attention from t to t - P + k (column k - 1) over the rows S + P <= t <= S + P + L - 2
    with k <= P, from patterns (B, H, T, T) of :func:`repeated_sequences` (P, S, L (B,)).

    k = 1 is the textbook induction head (it reads the successor of the earlier occurrence of token t, once a
    previous-token head has written x_{u-1} into position u). The same circuit works with any shift k: layer-0
    heads that copy the tokens k and k - 1 positions back let a layer-1 head match x_t against x_{u-k} at
    u = t - P + k and read x_{u-k+1} = x_{t+1}. Which k a model uses is not fixed by the task."""
    B, H, T, _ = _check_patterns(patterns)
    P, S, L = (torch.as_tensor(v, device=patterns.device).long() for v in (periods, starts, lengths))
    if any(v.shape != (B,) for v in (P, S, L)) or bool((P < 2).any() | (S < 0).any() | (L < 2).any()) \
            or bool((S + P + L > T + 1).any()):
        raise ValueError(f"periods, starts and lengths must be (B = {B},) integers with P >= 2, S >= 0, L >= 2 "
                         f"and S + P + L <= T + 1 = {T + 1}, got shapes {tuple(P.shape)}, {tuple(S.shape)}, "
                         f"{tuple(L.shape)}")
    require_int("max_shift", max_shift, 1, T - 1)
    t = torch.arange(T, device=patterns.device)[None, :]
    copy_rows = (t >= (S + P)[:, None]) & (t <= (S + P + L - 2)[:, None])  # (B, T)
    out = []
    for k in range(1, max_shift + 1):
        rows = (copy_rows & (P >= k)[:, None]).to(patterns.dtype)
        src = (t - P[:, None] + k).clamp(0, T - 1)
        picked = patterns.gather(3, src[:, None, :, None].expand(B, H, T, 1)).squeeze(-1)  # (B, H, T)
        n = rows.sum()
        out.append((picked * rows[:, None, :]).sum(dim=(0, 2)) / n if n > 0 else torch.zeros(H))
    return torch.stack(out, dim=1)


def induction_score(patterns: Tensor, periods: Tensor, starts: Tensor, lengths: Tensor) -> Tensor:
    """(H,) mean attention from t to t - P + 1 (the successor of the earlier occurrence of token t) over the
    rows S + P <= t <= S + P + L - 2: the textbook induction score, column 0 of :func:`induction_scores`."""
    return induction_scores(patterns, periods, starts, lengths, 1)[:, 0]


def _check_patterns(patterns: Tensor) -> tuple[int, int, int, int]:
    if not isinstance(patterns, Tensor) or patterns.dim() != 4 or patterns.shape[-1] != patterns.shape[-2]:
        shape = tuple(patterns.shape) if isinstance(patterns, Tensor) else type(patterns).__name__
        raise ValueError(f"patterns must be a (B, H, T, T) tensor, got {shape}")
    return tuple(patterns.shape)


def transition_step(steps: Sequence[float], values: Sequence[float], *, rising: bool = True,
                    min_jump: float = 0.2, window: int = 3) -> float | None:
    """The step at which ``values`` crosses halfway between its initial and final levels (after a moving
    median over ``window`` points), interpolated linearly; None when the jump between the levels (mean of the
    first and of the last 10% of points) is smaller than ``min_jump`` or goes the wrong way.

    ``rising`` True for an order parameter that grows (induction score), False for a loss that falls.
    """
    x = np.asarray(steps, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 4:
        raise ValueError(f"steps and values must be 1-D of the same length >= 4, got {x.shape} and {y.shape}")
    require_int("window", window, 1)
    if window > 1:
        pad = window // 2
        padded = np.pad(y, pad, mode="edge")
        y = np.array([np.median(padded[i:i + window]) for i in range(len(y))])
    if not rising:
        y = -y
    k = max(1, len(y) // 10)
    start, end = y[:k].mean(), y[-k:].mean()
    if end - start < require_finite("min_jump", min_jump):
        return None
    half = 0.5 * (start + end)
    i = int(np.argmax(y >= half))  # first crossing
    if i == 0:
        return float(x[0])
    f = (half - y[i - 1]) / (y[i] - y[i - 1])
    return float(x[i - 1] + f * (x[i] - x[i - 1]))


LOSS_JUMP = 2.5
"""Smallest loss drop (nats) counted as the transition: from ln V (4.16 for V = 64) to below ~1.7, which
predicting "some token of the context" (the plateau, 2.5–3 nats) cannot reach."""


@dataclass
class InductionConfig:
    """One induction-head run: a 2-layer attention-only GPT (``n_head`` heads of width d_model / n_head) on
    :func:`repeated_sequences`, trained with ``optimizer`` ("adamw" or "ecd"; ``lr`` None: 3e-3 and 1.0) with or
    without b_Q. ``seed`` fixes the initialisation, the training batches and the bias draws; the evaluation
    batch (``eval_size`` sequences) depends on the seed too, but not on the optimizer or bias."""

    optimizer: str = "adamw"
    bias_q: bool = False
    seed: int = 0
    steps: int = 3000
    batch_size: int = 32
    length: int = 32
    vocab_size: int = 64
    period: tuple[int, int] = (8, 16)
    full_copy: bool = True
    n_head: int = 4
    d_model: int = 64
    lr: float | None = None
    eta: float = 100.0
    F0: float = 0.0
    measure_every: int = 25
    eval_size: int = 128

    def __post_init__(self) -> None:
        require_choice("optimizer", self.optimizer, ("adamw", "ecd"))
        require_int("seed", self.seed, 0)
        for name in ("steps", "batch_size", "length", "vocab_size", "n_head", "d_model", "measure_every",
                     "eval_size"):
            require_int(name, getattr(self, name), 1)
        self.period = tuple(self.period)
        if len(self.period) != 2:
            raise ValueError(f"period must be a pair (lo, hi), got {self.period}")
        lo, hi = (require_int("period", p, 2) for p in self.period)
        if not lo <= hi or 2 * hi > self.length + 1:  # training windows hold length + 1 tokens
            raise ValueError(f"period must satisfy 2 <= lo <= hi and 2 hi <= length + 1 = {self.length + 1}, "
                             f"got {self.period}")

    def model_config(self) -> GPTConfig:
        return GPTConfig(vocab_size=self.vocab_size, block_size=self.length, n_layer=2, n_head=self.n_head,
                         d_model=self.d_model, attn_only=True, bias_q=self.bias_q, bias_v=False, seed=self.seed)


@dataclass
class InductionRun:
    """Curves of one run, measured every ``measure_every`` steps on a fixed evaluation batch: ``loss`` (mean
    cross-entropy on the tokens induction can predict); per head (n_measure, H): ``induction`` (textbook,
    k = 1) and ``shifted`` (best k <= shortest period, in ``shift``) induction scores of layer 1, and
    ``previous`` (lag 1) and best lag score ``lag_score`` (k <= longest period, in ``lag``) of layer 0.
    ``transition``: :func:`transition_step` of the best layer-1 head's shifted induction score,
    ``loss_transition``: of the falling loss (a drop of >= :data:`LOSS_JUMP`), None where none was detected;
    ``prev_head``: the layer-0 head with the highest final previous-token score."""

    config: dict[str, Any]
    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    induction: list[list[float]] = field(default_factory=list)
    previous: list[list[float]] = field(default_factory=list)
    shifted: list[list[float]] = field(default_factory=list)
    shift: list[list[int]] = field(default_factory=list)
    lag_score: list[list[float]] = field(default_factory=list)
    lag: list[list[int]] = field(default_factory=list)
    transition: float | None = None
    loss_transition: float | None = None
    prev_head: int = -1
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _predictable_targets(ids: Tensor, periods: Tensor, starts: Tensor, lengths: Tensor) -> Tensor:
    """Next-token targets x_j, -1 except where induction predicts them: S + P + 1 <= j <= S + P + L - 1 (the
    current token x_{j-1} and x_j both inside the copy)."""
    y = torch.full_like(ids[:, 1:], -1)
    j = torch.arange(1, ids.shape[1])[None, :]
    keep = (j >= (starts + periods + 1)[:, None]) & (j <= (starts + periods + lengths - 1)[:, None])
    y[keep] = ids[:, 1:][keep]
    return y


def train_induction(cfg: InductionConfig,
                    on_measure: Callable[[int], None] | None = None) -> tuple[InductionRun, GPT]:
    """Train one 2-layer attention-only model on repeated random tokens and track loss and head scores;
    returns the run's curves and the trained model. ``on_measure(step)`` is called after each measurement."""
    from symbreak.optim import ECD  # torch optimizers; imported here to keep module import light

    model = GPT(cfg.model_config())
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr or 3e-3, weight_decay=0.0)
    else:
        opt = ECD(model.parameters(), lr=cfg.lr or 1.0, eta=cfg.eta, F0=cfg.F0, seed=cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    eval_gen = torch.Generator().manual_seed(10_000 + cfg.seed)
    ev_ids, *ev_layout = repeated_sequences(cfg.eval_size, cfg.length + 1, cfg.vocab_size, cfg.period, eval_gen,
                                            full_copy=cfg.full_copy)
    ev_y = _predictable_targets(ev_ids, *ev_layout)
    run = InductionRun(config=dataclasses.asdict(cfg))
    start = time.perf_counter()

    def measure(step: int) -> None:
        was = model.training
        model.eval()
        with torch.no_grad():
            _, loss = model(ev_ids[:, :-1], ev_y)
        model.train(was)
        pats = attention_patterns(model, ev_ids[:, :-1])
        run.steps.append(step)
        run.loss.append(float(loss))
        lags = lag_scores(pats[0], cfg.period[1])
        shifts = induction_scores(pats[1], *ev_layout, cfg.period[0])
        run.previous.append(lags[:, 0].tolist())
        run.induction.append(shifts[:, 0].tolist())
        best_lag, best_shift = lags.max(dim=1), shifts.max(dim=1)
        run.lag_score.append(best_lag.values.tolist())
        run.lag.append((best_lag.indices + 1).tolist())
        run.shifted.append(best_shift.values.tolist())
        run.shift.append((best_shift.indices + 1).tolist())
        if on_measure is not None:
            on_measure(step)

    measure(0)
    for step in range(1, cfg.steps + 1):
        ids, *layout = repeated_sequences(cfg.batch_size, cfg.length + 1, cfg.vocab_size, cfg.period, gen,
                                          full_copy=cfg.full_copy)
        opt.zero_grad(set_to_none=True)
        _, loss = model(ids[:, :-1], _predictable_targets(ids, *layout))
        loss.backward()
        if cfg.optimizer == "ecd":
            opt.step(loss=loss.detach())
        else:
            opt.step()
        if not math.isfinite(float(loss.detach())):
            break
        if step % cfg.measure_every == 0 or step == cfg.steps:
            measure(step)
    run.seconds = time.perf_counter() - start
    best = np.asarray(run.shifted).max(axis=1)
    if len(run.steps) >= 4:
        run.transition = transition_step(run.steps, best)
        run.loss_transition = transition_step(run.steps, run.loss, rising=False, min_jump=LOSS_JUMP)
    run.prev_head = int(np.argmax(run.previous[-1]))
    return run, model


def summarise_induction(runs: Sequence[InductionRun]) -> list[dict[str, Any]]:
    """One row per (optimizer, bias_q): seeds, loss transitions detected and time-to-transition mean ± std
    (steps, over the seeds that made it), shifted-induction-score transitions detected, final loss, best final
    textbook and shifted induction scores, and per seed the previous-token head and the :func:`circuit`."""
    groups: dict[tuple[str, bool], list[InductionRun]] = {}
    for r in runs:
        groups.setdefault((r.config["optimizer"], r.config["bias_q"]), []).append(r)
    rows = []
    for (opt, bq), rs in groups.items():
        t = np.array([r.loss_transition for r in rs if r.loss_transition is not None], dtype=float)
        rows.append({
            "optimizer": opt, "bias_q": bq, "seeds": [r.config["seed"] for r in rs],
            "transitions": f"{len(t)}/{len(rs)}",
            "score_transitions": f"{sum(r.transition is not None for r in rs)}/{len(rs)}",
            "transition_mean": float(t.mean()) if len(t) else None,
            "transition_std": float(t.std(ddof=1)) if len(t) > 1 else None,
            "final_loss_mean": float(np.mean([r.loss[-1] for r in rs])),
            "final_loss_std": float(np.std([r.loss[-1] for r in rs], ddof=1)) if len(rs) > 1 else None,
            "final_induction_mean": float(np.mean([max(r.induction[-1]) for r in rs])),
            "final_shifted_mean": float(np.mean([max(r.shifted[-1]) for r in rs])),
            "prev_heads": [r.prev_head for r in rs],
            "circuits": [circuit(r) for r in rs],
        })
    return rows


def circuit(run: InductionRun, threshold: float = 0.3) -> dict[str, Any]:
    """The circuit a run ended with: ``shift``, the k of the layer-1 head with the highest shifted induction
    ``score`` (None when below ``threshold``; uniform attention scores ~0.05), and ``lag_heads`` {layer-0 head:
    lag}, the heads whose best lag is k or k - 1 with a lag score above ``threshold``."""
    best = int(np.argmax(run.shifted[-1]))
    score = float(run.shifted[-1][best])
    if score <= threshold:
        return {"lag_heads": {}, "shift": None, "score": score}
    k = int(run.shift[-1][best])
    lag_heads = {h: lag for h, (lag, v) in enumerate(zip(run.lag[-1], run.lag_score[-1]))
                 if lag in (k, k - 1) and v > threshold}
    return {"lag_heads": lag_heads, "shift": k, "score": score}
