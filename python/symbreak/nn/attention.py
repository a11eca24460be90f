"""Causal multi-head self-attention with fixed, unlearned symmetry-breaking biases (Silverstein, Kunin & Shyam)."""

from __future__ import annotations

from typing import Any, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validate import require_choice, require_finite, require_int

Vector = Union[float, Sequence[float], Tensor]
"""A per-coordinate bias parameter: a scalar (same in every coordinate) or d_head values."""

_M64 = (1 << 64) - 1


def mix_seed(*values: int) -> int:
    """splitmix64 chained over ``values``: a well-spread 63-bit seed for ``torch.Generator.manual_seed`` (torch's
    CPU generator keeps only the low 32 bits, which are mixed too)."""
    h = 0
    for v in values:
        z = ((h ^ (int(v) & _M64)) + 0x9E3779B97F4A7C15) & _M64
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & _M64
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & _M64
        h = z ^ (z >> 31)
    return h >> 1


def _vector(name: str, value: Vector, d_head: int, *, nonnegative: bool) -> Tensor:
    """``value`` as a float32 (d_head,) tensor; ValueError naming ``name`` for a wrong length or range."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out = torch.full((d_head,), require_finite(name, value), dtype=torch.float64)
    else:
        try:
            out = torch.as_tensor(value, dtype=torch.float64).detach().cpu()
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{name} must be a real number or a sequence of d_head = {d_head} numbers, "
                             f"got {value!r}") from None
        if out.shape != (d_head,):
            raise ValueError(f"{name} must be a scalar or have length d_head = {d_head}, "
                             f"got shape {tuple(out.shape)}")
        if not torch.isfinite(out).all():
            raise ValueError(f"{name} must be finite, got {out.tolist()}")
    if nonnegative and (out < 0).any():
        raise ValueError(f"{name} must be >= 0 in every coordinate, got min {out.min().item()}")
    return out.float()


class SymmetryBreakingAttention(nn.Module):
    r"""Causal multi-head self-attention with fixed, unlearned symmetry-breaking biases b_Q and b_V.

    Plain attention is unchanged by W_Q^h → R W_Q^h, W_K^h → R W_K^h (and W_V^h → R W_V^h, W_O^h → W_O^h Rᵀ) for
    any orthogonal R of each head: flat directions that an energy-conserving optimizer, having no friction,
    never settles. Fixed biases break them. For head h at position t (d = d_head, s = ``scale``, default 1/√d)::

        q_t = W_Q^h x_t + b_Q,   k_t = W_K^h x_t,   v_t = W_V^h x_t
        y_t^h = Σ_{u <= t} softmax_u(s q_t · k_u) v_u + b_V
        out_t = W_O [y_t^1; ...; y_t^H] + b_O

    b_Q makes the scores gain s b_Q · k_u, which a rotation of W_K alone changes. b_V is applied after
    attention: softmax rows sum to 1, so this equals adding b_V to every value row (exactly; in expectation
    under attention dropout), and ``scaled_dot_product_attention`` (flash / memory-efficient kernels) still
    applies. b_Q is folded into the q slice of the fused qkv bias, so the GEMM adds it; b_V costs one
    elementwise add on the attention output. A key bias would cancel (softmax is invariant under the shift
    q_t · b_K), hence there is none.

    Neither bias is learned: their laws are persistent buffers ``q_mean``, ``q_std``, ``v_mean``, ``v_std``
    (each (d_head,)). In training each forward pass draws b = mean + std ⊙ ξ, ξ ~ N(0, I), once per layer and
    shared by all heads, from a ``torch.Generator`` seeded with (seed, draw number) (ξ of b_V is a second
    row, so the b_Q draws do not depend on ``bias_v``): reproducible for a seed, and resumable
    (``state_dict`` holds the seed and the draw count). In eval, b = mean (``eval_mode="mean"``) or the last
    training draw (``eval_mode="last"``, buffers ``q_last``, ``v_last``).

    Args:
        d_model: model width C (divisible by ``n_heads``); d_head = C / n_heads.
        n_heads: number of heads H.
        bias_q: add b_Q (default True).
        bias_v: add b_V (default False).
        q_mean: mean of b_Q, scalar or d_head values (default 0.5).
        q_std: std of b_Q, >= 0, scalar or d_head values (default linspace(0.05, 0.15, d_head)).
        v_mean: mean of b_V (default 0.5).
        v_std: std of b_V, >= 0 (default 0.05).
        eval_mode: "mean" or "last": the biases used in eval.
        seed: seed of the draws (default 0).
        dropout: attention-probability dropout in [0, 1), training only (default 0).
        proj_bias: learned biases in the qkv and output projections (default True).
        scale: softmax scale s > 0 (default 1/√d_head).

    Shapes: ``x`` (B, T, C) → (B, T, C). The projections are ``qkv`` (nn.Linear C → 3C, rows [q; k; v], head h
    at rows h d .. (h+1) d - 1 of each) and ``proj`` (nn.Linear C → C).

    Example::

        attn = SymmetryBreakingAttention(256, 8, bias_q=True, bias_v=True, seed=1)
        y = attn(torch.randn(4, 64, 256))   # (4, 64, 256); a fresh b_Q, b_V each training pass
    """

    def __init__(self, d_model: int, n_heads: int, *, bias_q: bool = True, bias_v: bool = False,
                 q_mean: Vector = 0.5, q_std: Vector | None = None, v_mean: Vector = 0.5, v_std: Vector = 0.05,
                 eval_mode: str = "mean", seed: int = 0, dropout: float = 0.0, proj_bias: bool = True,
                 scale: float | None = None) -> None:
        super().__init__()
        self._init_attention(d_model, n_heads, bias_q=bias_q, bias_v=bias_v, q_mean=q_mean, q_std=q_std,
                             v_mean=v_mean, v_std=v_std, eval_mode=eval_mode, seed=seed, dropout=dropout,
                             scale=scale)
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=proj_bias)
        self.proj = nn.Linear(d_model, d_model, bias=proj_bias)

    def _init_attention(self, d_model: int, n_heads: int, *, dropout: float, scale: float | None,
                        **biases: Any) -> None:
        """Validate the shape arguments and register the bias buffers (shared with subclasses that bring
        their own projections)."""
        self.d_model = require_int("d_model", d_model, 1)
        self.n_heads = require_int("n_heads", n_heads, 1)
        if d_model % n_heads:
            raise ValueError(f"d_model = {d_model} must be divisible by n_heads = {n_heads}")
        self.d_head = d_model // n_heads
        dropout = require_finite("dropout", dropout)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dropout = dropout
        if scale is not None and require_finite("scale", scale) <= 0.0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.scale = None if scale is None else float(scale)
        for name in ("q_mean", "q_std", "v_mean", "v_std", "q_last", "v_last"):
            self.register_buffer(name, torch.zeros(self.d_head))
        self.register_buffer("_q_slot", torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1), persistent=False)
        self.bias_q = self.bias_v = False
        self.eval_mode, self.seed, self.draws = "mean", 0, 0
        if biases.get("q_std") is None:
            biases["q_std"] = torch.linspace(0.05, 0.15, self.d_head)
        self.set_biases(**biases)

    def set_biases(self, *, bias_q: bool | None = None, bias_v: bool | None = None, q_mean: Vector | None = None,
                   q_std: Vector | None = None, v_mean: Vector | None = None, v_std: Vector | None = None,
                   eval_mode: str | None = None, seed: int | None = None) -> SymmetryBreakingAttention:
        """Switch the biases on or off and change their laws in place (None keeps a setting). Everything is
        validated before anything changes. New laws reset the last draws to the means; a new seed restarts
        the draw count. Returns self."""
        laws = self.check_biases(bias_q=bias_q, bias_v=bias_v, q_mean=q_mean, q_std=q_std, v_mean=v_mean,
                                 v_std=v_std, eval_mode=eval_mode, seed=seed)
        if seed is not None:
            self.seed, self.draws = int(seed), 0
        with torch.no_grad():
            for name, value in laws.items():
                getattr(self, name).copy_(value)
            if laws:
                self.q_last.copy_(self.q_mean)
                self.v_last.copy_(self.v_mean)
        self.bias_q = self.bias_q if bias_q is None else bias_q
        self.bias_v = self.bias_v if bias_v is None else bias_v
        self.eval_mode = eval_mode or self.eval_mode
        return self

    def check_biases(self, *, bias_q: bool | None = None, bias_v: bool | None = None, q_mean: Vector | None = None,
                     q_std: Vector | None = None, v_mean: Vector | None = None, v_std: Vector | None = None,
                     eval_mode: str | None = None, seed: int | None = None) -> dict[str, Tensor]:
        """Validate the arguments of :meth:`set_biases` without changing anything (ValueError naming the
        parameter); returns the given laws as float32 (d_head,) tensors."""
        laws = {}
        for name, value, nonneg in (("q_mean", q_mean, False), ("q_std", q_std, True),
                                    ("v_mean", v_mean, False), ("v_std", v_std, True)):
            if value is not None:
                laws[name] = _vector(name, value, self.d_head, nonnegative=nonneg)
        if eval_mode is not None:
            require_choice("eval_mode", eval_mode, ("mean", "last"))
        for name, flag in (("bias_q", bias_q), ("bias_v", bias_v)):
            if flag is not None and not isinstance(flag, bool):
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        if seed is not None:
            require_int("seed", seed, 0)
        return laws

    def projections(self) -> tuple[Tensor, Tensor | None, Tensor, Tensor | None]:
        """(W_qkv (3C, C), b_qkv (3C,) or None, W_O (C, C), b_O (C,) or None), in nn.Linear layout (out, in)."""
        return self.qkv.weight, self.qkv.bias, self.proj.weight, self.proj.bias

    def biases(self) -> tuple[Tensor | None, Tensor | None]:
        """This pass's (b_Q, b_V), each (d_head,) or None when switched off. In training this is a new draw
        (and advances the draw count); in eval it is the mean or the last draw (``eval_mode``)."""
        if not (self.bias_q or self.bias_v):
            return None, None
        if not self.training:
            q, v = (self.q_mean, self.v_mean) if self.eval_mode == "mean" else (self.q_last, self.v_last)
            return (q if self.bias_q else None), (v if self.bias_v else None)
        return self._draw_outside_graph() if torch.compiler.is_compiling() else self._draw()

    def _draw(self) -> tuple[Tensor | None, Tensor | None]:
        buf = self._buffers  # direct dict access: this runs every training pass of every layer
        gen = torch.Generator(device=buf["q_mean"].device).manual_seed(mix_seed(self.seed, self.draws))
        xi = torch.randn((2, self.d_head), generator=gen, device=buf["q_mean"].device, dtype=buf["q_mean"].dtype)
        self.draws += 1  # row 0 feeds b_Q, row 1 b_V: the b_Q sequence does not depend on bias_v
        if self.bias_q:
            buf["q_last"] = torch.addcmul(buf["q_mean"], buf["q_std"], xi[0])
        if self.bias_v:
            buf["v_last"] = torch.addcmul(buf["v_mean"], buf["v_std"], xi[1])
        return (buf["q_last"] if self.bias_q else None), (buf["v_last"] if self.bias_v else None)

    # under torch.compile the host-side seeding and counting run eagerly: a graph break, never a recompile
    _draw_outside_graph = torch.compiler.disable(_draw)

    def heads(self, x: Tensor, b_q: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Per-head queries (with ``b_q`` (d_head,) added when given), keys and values, each (B, H, T, d_head),
        of ``x`` (B, T, C)."""
        B, T, C = self._check_input(x)
        w_qkv, b_qkv, _, _ = self.projections()
        if b_q is not None:  # b_Q into the q slice of the qkv bias (one op): added by the GEMM, per head
            slot, b_q = self._q_slot, b_q
            if b_q.dtype != w_qkv.dtype:
                slot, b_q = slot.to(w_qkv.dtype), b_q.to(w_qkv.dtype)
            b_qkv = (slot * b_q).expand(3, self.n_heads, self.d_head).reshape(3 * C) if b_qkv is None else \
                torch.addcmul(b_qkv.view(3, self.n_heads, self.d_head), slot, b_q).view(3 * C)
        # split (not unbind of a 5-D view): its backward is one cat into the (B, T, 3C) gradient, no extra copy
        q, k, v = F.linear(x, w_qkv, b_qkv).split(C, dim=2)
        return tuple(t.view(B, T, self.n_heads, self.d_head).transpose(1, 2) for t in (q, k, v))

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """Attention output (B, T, C) of ``x`` (B, T, C). ``attn_mask``: optional extra mask, boolean (True =
        attend) or additive float, broadcastable to (B, H, T, T); it is combined with the causal mask."""
        b_q, b_v = self.biases()
        q, k, v = self.heads(x, b_q)
        B, _, T, _ = q.shape
        dropout = self.dropout if self.training else 0.0
        if attn_mask is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True, scale=self.scale)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=self._causal(attn_mask, T, q.dtype),
                                               dropout_p=dropout, scale=self.scale)
        y = y.transpose(1, 2)  # (B, T, H, d_head)
        if b_v is not None:
            y = y + (b_v if b_v.dtype == y.dtype else b_v.to(y.dtype))
        _, _, w_o, b_o = self.projections()
        return F.linear(y.reshape(B, T, self.d_model), w_o, b_o)

    def _check_input(self, x: Tensor) -> tuple[int, int, int]:
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != self.d_model:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be a (batch, seq, d_model = {self.d_model}) tensor, got {shape}")
        if not x.is_floating_point():
            raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")
        return x.shape

    @staticmethod
    def _causal(attn_mask: Tensor, T: int, dtype: torch.dtype) -> Tensor:
        """``attn_mask`` with the causal mask applied (bool stays bool; float becomes additive in ``dtype``)."""
        if not isinstance(attn_mask, Tensor) or attn_mask.dim() > 4 or attn_mask.shape[-1] != T:
            shape = tuple(attn_mask.shape) if isinstance(attn_mask, Tensor) else type(attn_mask).__name__
            raise ValueError(f"attn_mask must be a tensor broadcastable to (B, H, {T}, {T}), got {shape}")
        causal = torch.ones(T, T, dtype=torch.bool, device=attn_mask.device).tril()
        if attn_mask.dtype == torch.bool:
            return attn_mask & causal
        return torch.where(causal, attn_mask.to(dtype), torch.finfo(dtype).min)

    def get_extra_state(self) -> dict[str, Any]:
        return {"bias_q": self.bias_q, "bias_v": self.bias_v, "eval_mode": self.eval_mode, "seed": self.seed,
                "draws": self.draws}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.set_biases(bias_q=state["bias_q"], bias_v=state["bias_v"], eval_mode=state["eval_mode"],
                        seed=state["seed"])
        self.draws = int(state["draws"])

    def extra_repr(self) -> str:
        return (f"d_model={self.d_model}, n_heads={self.n_heads}, bias_q={self.bias_q}, bias_v={self.bias_v}, "
                f"eval_mode={self.eval_mode!r}, seed={self.seed}, dropout={self.dropout}")

