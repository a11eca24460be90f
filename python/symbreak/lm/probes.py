"""Synthetic reasoning probes, in the spirit of the logic-puzzle evaluation of Silverstein, Kunin & Shyam:
generated token sequences whose next token follows from the context alone, scored by top-1 accuracy.

Each probe is a batch of inputs (N, T) and targets (N, T), -1 everywhere except at the scored positions:

- ``pattern``: a period-p pattern (p in 2..4) of distinct tokens repeated; scored after two full periods.
- ``copy``: n random tokens, then the same n tokens again; scored on the second copy after its first token.
- ``retrieve_near`` / ``retrieve_far``: n key-value pairs (k_1 v_1 ... k_n v_n), then a key k_j; the answer is
  v_j. Near: j among the last two pairs; far: j among the first two.

Tokens come from a ``pool`` (e.g. the most frequent tokens of the training split, to stay in distribution).
Chance accuracy is about 1 / len(pool).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._validate import require_int

PROBES = ("pattern", "copy", "retrieve_near", "retrieve_far")


@dataclass
class Probe:
    """Inputs (N, T) int64 and targets (N, T) int64 (-1 = not scored)."""

    inputs: Tensor
    targets: Tensor


def make_probes(pool: Tensor, n: int = 64, length: int = 32, seed: int = 0) -> dict[str, Probe]:
    """All probes, ``n`` sequences each, of ``length`` tokens (>= 16), drawn from the token ids in ``pool``
    (a 1-D tensor of >= 16 distinct ids) with a generator seeded by ``seed``."""
    require_int("n", n, 1)
    require_int("length", length, 16)
    pool = torch.as_tensor(pool, dtype=torch.int64).unique()
    if pool.dim() != 1 or pool.numel() < 16:
        raise ValueError(f"pool must hold at least 16 distinct token ids, got {pool.numel()}")
    gen = torch.Generator().manual_seed(seed)

    def draw(k: int) -> Tensor:  # k distinct tokens of the pool
        return pool[torch.randperm(pool.numel(), generator=gen)[:k]]

    probes = {}
    x = torch.empty(n, length, dtype=torch.int64)
    y = torch.full_like(x, -1)
    for i in range(n):
        p = int(torch.randint(2, 5, (1,), generator=gen))
        x[i] = draw(p).repeat(length // p + 1)[:length]
        y[i, 2 * p - 1:-1] = x[i, 2 * p:]
    probes["pattern"] = Probe(x, y)

    half = length // 2
    x = torch.cat([draw(half)[None].repeat(1, 2) for _ in range(n)])
    y = torch.full_like(x, -1)
    y[:, half:-1] = x[:, half + 1:]
    probes["copy"] = Probe(x, y)

    pairs = (length - 1) // 2
    for name, choices in (("retrieve_near", (pairs - 2, pairs - 1)), ("retrieve_far", (0, 1))):
        x = torch.empty(n, 2 * pairs + 1, dtype=torch.int64)
        y = torch.full_like(x, -1)
        for i in range(n):
            kv = draw(2 * pairs)  # distinct keys and values
            x[i, :-1] = kv
            j = choices[int(torch.randint(0, 2, (1,), generator=gen))]
            x[i, -1] = kv[2 * j]
            y[i, -1] = kv[2 * j + 1]
        probes[name] = Probe(x, y)
    return probes


@torch.no_grad()
def probe_accuracy(model: nn.Module, probes: dict[str, Probe], batch_size: int = 64) -> dict[str, float]:
    """Top-1 accuracy of ``model`` (returning (logits, loss) like :class:`symbreak.nn.GPT`) at the scored
    positions of each probe. Runs in eval mode and restores the previous mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = {}
    try:
        for name, probe in probes.items():
            hits = total = 0
            for x, y in zip(probe.inputs.split(batch_size), probe.targets.split(batch_size)):
                logits, _ = model(x.to(device))
                mask = y.to(device) >= 0
                hits += int((logits.argmax(-1)[mask] == y.to(device)[mask]).sum())
                total += int(mask.sum())
            out[name] = hits / total
    finally:
        model.train(was_training)
    return out


def frequent_tokens(stream: Tensor, k: int = 256, skip: int = 0) -> Tensor:
    """The ``k`` most frequent token ids of ``stream`` after the ``skip`` most frequent ones."""
    counts = torch.bincount(stream)
    order = counts.argsort(descending=True)
    order = order[counts[order] > 0]
    return order[skip:skip + k]
