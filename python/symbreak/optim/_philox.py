"""Philox4x32-10 in pure torch, bit-identical to ``symbreak._core.rng`` (cpp/include/symbreak/rng/philox.hpp).

The reference and foreach optimizer steps draw their noise here, with the counter layout every symbreak rule uses:
key = (seed low 32, seed high 32); counter c0 = call index low 32 bits, c1 = (call index >> 32 & 0xFFFF) |
substep << 16 | rng_id << 24, (c2, c3) = step (low, high). uint32 arithmetic runs in int64 tensors; the 32 x 32
bit products are split into 16-bit halves so that no intermediate exceeds 2^49 (no reliance on overflow).

Element layout of the optimizer noise: element j (its *global* index: tensor offset in parameter order over all
groups, or the shard's declared offset, plus the element index) takes lane j % 2 of call j // 2. A normal pair is
Box-Muller of that call exactly as ``normal2_double``: u1 = 1 - U(x0, x1), u2 = U(x2, x3), z0 = √(-2 ln u1)
cos(2π u2), z1 = √(-2 ln u1) sin(2π u2), with U(hi, lo) = ((hi << 21) ^ (lo >> 11)) 2^-53. A uniform pair is
(U(x0, x1), U(x2, x3)). Normals agree with C++ to libm round-off; the words and uniforms agree bit for bit.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

# Purpose ids (top byte of c1; continue the RngId enum of cpp/include/symbreak/rng/ids.hpp, never renumber).
RNG_ECD_NOISE = 6  # ECD momentum noise (normal), substep 0
RNG_ECDSEP_NOISE = 7  # ECDSep momentum noise (normal), substep 0
RNG_BBI_BOUNCE = 8  # BBI bounce momenta (uniform in [0, 1), shifted by -1/2 by the caller), substep 0

_MASK = 0xFFFFFFFF
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_TWO_PI = 6.283185307179586
_TWO_M53 = 1.1102230246251565e-16


def _mulhilo(m: int, x: Tensor) -> tuple[Tensor, Tensor]:
    """(high, low) 32-bit words of m * x for a constant m < 2^32 and x in [0, 2^32)."""
    low_half = m * (x & 0xFFFF)  # < 2^48
    high_half = m * (x >> 16)  # < 2^48
    mid = low_half + ((high_half & 0xFFFF) << 16)  # < 2^49
    return (high_half >> 16) + (mid >> 32), mid & _MASK


def philox4x32_10(counter: Sequence[Tensor | int], key: Sequence[int]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The ten-round Philox bijection of (c0, c1, c2, c3) under (k0, k1); words are int64 tensors in [0, 2^32)
    (any broadcastable shapes; Python ints are accepted for constant words)."""
    c0, c1, c2, c3 = (torch.as_tensor(c, dtype=torch.int64) for c in counter)
    k0, k1 = int(key[0]) & _MASK, int(key[1]) & _MASK
    for _ in range(10):
        hi0, lo0 = _mulhilo(_M0, c0)
        hi1, lo1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    return c0, c1, c2, c3


def uniform_double(hi: Tensor, lo: Tensor) -> Tensor:
    """53-bit uniform in [0, 1) from two words, as ``uniform_double`` in philox.hpp (float64)."""
    return ((hi << 21) ^ (lo >> 11)).to(torch.float64) * _TWO_M53


def draw(kind: str, seed: int, rng_id: int, step: Tensor | int, offsets: Sequence[int], numels: Sequence[int],
         device: torch.device | str = "cpu", substep: int = 0, dtype: torch.dtype = torch.float64) -> list[Tensor]:
    """Noise for the segments [offsets[i], offsets[i] + numels[i]) of global element indices.

    kind: "normal" (standard normals) or "uniform" (in [0, 1)). step may be a 0-dim tensor on `device` (no host
    synchronisation; no host data is copied to the device either). Returns one flat tensor per segment (computed in
    float64, then cast to `dtype`); a segment's values do not depend on the other segments, so any grouping,
    chunking or sharding of the same indices draws the same numbers.
    """
    if kind not in ("normal", "uniform"):
        raise ValueError(f"kind must be 'normal' or 'uniform', got {kind!r}")
    starts = [o // 2 for o in offsets]
    ends = [(o + n + 1) // 2 if n > 0 else o // 2 for o, n in zip(offsets, numels)]
    lengths = [e - s for s, e in zip(starts, ends)]
    total = sum(lengths)
    before = [0]
    for length in lengths[:-1]:
        before.append(before[-1] + length)
    if total == 0:
        return [torch.zeros(0, dtype=dtype, device=device) for _ in offsets]
    calls = torch.cat([torch.arange(a, b, dtype=torch.int64, device=device) for a, b in zip(starts, ends) if b > a])
    step = torch.as_tensor(step, device=device).to(torch.int64)
    c1 = ((calls >> 32) & 0xFFFF) | ((substep & 0xFF) << 16) | ((rng_id & 0xFF) << 24)
    x0, x1, x2, x3 = philox4x32_10((calls & _MASK, c1, step & _MASK, step >> 32),
                                   (seed & _MASK, (seed >> 32) & _MASK))
    if kind == "normal":
        radius = torch.sqrt(-2.0 * torch.log(1.0 - uniform_double(x0, x1)))
        angle = _TWO_PI * uniform_double(x2, x3)
        pairs = torch.stack((radius * torch.cos(angle), radius * torch.sin(angle)), dim=1)
    else:
        pairs = torch.stack((uniform_double(x0, x1), uniform_double(x2, x3)), dim=1)
    flat = pairs.reshape(-1).to(dtype)
    return [flat[2 * b + (o & 1): 2 * b + (o & 1) + n] for o, n, b in zip(offsets, numels, before)]
