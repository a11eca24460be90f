#!/usr/bin/env python3
"""Optimizer step time: symbreak ECD (fused / foreach / reference) against torch AdamW (foreach, fused).

One run measures every implementation on the same parameters and gradients, for two layouts:

* ``gpt2``: the 148 parameter tensors of GPT-2 124M (wte, wpe, 12 blocks of 12, ln_f), scaled down uniformly
  in width for the smaller sizes;
* ``flat``: one tensor of the same total size.

Effective bandwidth uses the convention of 28 bytes per parameter per step (fp32: read θ, g and two state
words, write θ and two state words), reported against the measured device copy bandwidth. It is exact for
AdamW and for ECD without weight decay (reduce pass: read g, p; update pass: read θ, g, p, write θ, p); the
optimizer state size is exact (ECD keeps one fp32 buffer per parameter, AdamW two).

    PYTHONPATH=python python3 bench/bench_optim.py [--quick] [--device cpu|cuda] [--out bench/results/optim.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

import symbreak
from symbreak.optim import ECD

BYTES_PER_PARAM = 28


def gpt2_shapes(width: int = 768, vocab: int = 50257, ctx: int = 1024, layers: int = 12) -> list[tuple[int, ...]]:
    """The 148 parameter shapes of GPT-2 (124M at the defaults)."""
    w = width
    block = [(w,), (w,), (w, 3 * w), (3 * w,), (w, w), (w,), (w,), (w,), (w, 4 * w), (4 * w,), (4 * w, w), (w,)]
    return [(vocab, w), (ctx, w)] + block * layers + [(w,), (w,)]


def make_params(layout: str, n_target: int, device: str) -> list[torch.Tensor]:
    if layout == "flat":
        shapes = [(n_target,)]
    else:
        full = gpt2_shapes()
        scale = (n_target / sum(torch.Size(s).numel() for s in full)) ** 0.5
        shapes = gpt2_shapes(width=max(8, int(768 * scale) // 8 * 8), vocab=max(64, int(50257 * scale)),
                             ctx=max(16, int(1024 * scale)))
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen).to(device).requires_grad_(True) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen).to(device) * 1e-3
    return params


def make_optimizer(name: str, params: list[torch.Tensor]):
    if name.startswith("ECD-"):
        return ECD(params, lr=1.0, eta=100.0, F0=0.0, impl=name.split("-", 1)[1])
    if name == "AdamW-foreach":
        return torch.optim.AdamW(params, lr=1e-4, foreach=True)
    if name == "AdamW-fused":
        return torch.optim.AdamW(params, lr=1e-4, fused=True)
    raise ValueError(name)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_steps(opt, device: str, loss: torch.Tensor, repeats: int) -> list[float]:
    kwargs = {"loss": loss} if isinstance(opt, ECD) else {}
    for _ in range(2):
        opt.step(**kwargs)
    times = []
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        opt.step(**kwargs)
        sync(device)
        times.append(time.perf_counter() - t)
    return times


def interleaved_ratio(layout: str, n_target: int, device: str, rounds: int) -> dict:
    """ECD-fused / AdamW-fused step time, the two stepped back to back in every round (own parameter copies):
    on a shared machine both see the same load, so the median of the per-round ratios is steadier than a ratio
    of medians taken minutes apart."""
    opts = {}
    for name in ("ECD-fused", "AdamW-fused"):
        opts[name] = make_optimizer(name, make_params(layout, n_target, device))
    loss = torch.tensor(3.0, device=device)
    times = {name: time_steps(opt, device, loss, 1) for name, opt in opts.items()}  # warm-up included
    for _ in range(rounds):
        for name, opt in opts.items():
            times[name] += time_steps(opt, device, loss, 1)[-1:]
    ratios = [a / b for a, b in zip(times["ECD-fused"][1:], times["AdamW-fused"][1:])]
    return {"layout": layout, "params": sum(p.numel() for g in opts["ECD-fused"].param_groups for p in g["params"]),
            "rounds": rounds, "ratio_median": statistics.median(ratios),
            "ECD_fused_seconds": statistics.median(times["ECD-fused"][1:]),
            "AdamW_fused_seconds": statistics.median(times["AdamW-fused"][1:])}


def copy_bandwidth(device: str, n: int = 1 << 26) -> float:
    """Device copy bandwidth in GB/s (bytes read + bytes written), median of 5."""
    a, b = torch.randn(n, device=device), torch.empty(n, device=device)
    b.copy_(a)
    times = []
    for _ in range(5):
        sync(device)
        t = time.perf_counter()
        b.copy_(a)
        sync(device)
        times.append(time.perf_counter() - t)
    return 8 * n / statistics.median(times) / 1e9


def state_bytes(opt) -> int:
    return sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values()
               if torch.is_tensor(v) and v.dim() > 0)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="1M and 4M parameters only")
    ap.add_argument("--sizes", type=float, nargs="*", help="parameter counts, in millions")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=15, help="rounds of the interleaved ECD-fused / AdamW-fused ratio")
    ap.add_argument("--out", default="bench/results/optim.json")
    args = ap.parse_args(argv)
    sizes = [int(m * 1e6) for m in (args.sizes or ([1, 4] if args.quick else [1, 16, 124]))]
    names = ["ECD-fused", "ECD-foreach", "ECD-reference", "AdamW-foreach", "AdamW-fused"]
    bandwidth = copy_bandwidth(args.device)
    rows = []
    for n_target in sizes:
        for layout in ("gpt2", "flat"):
            for name in names:
                params = make_params(layout, n_target, args.device)
                n = sum(p.numel() for p in params)
                try:
                    opt = make_optimizer(name, params)
                    repeats = 2 if name == "ECD-reference" and n > 20e6 else args.repeats
                    times = time_steps(opt, args.device, torch.tensor(3.0, device=args.device), repeats)
                except (RuntimeError, ValueError) as e:
                    rows.append({"impl": name, "layout": layout, "params": n, "skipped": str(e)})
                    print(f"{name:14s} {layout:5s} {n / 1e6:7.1f}M  skipped: {e}")
                    continue
                med = statistics.median(times)
                row = {"impl": name, "layout": layout, "params": n, "tensors": len(params), "seconds": med,
                       "all_seconds": times, "GB_per_s": BYTES_PER_PARAM * n / med / 1e9,
                       "fraction_of_copy": BYTES_PER_PARAM * n / med / 1e9 / bandwidth,
                       "state_bytes": state_bytes(opt)}
                rows.append(row)
                print(f"{name:14s} {layout:5s} {n / 1e6:7.1f}M  {med * 1e3:9.2f} ms  {row['GB_per_s']:6.1f} GB/s "
                      f"({row['fraction_of_copy']:.0%} of copy)  state {row['state_bytes'] / n:.0f} B/param")
    interleaved = []
    for n_target in sizes:
        for layout in ("gpt2", "flat"):
            r = interleaved_ratio(layout, n_target, args.device, args.rounds)
            interleaved.append(r)
            print(f"interleaved {layout:5s} {r['params'] / 1e6:7.1f}M  ECD-fused / AdamW-fused "
                  f"{r['ratio_median']:.2f} (median of {r['rounds']} rounds)")
    result = {"benchmark": "optimizer step", "device": args.device, "copy_GB_per_s": bandwidth,
              "threads": symbreak.get_num_threads(), "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
              "torch": torch.__version__, "symbreak": symbreak.__version__,
              "machine": platform.processor() or platform.machine(), "bytes_per_param": BYTES_PER_PARAM,
              "rows": rows, "interleaved": interleaved}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(markdown(result))
    return result


def markdown(result: dict) -> str:
    """README table: step time per implementation and the fused-ECD ratios."""
    ok = [r for r in result["rows"] if "seconds" in r]
    keys = sorted({(r["params"], r["layout"]) for r in ok})
    names = ["ECD-fused", "ECD-foreach", "ECD-reference", "AdamW-foreach", "AdamW-fused"]
    inter = {(r["params"], r["layout"]): r["ratio_median"] for r in result.get("interleaved", [])}
    lines = ["| params | layout | " + " | ".join(names) + " | fused ECD / AdamW-fused | same, interleaved "
             "| reference / fused |", "|---" * (len(names) + 5) + "|"]
    for n, layout in keys:
        t = {r["impl"]: r["seconds"] for r in ok if (r["params"], r["layout"]) == (n, layout)}
        cells = [f"{t[k] * 1e3:.1f} ms" if k in t else "n/a" for k in names]
        r1 = f"{t['ECD-fused'] / t['AdamW-fused']:.2f}×" if {"ECD-fused", "AdamW-fused"} <= t.keys() else "n/a"
        r2 = f"{t['ECD-reference'] / t['ECD-fused']:.1f}×" if {"ECD-fused", "ECD-reference"} <= t.keys() else "n/a"
        r3 = f"{inter[(n, layout)]:.2f}×" if (n, layout) in inter else "n/a"
        lines.append(f"| {n / 1e6:.1f}M | {layout} | " + " | ".join(cells) + f" | {r1} | {r3} | {r2} |")
    lines.append(f"\nStep times (median), {result['device']}, {result['threads']} threads (OMP_WAIT_POLICY "
                 f"{result.get('OMP_WAIT_POLICY', '(unset)')}); copy bandwidth {result['copy_GB_per_s']:.1f} GB/s; "
                 f"torch {result['torch']}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
