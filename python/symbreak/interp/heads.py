"""Per-head access to a :class:`symbreak.nn.GPT`: attention patterns, and silencing heads."""

from __future__ import annotations

import contextlib
import math
from typing import Iterator, Sequence

import torch
from torch import Tensor, nn

from .._validate import require_int
from ..nn import GPT
from ..nn.attention import SymmetryBreakingAttention


def _check_gpt(model: nn.Module) -> GPT:
    if not isinstance(model, GPT):
        raise ValueError(f"model must be a symbreak.nn.GPT, got {type(model).__name__}")
    return model


@torch.no_grad()
def attention_patterns(model: GPT, idx: Tensor) -> list[Tensor]:
    """The attention probabilities of every layer for token ids ``idx`` (B, T), in eval mode (biases at their
    eval values): a list over layers of (B, H, T, T) tensors, row t = query position, column u = key.

    Each layer's input is captured on a real forward pass, and its pattern is recomputed from the layer's
    own projections: softmax(s (W_Q x_t + b_Q) · W_K x_u) with the causal mask.
    """
    _check_gpt(model)
    inputs: list[Tensor] = []
    hooks = [block.attn.register_forward_pre_hook(lambda _m, args: inputs.append(args[0]))
             for block in model.blocks]
    was_training = model.training
    model.eval()
    try:
        model(idx)
        out = []
        for block, x in zip(model.blocks, inputs):
            attn: SymmetryBreakingAttention = block.attn
            b_q, _ = attn.biases()
            q, k, _ = attn.heads(x, b_q)
            scale = attn.scale if attn.scale is not None else 1.0 / math.sqrt(attn.d_head)
            scores = scale * q @ k.transpose(-1, -2)
            T = scores.shape[-1]
            causal = torch.ones(T, T, dtype=torch.bool, device=scores.device).tril()
            out.append(scores.masked_fill(~causal, float("-inf")).softmax(-1))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return out


@contextlib.contextmanager
def keep_heads(model: GPT, layer: int, heads: Sequence[int]) -> Iterator[GPT]:
    """Within the block, every head of ``layer`` not in ``heads`` is silenced: its output y^h (including b_V)
    is zeroed, by zeroing its d_head columns of the output projection W_O. Weights are restored on exit.

    Example::

        with keep_heads(model, layer=0, heads=[2]):
            logits, _ = model(idx)      # layer 0 speaks through head 2 alone
    """
    _check_gpt(model)
    require_int("layer", layer, 0, model.config.n_layer - 1)
    H = model.config.n_head
    keep = sorted(set(int(require_int("heads", h, 0, H - 1)) for h in heads))
    attn = model.blocks[layer].attn
    _, _, w_o, _ = attn.projections()
    saved = w_o.detach().clone()
    mask = torch.zeros(H, dtype=w_o.dtype, device=w_o.device)
    mask[keep] = 1.0
    with torch.no_grad():
        w_o.mul_(mask.repeat_interleave(attn.d_head)[None, :])
    try:
        yield model
    finally:
        with torch.no_grad():
            w_o.copy_(saved)
