"""Bias alignment: which tokens does the fixed query bias b_Q pick out?

With b_Q, every query of a head gains the same term s b_Q · k_u: a token-dependent prior on where to attend,
independent of the query. A token whose key points along the mean b_Q is attended to by default. For layer l
and head h the key of vocabulary token v is taken on the direct path from the embedding,

    k_v = W_K^h LN_1^l(e_v),    (e_v = row v of the token embedding; the key bias b_K, a constant shift, omitted)

and the alignment is cos(k_v, mean b_Q^l). Positions get the same with e_v replaced by the position embedding.
A null baseline replaces mean b_Q by random Gaussian directions: a head whose cosines spread no further than
under random directions has no preferred tokens along b_Q.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._validate import require_int
from ..nn import GPT
from .heads import _check_gpt

FUNCTION_WORDS = frozenset("""a an the and or but if of to in on at by for with from as is are was were be been
it its this that these those not no so than then there which who whom what when where how all any each
into out up down over under can may will would should could do does did has have had""".split())

TOKEN_CLASSES = ("punctuation", "function_word", "digit", "capitalised", "rare")


def token_classes(texts: Sequence[str], counts: Sequence[int] | None = None,
                  rare_quantile: float = 0.25) -> dict[str, np.ndarray]:
    """Boolean masks (V,) of the token classes of :data:`TOKEN_CLASSES`, from each token's text (surrounding
    whitespace ignored): punctuation (all characters punctuation), function_word (an English function word,
    any case), digit (all digits), capitalised (alphabetic, first letter upper case), rare (among the
    ``rare_quantile`` least frequent tokens by ``counts``; all False without counts)."""
    words = [t.strip() for t in texts]
    out = {
        "punctuation": np.array([bool(w) and all(c in string.punctuation for c in w) for w in words]),
        "function_word": np.array([w.lower() in FUNCTION_WORDS for w in words]),
        "digit": np.array([w.isdigit() for w in words]),
        "capitalised": np.array([w.isalpha() and w[0].isupper() for w in words]),
    }
    if counts is None:
        out["rare"] = np.zeros(len(words), dtype=bool)
    else:
        c = np.asarray(counts, dtype=float)
        if c.shape != (len(words),):
            raise ValueError(f"counts must have one entry per token ({len(words)}), got shape {c.shape}")
        out["rare"] = c <= np.quantile(c, rare_quantile)
    return out


@dataclass
class Alignment:
    """Result of :func:`bias_alignment` for a model with L layers, H heads, V tokens, T_max positions.

    Attributes:
        cos: (L, H, V) cosine of each token's key with mean b_Q.
        positional: (L, H, T_max) the same for the position embeddings.
        null_mean_abs: (L, H) mean over random directions of the mean |cos| over tokens (the null level).
        null_q95: (L, H) 95th percentile over random directions of the mean |cos| over tokens.
        top, bottom: per (layer, head), the k token ids of largest / smallest cosine.
        enrichment_top, enrichment_bottom: class -> (L, H) fraction of the class among the top (bottom) k
            divided by its fraction in the vocabulary (1 = no enrichment; nan for an empty class).
        texts: the text of each token.
    """

    cos: np.ndarray
    positional: np.ndarray
    null_mean_abs: np.ndarray
    null_q95: np.ndarray
    top: list[list[list[int]]]
    bottom: list[list[list[int]]]
    enrichment_top: dict[str, np.ndarray]
    enrichment_bottom: dict[str, np.ndarray]
    texts: list[str] = field(repr=False)

    @property
    def mean_abs(self) -> np.ndarray:
        """(L, H) mean |cos| over tokens: compare with ``null_mean_abs`` and ``null_q95``."""
        return np.abs(self.cos).mean(-1)

    def table(self, k: int = 5) -> list[dict[str, Any]]:
        """One row per (layer, head): mean |cos|, the null level and its 95th percentile, the k top and
        bottom tokens (their texts, repr-quoted) and the top-k enrichment of each class."""
        rows = []
        L, H, _ = self.cos.shape
        for l in range(L):
            for h in range(H):
                rows.append({
                    "layer": l, "head": h, "mean_abs_cos": float(self.mean_abs[l, h]),
                    "null_mean_abs_cos": float(self.null_mean_abs[l, h]), "null_q95": float(self.null_q95[l, h]),
                    "top": [self.texts[i] for i in self.top[l][h][:k]],
                    "bottom": [self.texts[i] for i in self.bottom[l][h][:k]],
                    **{f"enrich_top_{c}": float(v[l, h]) for c, v in self.enrichment_top.items()},
                })
        return rows


def _direct_keys(model: GPT, layer: int, rows: Tensor) -> Tensor:
    """(H, N, d_head) keys W_K^h LN_1(rows) of embedding rows (N, C) in ``layer`` (no key bias)."""
    attn = model.blocks[layer].attn
    x = model.blocks[layer].ln_1(rows)
    w_qkv, _, _, _ = attn.projections()
    C, H, d = attn.d_model, attn.n_heads, attn.d_head
    k = x @ w_qkv[C:2 * C].t()  # (N, C)
    return k.view(-1, H, d).transpose(0, 1)


@torch.no_grad()
def bias_alignment(model: GPT, tokenizer: Any, k: int = 10, n_null: int = 256, counts: Sequence[int] | None = None,
                   seed: int = 0) -> Alignment:
    """Alignment of every vocabulary token's key with the mean query bias, per layer and head.

    Args:
        model: a :class:`symbreak.nn.GPT` (with or without b_Q switched on: the means are set either way, so a
            symmetric model gives the control).
        tokenizer: anything with ``token_text(i)`` (``symbreak.lm.tokenizer``); labels tokens and classes.
        k: size of the top / bottom lists (1 <= k <= V / 2).
        n_null: random directions of the null baseline (>= 20).
        counts: (V,) token frequencies (e.g. in the training split) for the "rare" class; None leaves it empty.
        seed: seed of the random directions.

    Returns:
        An :class:`Alignment`; ``Alignment.table()`` gives printable rows.
    """
    _check_gpt(model)
    V = model.config.vocab_size
    require_int("k", k, 1, V // 2)
    require_int("n_null", n_null, 20)
    texts = [tokenizer.token_text(i) for i in range(V)]
    classes = token_classes(texts, counts)
    gen = torch.Generator().manual_seed(seed)
    L = model.config.n_layer
    cos, positional, null_mean, null_q95 = [], [], [], []
    for layer in range(L):
        attn = model.blocks[layer].attn
        b = attn.q_mean.float()
        keys = _direct_keys(model, layer, model.wte.weight).float()  # (H, V, d)
        pos_keys = _direct_keys(model, layer, model.wpe.weight).float()
        cos.append(F.cosine_similarity(keys, b.expand_as(keys), dim=-1))
        positional.append(F.cosine_similarity(pos_keys, b.expand_as(pos_keys), dim=-1))
        dirs = F.normalize(torch.randn(n_null, attn.d_head, generator=gen), dim=-1)  # (n_null, d)
        null = (F.normalize(keys, dim=-1) @ dirs.t()).abs().mean(1)  # (H, n_null): mean |cos| per direction
        null_mean.append(null.mean(1))
        null_q95.append(null.quantile(0.95, dim=1))
    cos_np = torch.stack(cos).numpy()
    order = np.argsort(-cos_np, axis=-1, kind="stable")
    top = order[..., :k]
    bottom = order[..., ::-1][..., :k]

    def enrichment(sel: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name, mask in classes.items():
            base = mask.mean()
            out[name] = mask[sel].mean(-1) / base if base > 0 else np.full(sel.shape[:2], np.nan)
        return out

    return Alignment(cos=cos_np, positional=torch.stack(positional).numpy(),
                     null_mean_abs=torch.stack(null_mean).numpy(), null_q95=torch.stack(null_q95).numpy(),
                     top=top.tolist(), bottom=bottom.tolist(), enrichment_top=enrichment(top),
                     enrichment_bottom=enrichment(bottom), texts=texts)
