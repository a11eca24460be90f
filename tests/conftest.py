"""Shared fixtures: the `device` fixture runs a test body on every backend (CUDA skipped with the reason); every
test starts with torch's default intra-op thread count (tests that pin it for reproducibility do not leak it)."""

import sys

import pytest

import symbreak


def _cuda_param():
    reason = symbreak.cuda_unavailable_reason()
    return pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(bool(reason), reason=f"no GPU: {reason}")])


@pytest.fixture(params=["cpu", _cuda_param()])
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    torch = sys.modules.get("torch")  # only when a test module has imported it
    threads = torch.get_num_threads() if torch is not None else None
    yield
    if threads is not None:
        torch.set_num_threads(threads)


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` run only when asked for (`-m slow`)."""
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `make test-slow` (pytest -m slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
