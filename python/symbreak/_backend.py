"""Device resolution: "cpu", "cuda" or "cuda:N", with a clear reason when CUDA cannot be used."""

from __future__ import annotations

from . import _core


def cuda_available() -> bool:
    """True when this build has CUDA kernels and at least one device is visible."""
    return _core.cuda_device_count()[0] > 0


def cuda_unavailable_reason() -> str:
    """Why `device="cuda"` cannot be used here ("" when it can)."""
    count, why = _core.cuda_device_count()
    return "" if count > 0 else why


def resolve_device(device: str) -> tuple[str, int]:
    """Parse a device string into (kind, index); raises ValueError or RuntimeError with the reason."""
    if not isinstance(device, str):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind != "cuda" or (index and not index.isdigit()):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    count, why = _core.cuda_device_count()
    if count == 0:
        raise RuntimeError(f"device={device!r} is unavailable: {why}")
    idx = int(index) if index else 0
    if idx >= count:
        raise ValueError(f"device={device!r}: only {count} CUDA device(s) visible (cuda:0..cuda:{count - 1})")
    return "cuda", idx
