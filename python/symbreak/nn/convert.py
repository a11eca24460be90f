"""``symmetry_break``: switch the fixed attention biases on in an existing model, in place, keeping its weights."""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor, nn

from .attention import SymmetryBreakingAttention, mix_seed
from .gpt import GPT

_HF_CLASSES = ("GPT2Attention", "GPT2SdpaAttention", "GPT2FlashAttention2")
_HF_ATTRS = ("c_attn", "c_proj", "embed_dim", "num_heads", "head_dim", "split_size", "attn_dropout",
             "resid_dropout")
_CACHE_ARGS = ("layer_past", "past_key_value", "past_key_values")
_BIAS_KWARGS = ("q_mean", "q_std", "v_mean", "v_std", "eval_mode", "seed")


class GPT2SymmetryBreakingAttention(SymmetryBreakingAttention):
    """Drop-in replacement for a Hugging Face ``GPT2Attention`` (self-attention) with fixed symmetry-breaking
    biases. It keeps the original ``c_attn`` / ``c_proj`` modules (``Conv1D``, weight (in, out): the same
    Parameter objects, so state-dict names and optimizers still match), the softmax scale and both dropouts.

    Forward follows the GPT2Attention contract without a KV cache: returns (output (B, T, C), None).
    ``symmetry_break`` sets ``config.use_cache = False``; a cache, ``head_mask``, ``output_attentions`` or
    encoder states raise ValueError.
    """

    def __init__(self, hf: nn.Module, **biases: Any) -> None:
        nn.Module.__init__(self)
        missing = [a for a in _HF_ATTRS if not hasattr(hf, a)]
        if missing:
            raise ValueError(f"{type(hf).__name__} lacks the GPT2Attention attributes {missing}")
        C, H = int(hf.embed_dim), int(hf.num_heads)
        if getattr(hf, "is_cross_attention", False):
            raise ValueError("cross-attention GPT2Attention layers (add_cross_attention=True) are not supported")
        if int(hf.head_dim) * H != C or int(hf.split_size) != C:
            raise ValueError(f"d_head mismatch: head_dim = {hf.head_dim} x num_heads = {H} must equal embed_dim = "
                             f"{C} = split_size = {hf.split_size} (pruned heads are not supported)")
        for name, shape in (("c_attn", (C, 3 * C)), ("c_proj", (C, C))):
            w = getattr(hf, name).weight
            if tuple(w.shape) != shape:
                raise ValueError(f"{name}.weight must be a Conv1D weight of shape (in, out) = {shape}, "
                                 f"got {tuple(w.shape)}")
        scale = 1.0 / math.sqrt(C // H) if getattr(hf, "scale_attn_weights", True) else 1.0
        if getattr(hf, "scale_attn_by_inverse_layer_idx", False):
            scale /= float(hf.layer_idx + 1)
        self._init_attention(C, H, dropout=float(hf.attn_dropout.p), scale=scale, **biases)
        self.c_attn, self.c_proj, self.resid_dropout = hf.c_attn, hf.c_proj, hf.resid_dropout
        self.layer_idx = getattr(hf, "layer_idx", None)
        self.to(hf.c_attn.weight.device)

    def projections(self) -> tuple[Tensor, Tensor | None, Tensor, Tensor | None]:
        return self.c_attn.weight.t(), self.c_attn.bias, self.c_proj.weight.t(), self.c_proj.bias

    def forward(self, hidden_states: Tensor, *args: Any, attention_mask: Tensor | None = None,
                head_mask: Tensor | None = None, encoder_hidden_states: Tensor | None = None,
                use_cache: bool | None = False, output_attentions: bool | None = False,
                **kwargs: Any) -> tuple[Tensor, None]:
        """(attention output (B, T, C), None) for ``hidden_states`` (B, T, C); ``attention_mask`` as Hugging
        Face builds it (padding (B, 1, 1, T) or 4-D, additive float or boolean), combined with the causal mask."""
        if any(a is not None for a in args) or any(kwargs.get(k) is not None for k in _CACHE_ARGS) or use_cache:
            raise ValueError("symmetry-broken GPT2 attention has no KV cache: call the model with use_cache=False "
                             "(symmetry_break sets config.use_cache = False)")
        for name, value in (("head_mask", head_mask), ("encoder_hidden_states", encoder_hidden_states)):
            if value is not None:
                raise ValueError(f"symmetry-broken GPT2 attention does not support {name}")
        if output_attentions:
            raise ValueError("symmetry-broken GPT2 attention runs scaled_dot_product_attention and cannot return "
                             "attention weights (output_attentions=True)")
        return self.resid_dropout(super().forward(hidden_states, attention_mask)), None


def _is_hf_gpt2_attention(module: nn.Module) -> bool:
    return type(module).__name__ in _HF_CLASSES


def symmetry_break(model: nn.Module, *, bias_q: bool = True, bias_v: bool = False,
                   **bias_kwargs: Any) -> nn.Module:
    """Switch fixed symmetry-breaking attention biases on (or off) in ``model``, in place; returns ``model``.

    Supported models:

    * :class:`symbreak.nn.GPT`, or any module containing :class:`SymmetryBreakingAttention` layers: the flags
      and laws are set on every layer (and on ``GPT.config``); weights are untouched.
    * Hugging Face GPT-2 (``GPT2Model``, ``GPT2LMHeadModel``, ...; recognised by the class name of its
      ``GPT2Attention`` modules and the attributes used): each self-attention layer is replaced by a
      :class:`GPT2SymmetryBreakingAttention` that keeps the layer's ``c_attn`` / ``c_proj`` parameters.
      KV caching is switched off (``config.use_cache = False``).

    Args:
        model: the model to convert.
        bias_q, bias_v: switch b_Q / b_V on or off.
        **bias_kwargs: any of q_mean, q_std, v_mean, v_std (scalar or d_head values), eval_mode, seed.
            Layer i draws with seed mix_seed(seed, i); without ``seed``, converted GPT2 layers use seed 0 and
            our layers keep theirs. Laws not given keep their current value (defaults for new GPT2 layers).

    Raises:
        ValueError: a model with no supported attention (naming its type), or a law of the wrong length
            (d_head mismatch), or an unsupported GPT2 configuration (cross-attention, pruned heads).
        TypeError: an unknown keyword.
    """
    unknown = sorted(set(bias_kwargs) - set(_BIAS_KWARGS))
    if unknown:
        raise TypeError(f"symmetry_break got unknown keyword(s) {unknown}; allowed: {list(_BIAS_KWARGS)}")
    if not isinstance(model, nn.Module):
        raise ValueError(f"symmetry_break needs a torch.nn.Module, got {type(model).__name__}")
    ours = [m for m in model.modules() if isinstance(m, SymmetryBreakingAttention)]
    hf = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
          if _is_hf_gpt2_attention(child)]
    if not ours and not hf:
        raise ValueError(f"symmetry_break does not support {type(model).__name__}: expected symbreak.nn.GPT, a "
                         "module containing SymmetryBreakingAttention, or a Hugging Face GPT2 model")
    seed = bias_kwargs.pop("seed", None)
    # build every replacement first (each validates), so a bad argument leaves the model unchanged
    new = [GPT2SymmetryBreakingAttention(child, bias_q=bias_q, bias_v=bias_v, seed=mix_seed(seed or 0, i),
                                         **bias_kwargs) for i, (_, _, child) in enumerate(hf)]
    for m in ours:
        m.check_biases(bias_q=bias_q, bias_v=bias_v, seed=seed, **bias_kwargs)
    for i, m in enumerate(ours):
        m.set_biases(bias_q=bias_q, bias_v=bias_v, seed=None if seed is None else mix_seed(seed, i), **bias_kwargs)
    for (parent, name, _), module in zip(hf, new):
        setattr(parent, name, module)
    if isinstance(model, GPT):
        for key, value in dict(bias_kwargs, bias_q=bias_q, bias_v=bias_v).items():
            setattr(model.config, key, value)
    if hf:
        for cfg in (getattr(model, "config", None), getattr(model, "generation_config", None)):
            if cfg is not None and hasattr(cfg, "use_cache"):
                cfg.use_cache = False
    return model
