"""Single-node specialisation (after "Single-Nodal Spontaneous Symmetry Breaking in NLP Models",
arXiv:2601.20582): silence all heads of a layer but one and ask which target tokens that head alone still
predicts. Each head tends to "learn" a small set of tokens; accuracy grows as more heads are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .._validate import require_finite, require_int
from ..nn import GPT
from .heads import _check_gpt, keep_heads


@torch.no_grad()
def per_token_accuracy(model: GPT, inputs: Tensor, targets: Tensor, batch_size: int = 64) -> tuple[Tensor, Tensor]:
    """Top-1 next-token accuracy per *target* token id: (hits (V,), counts (V,)) as int64 tensors, over the
    positions where ``targets`` (N, T) >= 0. Eval mode; the previous mode is restored."""
    _check_gpt(model)
    if inputs.shape != targets.shape or inputs.dim() != 2:
        raise ValueError(f"inputs and targets must be (N, T) of the same shape, got {tuple(inputs.shape)} "
                         f"and {tuple(targets.shape)}")
    V = model.config.vocab_size
    hits = torch.zeros(V, dtype=torch.int64)
    counts = torch.zeros(V, dtype=torch.int64)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        for x, y in zip(inputs.split(batch_size), targets.split(batch_size)):
            logits, _ = model(x.to(device))
            y = y.to(device)
            mask = y >= 0
            right = (logits.argmax(-1) == y) & mask
            counts += torch.bincount(y[mask], minlength=V).cpu()
            hits += torch.bincount(y[right], minlength=V).cpu()
    finally:
        model.train(was_training)
    return hits, counts


@dataclass
class SingleNodeResult:
    """Specialisation of the heads of one layer.

    Attributes:
        layer: the layer studied.
        full_accuracy: overall accuracy with every head (float).
        silent_accuracy: with every head of the layer silenced.
        head_accuracy: (H,) overall accuracy with one head kept.
        head_token_accuracy: (H, V) per-token accuracy with one head kept (nan for tokens never a target).
        counts: (V,) how often each token is a target.
        token_sets: for each head, the token ids it predicts with accuracy >= ``threshold`` (among tokens seen
            >= ``min_count`` times) that the silenced layer does *not* predict that well: what the head adds.
        kept: numbers of heads kept, 0..H; ``kept_accuracy`` (H+1,) mean and ``kept_std`` std of the overall
            accuracy over random subsets of that size.
    """

    layer: int
    full_accuracy: float
    silent_accuracy: float
    head_accuracy: np.ndarray
    head_token_accuracy: np.ndarray
    counts: np.ndarray
    token_sets: list[list[int]]
    kept: np.ndarray
    kept_accuracy: np.ndarray
    kept_std: np.ndarray

    def overlap(self) -> float:
        """Mean Jaccard overlap between the token sets of pairs of heads (nan with < 2 non-empty sets)."""
        sets = [set(s) for s in self.token_sets if s]
        pairs = [(a, b) for i, a in enumerate(sets) for b in sets[i + 1:]]
        return float(np.mean([len(a & b) / len(a | b) for a, b in pairs])) if pairs else float("nan")


def single_node(model: GPT, inputs: Tensor, targets: Tensor, layer: int = 0, *, threshold: float = 0.5,
                min_count: int = 5, subsets: int = 6, seed: int = 0) -> SingleNodeResult:
    """Silence all heads of ``layer`` but one (:func:`symbreak.interp.heads.keep_heads`), for each head, and
    measure per-token accuracy on (``inputs``, ``targets``) (N, T); then keep k = 0..H heads, ``subsets``
    random subsets of each size (seeded), to trace accuracy against the number of heads kept."""
    _check_gpt(model)
    H = model.config.n_head
    require_int("layer", layer, 0, model.config.n_layer - 1)
    threshold = require_finite("threshold", threshold)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    require_int("min_count", min_count, 1)
    require_int("subsets", subsets, 1)

    def accuracy(heads: Sequence[int]) -> tuple[Tensor, Tensor]:
        with keep_heads(model, layer, heads):
            return per_token_accuracy(model, inputs, targets)

    hits, counts = accuracy(range(H))
    total = max(int(counts.sum()), 1)
    full = int(hits.sum()) / total
    silent_hits, _ = accuracy([])
    per_head = torch.stack([accuracy([h])[0] for h in range(H)])  # (H, V) hits
    with np.errstate(invalid="ignore", divide="ignore"):
        token_acc = per_head.numpy() / counts.numpy()[None, :]
        silent_acc = silent_hits.numpy() / counts.numpy()
    seen = counts.numpy() >= min_count
    sets = [np.flatnonzero(seen & (token_acc[h] >= threshold) & ~(silent_acc >= threshold)).tolist()
            for h in range(H)]

    rng = np.random.default_rng(seed)
    means, stds = [], []
    for k in range(H + 1):
        combos = {tuple(sorted(rng.choice(H, size=k, replace=False).tolist())) for _ in range(subsets)}
        accs = [int(accuracy(c)[0].sum()) / total for c in sorted(combos)]
        means.append(np.mean(accs))
        stds.append(np.std(accs))
    return SingleNodeResult(layer=layer, full_accuracy=full, silent_accuracy=int(silent_hits.sum()) / total,
                            head_accuracy=per_head.sum(1).numpy() / total, head_token_accuracy=token_acc,
                            counts=counts.numpy(), token_sets=sets, kept=np.arange(H + 1),
                            kept_accuracy=np.array(means), kept_std=np.array(stds))
