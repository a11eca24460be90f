#!/usr/bin/env python3
"""Device throughput of the lattice and particle engines, against the device's copy bandwidth.

For a lent GPU (``bash bench/gpu_check.sh`` runs it): the issues' GPU targets are stated against memory
bandwidth, so the run first measures a device-to-device copy (torch), then

* XY BAOAB steps (``XY.advance``), float32 and float64, in site-steps per ns and in GB/s of the bytes the two
  launches of a step move at least (θ, ω, τ read; θ, ω, cos θ, sin θ written; cos θ, sin θ, ω read; τ, ω
  written: 12 numbers, 48 B in float32);
* Ising Metropolis sweeps (``Ising.sweep``) in flips per ns (int8 spins: about 3 bytes per flip);
* LJ molecular dynamics (``ParticleSystem.advance``, NVE, r_c = 2.5, skin 0.3), float32 and float64, in
  particle-steps per second.

``--device cpu`` runs the same code on the CPU (a smoke test; the CPU has its own benchmarks).

    PYTHONPATH=python python3 bench/bench_gpu.py [--device cuda] [--quick] [--out bench/results/gpu/engines.json]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import symbreak
from symbreak.lattice import XY, Ising
from symbreak.particles import LJ, ParticleSystem

XY_BYTES = {"float32": 48, "float64": 96}  # per site-step: 12 numbers of the state's precision


def synchronise(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def rate(call: Callable[[int], Any], units: int, device: str, repeats: int, target_s: float) -> float:
    """Median units per second of call(n), n calibrated so one call takes about target_s."""
    n = 1
    while True:
        synchronise(device)
        start = time.perf_counter()
        call(n)
        synchronise(device)
        if time.perf_counter() - start > target_s / 4 or n >= 1 << 20:
            break
        n *= 2
    n = max(1, round(n * target_s / max(time.perf_counter() - start, 1e-9)))
    rates = []
    for _ in range(repeats):
        synchronise(device)
        start = time.perf_counter()
        call(n)
        synchronise(device)
        rates.append(units * n / (time.perf_counter() - start))
    return statistics.median(rates)


def copy_bandwidth(device: str) -> float | None:
    """Bytes per second of a 1 GiB device-to-device copy (read + write), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    nbytes = (1 << 30) if device.startswith("cuda") else (1 << 27)
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    return rate(lambda n: [dst.copy_(src) for _ in range(n)], 2 * nbytes, device, 5, 0.3)


def lj_gas(n: int, dim: int, dtype: str, device: str) -> ParticleSystem:
    return ParticleSystem.gas(n, dim=dim, density=0.8, T=1.0, potential=LJ(), integrator="verlet", dt=0.005,
                              skin=0.3, seed=1, dtype=dtype, device=device)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="bench/results/gpu/engines.json")
    args = ap.parse_args(argv)
    dev, quick = args.device, args.quick
    target = 0.05 if quick else 0.5
    copy = copy_bandwidth(dev)
    rows: list[dict[str, Any]] = []

    def record(what: str, size: str, value: float, unit: str, **extra: Any) -> None:
        rows.append({"what": what, "size": size, unit: value, **extra})
        shown = ", ".join(f"{k} {v:.3g}" for k, v in extra.items())
        print(f"{what:22} {size:12} {value:.4g} {unit}{'  (' + shown + ')' if shown else ''}", flush=True)

    for L in (64,) if quick else (1024, 4096):
        for dtype in ("float32", "float64"):
            xy = XY((L, L), 0.9, gamma=1.0, dt=0.1, seed=1, dtype=dtype, device=dev)
            per_s = rate(xy.advance, L * L, dev, args.repeats, target)
            extra = {"GB_per_s": per_s * XY_BYTES[dtype] / 1e9}
            if copy:
                extra["of_copy_bandwidth"] = per_s * XY_BYTES[dtype] / copy
            record(f"xy_baoab {dtype}", f"{L}^2", per_s / 1e9, "site_steps_per_ns", **extra)
    for shape in ((64, 64),) if quick else ((4096, 4096), (256, 256, 256)):
        ising = Ising(shape, 2.269185314213022 if len(shape) == 2 else 4.5115, seed=1, device=dev)
        record("ising_metropolis", "x".join(map(str, shape)),
               rate(ising.sweep, int(np.prod(shape)), dev, args.repeats, target) / 1e9, "flips_per_ns")
    for dim, n in ((2, 1024), (3, 1024)) if quick else ((2, 65536), (3, 256000)):
        for dtype in ("float32", "float64"):
            ps = lj_gas(n, dim, dtype, dev)
            ps.advance(10)
            record(f"lj_nve {dtype}", f"{dim}D N={n}", rate(ps.advance, n, dev, args.repeats, target),
                   "particle_steps_per_s")
    data = {"benchmark": "device_engines", "device": dev, "copy_bytes_per_s": copy, "rows": rows,
            "symbreak": symbreak.info(file=io.StringIO()), "platform": platform.platform()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1))
    print(f"copy bandwidth {copy / 1e9:.1f} GB/s" if copy else "copy bandwidth: torch not installed")
    return data


if __name__ == "__main__":
    main()
