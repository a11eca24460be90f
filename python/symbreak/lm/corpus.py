"""Text corpora available offline: the docstrings of the installed Python standard library, or text files.

A corpus is a list of :class:`Document` (name, text). It is split into training and validation sets by
*document*, so no text of a validation document is ever seen in training.
"""

from __future__ import annotations

import ast
import hashlib
import math
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .._validate import require_finite

# Folders of the standard library that hold tests, GUI demos, vendored packages or generated config, not prose.
_SKIP_DIRS = frozenset({"test", "tests", "idlelib", "site-packages", "dist-packages", "ensurepip", "turtledemo",
                        "lib2to3", "tkinter", "unittest", "__pycache__"})


@dataclass(frozen=True)
class Document:
    """One document: ``name`` identifies it (a module path or a file name), ``text`` is its content."""

    name: str
    text: str


def _normalise(text: str) -> str:
    return " ".join(text.split())


def stdlib_docstrings(root: str | os.PathLike | None = None, min_chars: int = 40) -> list[Document]:
    """The docstrings of the standard library's Python sources as documents, one per module (its module,
    class and function docstrings in source order, separated by blank lines).

    Sources are parsed with :mod:`ast`, never imported (no side effects). Modules are visited in sorted path
    order; a docstring whose whitespace-normalised text already occurred (anywhere earlier) is dropped, as are
    docstrings shorter than ``min_chars`` characters. The result is deterministic for a given Python version.

    Args:
        root: the standard-library folder (default: ``sysconfig.get_paths()["stdlib"]`` of this interpreter).
        min_chars: shortest docstring kept (>= 0).

    Returns:
        Documents named by the module's path relative to ``root`` (``json/decoder.py``), in sorted order.
    """
    if min_chars < 0:
        raise ValueError(f"min_chars must be >= 0, got {min_chars}")
    root = Path(root if root is not None else sysconfig.get_paths()["stdlib"])
    if not root.is_dir():
        raise ValueError(f"root must be a folder holding the standard library, got {str(root)!r}")
    seen: set[str] = set()
    docs = []
    for path in _python_sources(root):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue  # a few sources are deliberately broken (e.g. bad-encoding samples)
        parts = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                text = ast.get_docstring(node)
                if text is None or len(text) < min_chars:
                    continue
                key = _normalise(text)
                if key not in seen:
                    seen.add(key)
                    parts.append(text)
        if parts:
            docs.append(Document(path.relative_to(root).as_posix(), "\n\n".join(parts)))
    return docs


def _python_sources(root: Path) -> Iterable[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith((".", "_")))
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(folder) / name


def text_files(paths: Sequence[str | os.PathLike]) -> list[Document]:
    """Documents from text files (UTF-8), one per file; a folder contributes its ``*.txt`` and ``*.md`` files
    (recursively, sorted). Files whose text (whitespace-normalised) repeats an earlier file are dropped."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix in (".txt", ".md") and q.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise ValueError(f"paths: no such file or folder: {str(p)!r}")
    seen: set[str] = set()
    docs = []
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        key = _normalise(text)
        if key and key not in seen:
            seen.add(key)
            docs.append(Document(f.as_posix(), text))
    return docs


def split_documents(docs: Sequence[Document], val_fraction: float = 0.1) -> tuple[list[Document], list[Document]]:
    """Split ``docs`` into (train, validation) by document.

    The order is fixed by the SHA-256 of each document's name, so the split depends neither on the order of
    ``docs`` nor on a random seed, and adding a document moves no other one. The first
    ceil(val_fraction · n) documents in that order (at least one) are the validation set.

    Raises:
        ValueError: fewer than two documents (nothing to hold out), an empty text, duplicate names, or
            ``val_fraction`` outside (0, 1).
    """
    val_fraction = require_finite("val_fraction", val_fraction)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    docs = list(docs)
    if len(docs) < 2:
        raise ValueError(f"the corpus is empty or has a single document ({len(docs)} given): need at least 2 "
                         "documents to hold one out for validation")
    names = [d.name for d in docs]
    if len(set(names)) != len(names):
        raise ValueError("docs must have distinct names")
    if any(not d.text.strip() for d in docs):
        raise ValueError("docs must not contain empty documents")
    order = sorted(docs, key=lambda d: hashlib.sha256(d.name.encode()).hexdigest())
    n_val = min(len(docs) - 1, max(1, math.ceil(val_fraction * len(docs))))
    val = sorted(order[:n_val], key=lambda d: d.name)
    train = sorted(order[n_val:], key=lambda d: d.name)
    return train, val


def corpus_digest(docs: Iterable[Document]) -> str:
    """A short SHA-256 of the documents' names and texts: identifies a corpus in result files."""
    h = hashlib.sha256()
    for d in docs:
        h.update(d.name.encode())
        h.update(b"\0")
        h.update(d.text.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]
