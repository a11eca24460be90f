"""Interpretability of symmetry-breaking attention: which tokens the query bias singles out (bias alignment),
induction heads forming through a phase transition, and single-head specialisation. Needs torch; figures
need matplotlib (``symbreak.interp.plot``).

Example::

    from symbreak.interp import bias_alignment, keep_heads
    res = bias_alignment(model, tokenizer)         # res.table() lists each head's most aligned tokens
    with keep_heads(model, layer=0, heads=[1]):    # layer 0 speaks through head 1 alone
        logits, _ = model(idx)
"""

from .alignment import Alignment, bias_alignment, token_classes
from .heads import attention_patterns, keep_heads
from .induction import (InductionConfig, InductionRun, circuit, induction_score, induction_scores, lag_scores,
                        previous_token_score, repeated_sequences, train_induction, transition_step)
from .single_node import SingleNodeResult, per_token_accuracy, single_node

__all__ = ["Alignment", "bias_alignment", "token_classes", "attention_patterns", "keep_heads", "InductionConfig",
           "InductionRun", "circuit", "induction_score", "induction_scores", "lag_scores", "previous_token_score", "repeated_sequences", "train_induction",
           "transition_step", "SingleNodeResult", "per_token_accuracy", "single_node"]
