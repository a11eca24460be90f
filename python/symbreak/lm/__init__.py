"""Language-model experiment: an offline corpus, local tokenizers, a training loop comparing optimizers and
symmetry-breaking biases, and synthetic reasoning probes. Needs torch (and ``tokenizers`` for BPE).

Example::

    from symbreak.lm import prepare, TrainConfig, train_lm
    tokenizer, data, meta = prepare()                       # stdlib docstrings, BPE with 512 tokens
    log, model = train_lm(TrainConfig(optimizer="ecd", biases="q"), data)
"""

from __future__ import annotations

from typing import Any, Sequence

from .corpus import Document, corpus_digest, split_documents, stdlib_docstrings, text_files
from .data import TokenData
from .probes import make_probes, probe_accuracy
from .tokenizer import BPETokenizer, ByteTokenizer, make_tokenizer, tokenizer_from_json, train_bpe
from .train import RunLog, TrainConfig, load_checkpoint, save_checkpoint, train_lm


def load_documents(text: Sequence[str] | None = None) -> list[Document]:
    """The documents of ``text`` (files or folders, see :func:`text_files`), or the standard library's
    docstrings when ``text`` is empty or None."""
    return text_files(text) if text else stdlib_docstrings()


def prepare(text: Sequence[str] | None = None, tokenizer: str = "bpe", vocab_size: int = 512,
            val_fraction: float = 0.1) -> tuple[Any, TokenData, dict[str, Any]]:
    """Corpus → split by document → tokenizer trained on the training split only → token streams.

    Returns (tokenizer, data, meta); meta records the corpus (source, digest, documents, characters, tokens)
    for result files. Raises ValueError for an empty corpus or a bad ``tokenizer`` / ``vocab_size``.
    """
    docs = load_documents(text)
    train, val = split_documents(docs, val_fraction)
    tok = make_tokenizer(tokenizer, [d.text for d in train], vocab_size)
    data = TokenData.from_documents(tok, train, val)
    meta = {"corpus": list(text) if text else "stdlib-docstrings", "digest": corpus_digest(docs),
            "documents": [len(train), len(val)], "characters": [sum(len(d.text) for d in s) for s in (train, val)],
            "tokens": [int(data.train.numel()), int(data.val.numel())], "tokenizer": tokenizer,
            "vocab_size": tok.vocab_size, "val_fraction": val_fraction}
    return tok, data, meta


__all__ = ["Document", "stdlib_docstrings", "text_files", "split_documents", "corpus_digest", "load_documents",
           "prepare", "TokenData", "ByteTokenizer", "BPETokenizer", "train_bpe", "make_tokenizer",
           "tokenizer_from_json", "make_probes", "probe_accuracy", "TrainConfig", "RunLog", "train_lm",
           "save_checkpoint", "load_checkpoint"]
