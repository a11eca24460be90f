"""The README's Python snippets run as written, each in a fresh namespace in a scratch directory, so the API tour
on the front page cannot drift from the code. Fragments holding a bare `...` line (the before/after optimizer
diff, which needs the reader's own model) are not run."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
RUNNABLE = [b for b in BLOCKS if not re.search(r"^\.\.\.$", b, re.M)]


def test_the_readme_has_a_tour():
    assert len(BLOCKS) >= 7 and len(RUNNABLE) == len(BLOCKS) - 1


@pytest.mark.parametrize("index", range(len(RUNNABLE)))
def test_readme_snippet_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write files write here
    first = RUNNABLE[index].strip().splitlines()[0]
    exec(compile(RUNNABLE[index], f"README.md python block {index} ({first})", "exec"), {"__name__": "__readme__"})
