"""Tokenizers trained or defined locally: raw UTF-8 bytes, or byte-level BPE trained with ``tokenizers``.

Both map text to ids and back losslessly (``decode(encode(s)) == s`` for every string) and serialise to a JSON
string, so a checkpoint carries its tokenizer.
"""

from __future__ import annotations

import json
from typing import Iterable, Protocol, Sequence

from .._validate import require_int

_INSTALL_HINT = "BPE needs the 'tokenizers' package: pip install tokenizers (or use the byte tokenizer)"


class Tokenizer(Protocol):
    """What the training loop and the interpretability tools need from a tokenizer."""

    vocab_size: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def token_text(self, i: int) -> str:
        """The text of token ``i`` alone (bytes that are not valid UTF-8 on their own become U+FFFD)."""

    def to_json(self) -> str: ...


class ByteTokenizer:
    """UTF-8 bytes as tokens: vocab_size 256, id = byte value."""

    vocab_size = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: Sequence[int]) -> str:
        return bytes(ids).decode("utf-8", errors="replace")

    def token_text(self, i: int) -> str:
        return bytes([i]).decode("utf-8", errors="replace")

    def to_json(self) -> str:
        return json.dumps({"kind": "bytes"})


class BPETokenizer:
    """Byte-level BPE (GPT-2 style pre-tokenisation) from the ``tokenizers`` library.

    Build one with :func:`train_bpe`; ``from_json`` restores a saved one.
    """

    def __init__(self, backend: object) -> None:
        self._tok = backend
        self.vocab_size = int(backend.get_vocab_size())

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text).ids

    def decode(self, ids: Sequence[int]) -> str:
        return self._tok.decode(list(ids))

    def token_text(self, i: int) -> str:
        return self._tok.decode([i])

    def to_json(self) -> str:
        return json.dumps({"kind": "bpe", "tokenizer": self._tok.to_str()})


def _tokenizers():
    try:
        import tokenizers
    except ImportError as e:
        raise ImportError(_INSTALL_HINT) from e
    return tokenizers


def train_bpe(texts: Iterable[str], vocab_size: int = 1024, min_frequency: int = 2) -> BPETokenizer:
    """Train a byte-level BPE tokenizer on ``texts`` (the training split only, to keep validation unseen).

    The 256 byte tokens are always in the vocabulary, so any text encodes; merges fill it up to ``vocab_size``
    (fewer if the texts run out of pairs seen ``min_frequency`` times). Deterministic for the same texts.

    Raises:
        ValueError: ``vocab_size`` < 257 or ``texts`` empty.
        ImportError: ``tokenizers`` is not installed (with the install command).
    """
    require_int("vocab_size", vocab_size, 257)
    require_int("min_frequency", min_frequency, 1)
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError("texts is empty: nothing to train the BPE tokenizer on")
    tk = _tokenizers()
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
                                     initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(texts, trainer=trainer)
    return BPETokenizer(tok)


def tokenizer_from_json(text: str) -> ByteTokenizer | BPETokenizer:
    """Restore a tokenizer saved with ``to_json``."""
    spec = json.loads(text)
    if spec.get("kind") == "bytes":
        return ByteTokenizer()
    if spec.get("kind") == "bpe":
        return BPETokenizer(_tokenizers().Tokenizer.from_str(spec["tokenizer"]))
    raise ValueError(f"unknown tokenizer kind {spec.get('kind')!r}: expected 'bytes' or 'bpe'")


def make_tokenizer(kind: str, texts: Iterable[str] = (), vocab_size: int = 1024) -> ByteTokenizer | BPETokenizer:
    """``kind`` "bytes" (``texts`` unused) or "bpe" (trained on ``texts``)."""
    if kind == "bytes":
        return ByteTokenizer()
    if kind == "bpe":
        return train_bpe(texts, vocab_size)
    raise ValueError(f"tokenizer must be 'bytes' or 'bpe', got {kind!r}")
