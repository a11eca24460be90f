"""Attention with fixed, unlearned symmetry-breaking biases, a small GPT built on it, and ``symmetry_break``
to convert existing models (Silverstein, Kunin & Shyam 2026). Needs torch; ``import symbreak`` does not import
it. Example::

    from symbreak.nn import GPT, GPTConfig, symmetry_break
    model = GPT(GPTConfig(vocab_size=256, bias_q=False, bias_v=False))   # symmetric GPT-2
    symmetry_break(model, bias_q=True, bias_v=True)                       # in place, same weights
"""

from .attention import SymmetryBreakingAttention
from .convert import symmetry_break
from .gpt import GPT, GPTConfig

__all__ = ["SymmetryBreakingAttention", "GPT", "GPTConfig", "symmetry_break"]
