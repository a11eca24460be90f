"""Shared fixtures: the `device` fixture runs a test body on every backend (CUDA skipped with the reason)."""

import pytest

import symbreak


def _cuda_param():
    reason = symbreak.cuda_unavailable_reason()
    return pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(bool(reason), reason=f"no GPU: {reason}")])


@pytest.fixture(params=["cpu", _cuda_param()])
def device(request):
    return request.param


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` run only when asked for (`-m slow`)."""
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `make test-slow` (pytest -m slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
