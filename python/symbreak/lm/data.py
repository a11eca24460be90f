"""Token streams for language-model training: random training windows and a fixed set of validation windows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from .._validate import require_int
from .corpus import Document
from .tokenizer import Tokenizer

SEPARATOR = "\n\n"
"""Joins the documents of a split into one stream."""


@dataclass
class TokenData:
    """Training and validation token streams (1-D int64 tensors) of one tokenizer."""

    train: Tensor
    val: Tensor
    vocab_size: int

    @classmethod
    def from_documents(cls, tokenizer: Tokenizer, train: Sequence[Document], val: Sequence[Document]) -> TokenData:
        """Encode each split as its documents joined by :data:`SEPARATOR`."""
        if not train or not val:
            raise ValueError(f"train and val must each hold at least one document, got {len(train)} and {len(val)}")
        streams = [torch.tensor(tokenizer.encode(SEPARATOR.join(d.text for d in docs)), dtype=torch.int64)
                   for docs in (train, val)]
        return cls(streams[0], streams[1], tokenizer.vocab_size)

    def check(self, block_size: int) -> None:
        """ValueError unless both streams hold at least one window of ``block_size`` + 1 tokens."""
        for name, stream in (("train", self.train), ("val", self.val)):
            if stream.numel() < block_size + 1:
                raise ValueError(f"the {name} split has {stream.numel()} tokens, fewer than block_size + 1 = "
                                 f"{block_size + 1}: use more text or a smaller block_size")

    def train_batch(self, batch_size: int, block_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """A batch of uniformly random training windows: inputs and next-token targets, each (B, T)."""
        starts = torch.randint(0, self.train.numel() - block_size, (batch_size,), generator=generator)
        return _windows(self.train, starts, block_size)

    def val_batches(self, n_batches: int, batch_size: int, block_size: int) -> list[tuple[Tensor, Tensor]]:
        """``n_batches`` fixed validation batches whose windows are evenly spread over the validation stream
        (the same for every run, so validation losses compare directly; windows overlap only when the stream
        is shorter than n_batches · batch_size · block_size tokens)."""
        require_int("n_batches", n_batches, 1)
        n = n_batches * batch_size
        starts = torch.linspace(0, self.val.numel() - block_size - 1, n).round().long()
        return [_windows(self.val, s, block_size) for s in starts.split(batch_size)]


def _windows(stream: Tensor, starts: Tensor, block_size: int) -> tuple[Tensor, Tensor]:
    idx = starts[:, None] + torch.arange(block_size + 1)
    chunk = stream[idx]
    return chunk[:, :-1], chunk[:, 1:]
