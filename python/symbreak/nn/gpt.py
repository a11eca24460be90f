"""A small GPT-2-style language model whose attention is ``SymmetryBreakingAttention``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validate import require_choice, require_finite, require_int
from .attention import SymmetryBreakingAttention, Vector, mix_seed


@dataclass
class GPTConfig:
    """Shape and symmetry breaking of a :class:`GPT`.

    Attributes:
        vocab_size: number of token ids V.
        block_size: longest sequence T_max (learned position embeddings).
        n_layer, n_head, d_model: depth, heads per layer, width C (divisible by n_head).
        mlp: "gelu" or "prelu" (the paper's PReLU, a learnable slope per hidden feature, initialised N(0.2, 1)).
        mlp_ratio: hidden width of the MLP in units of C (default 4).
        dropout: embedding, attention and residual dropout in [0, 1) (default 0).
        linear_bias: learned biases in the Linear layers (LayerNorms always have them).
        attn_only: blocks without MLP (and without ln_2): the attention-only models of induction-head studies.
        bias_q, bias_v: the fixed symmetry-breaking biases (False, False: the symmetric GPT-2).
        q_mean, q_std, v_mean, v_std, eval_mode: their laws, see :class:`SymmetryBreakingAttention`.
        seed: seeds the initialisation and (mixed with the layer index) each layer's bias draws.
    """

    vocab_size: int = 256
    block_size: int = 128
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    mlp: str = "gelu"
    mlp_ratio: int = 4
    dropout: float = 0.0
    linear_bias: bool = True
    attn_only: bool = False
    bias_q: bool = True
    bias_v: bool = False
    q_mean: Vector = 0.5
    q_std: Vector | None = None
    v_mean: Vector = 0.5
    v_std: Vector = 0.05
    eval_mode: str = "mean"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "d_model", "mlp_ratio"):
            require_int(name, getattr(self, name), 1)
        if self.d_model % self.n_head:
            raise ValueError(f"d_model = {self.d_model} must be divisible by n_head = {self.n_head}")
        require_choice("mlp", self.mlp, ("gelu", "prelu"))
        if not 0.0 <= require_finite("dropout", self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        require_int("seed", self.seed, 0)
        if not isinstance(self.attn_only, bool):
            raise ValueError(f"attn_only must be True or False, got {self.attn_only!r}")


class PReLU(nn.Module):
    """PReLU with one learnable slope per feature of the LAST dimension: x if x >= 0 else a x; a is (features,)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(features))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x.reshape(-1, x.shape[-1]), self.weight).view(x.shape)  # 2-D: channels = last dim


class MLP(nn.Module):
    """fc (C → r C), activation, proj (r C → C)."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        hidden = cfg.mlp_ratio * cfg.d_model
        self.fc = nn.Linear(cfg.d_model, hidden, bias=cfg.linear_bias)
        self.act = nn.GELU() if cfg.mlp == "gelu" else PReLU(hidden)
        self.proj = nn.Linear(hidden, cfg.d_model, bias=cfg.linear_bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.act(self.fc(x)))


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(ln_1(x)), then + mlp(ln_2(.)) (unless ``attn_only``), each with
    residual dropout."""

    def __init__(self, cfg: GPTConfig, layer: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model)
        self.attn = SymmetryBreakingAttention(
            cfg.d_model, cfg.n_head, bias_q=cfg.bias_q, bias_v=cfg.bias_v, q_mean=cfg.q_mean, q_std=cfg.q_std,
            v_mean=cfg.v_mean, v_std=cfg.v_std, eval_mode=cfg.eval_mode, seed=mix_seed(cfg.seed, layer),
            dropout=cfg.dropout, proj_bias=cfg.linear_bias)
        self.ln_2 = None if cfg.attn_only else nn.LayerNorm(cfg.d_model)
        self.mlp = None if cfg.attn_only else MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop(self.attn(self.ln_1(x)))
        return x if self.mlp is None else x + self.drop(self.mlp(self.ln_2(x)))


class GPT(nn.Module):
    """GPT-2-style decoder: token + learned position embeddings, pre-LN blocks, final LayerNorm, output
    embedding tied to the token embedding (``lm_head.weight is wte.weight``).

    Initialisation (GPT-2, from a generator seeded with ``config.seed``): Linear and Embedding weights
    N(0, 0.02), the residual projections (``attn.proj``, ``mlp.proj``) N(0, 0.02 / √(2 n_layer)), biases 0,
    LayerNorm 1 and 0, PReLU slopes N(0.2, 1).

    Example::

        model = GPT(GPTConfig(vocab_size=64, block_size=32, n_layer=2, n_head=2, d_model=32, bias_v=True))
        logits, loss = model(idx, targets)   # idx, targets (B, T) int64; logits (B, T, V); loss a scalar
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise ValueError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = dataclasses.replace(config)
        c = self.config
        self.wte = nn.Embedding(c.vocab_size, c.d_model)
        self.wpe = nn.Embedding(c.block_size, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c, i) for i in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.d_model)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self) -> None:
        gen = torch.Generator().manual_seed(self.config.seed)
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)) and module is not self.lm_head:
                std = residual_std if name.endswith((".attn.proj", ".mlp.proj")) else 0.02
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * std)
                if getattr(module, "bias", None) is not None:
                    module.bias.zero_()
            elif isinstance(module, PReLU):
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) + 0.2)

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Logits (B, T, V) of token ids ``idx`` (B, T), T <= block_size, and the mean cross-entropy against
        ``targets`` (B, T) (entries -1 are ignored), or None without targets. Checks the id range (one host
        synchronisation on GPU)."""
        self._check_ids("idx", idx, allow_ignore=False)
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size = {self.config.block_size}")
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(T, device=idx.device)))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        self._check_ids("targets", targets, allow_ignore=True)
        if targets.shape != idx.shape:
            raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, got {tuple(targets.shape)}")
        loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T), ignore_index=-1)
        return logits, loss

    def _check_ids(self, name: str, ids: Tensor, *, allow_ignore: bool) -> None:
        if not isinstance(ids, Tensor) or ids.dim() != 2 or ids.dtype != torch.int64:
            what = (f"{ids.dtype} tensor of shape {tuple(ids.shape)}" if isinstance(ids, Tensor)
                    else type(ids).__name__)
            raise ValueError(f"{name} must be a (batch, seq) int64 tensor of token ids, got {what}")
        if ids.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(ids.shape)})")
        low = -1 if allow_ignore else 0
        if bool(((ids < low) | (ids >= self.config.vocab_size)).any()):
            raise ValueError(f"{name} must lie in [{low}, vocab_size = {self.config.vocab_size}), got values in "
                             f"[{ids.min().item()}, {ids.max().item()}]")
