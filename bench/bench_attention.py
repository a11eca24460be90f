#!/usr/bin/env python3
"""Cost of the symmetry-breaking biases: forward + backward of SymmetryBreakingAttention with b_Q and with
b_Q + b_V against the same module with both biases off (plain SDPA attention), and against a textbook
nanoGPT-style attention (fused qkv Linear, SDPA, output Linear) as the peer.

All variants share the weights and the input (which requires a gradient, as inside a network); one timing is
``inner`` forward + backward passes. Each round times every variant back to back in a rotated order, and the
overhead is the median over rounds of the per-round ratio to the biases-off module, which cancels slow drifts
of a shared machine. Writes JSON (and prints a Markdown table).

    PYTHONPATH=python python3 bench/bench_attention.py [--device cpu|cuda|all] [--out bench/results/attention.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import symbreak
from symbreak.nn import SymmetryBreakingAttention

VARIANTS = ("plain (biases off)", "b_Q", "b_Q + b_V", "nanoGPT peer", "plain again (noise floor)")


class PeerAttention(torch.nn.Module):
    """Textbook causal attention: qkv Linear, head split, SDPA(is_causal), merge, output Linear."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = torch.nn.Linear(d_model, 3 * d_model)
        self.proj = torch.nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


def make_variants(d_model: int, n_heads: int, device: str) -> dict[str, torch.nn.Module]:
    base = SymmetryBreakingAttention(d_model, n_heads, bias_q=False, bias_v=False).to(device)
    mods = {VARIANTS[0]: base}
    for name, bq, bv in ((VARIANTS[1], True, False), (VARIANTS[2], True, True)):
        m = SymmetryBreakingAttention(d_model, n_heads, bias_q=bq, bias_v=bv).to(device)
        m.load_state_dict(base.state_dict())
        mods[name] = m.set_biases(bias_q=bq, bias_v=bv)
    peer = PeerAttention(d_model, n_heads).to(device)
    peer.load_state_dict({k: v for k, v in base.state_dict().items() if k.startswith(("qkv.", "proj."))})
    mods[VARIANTS[3]] = peer
    twin = SymmetryBreakingAttention(d_model, n_heads, bias_q=False, bias_v=False).to(device)
    twin.load_state_dict(base.state_dict())
    mods[VARIANTS[4]] = twin
    return mods


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_once(module: torch.nn.Module, x: torch.Tensor, grad: torch.Tensor, inner: int, device: str) -> float:
    """Seconds per forward + backward, averaged over ``inner`` passes."""
    sync(device)
    t = time.perf_counter()
    for _ in range(inner):
        module(x).backward(grad)
    sync(device)
    return (time.perf_counter() - t) / inner


def bench_size(B: int, T: int, C: int, H: int, device: str, rounds: int, inner: int, warmup: int) -> list[dict]:
    torch.manual_seed(0)
    mods = make_variants(C, H, device)
    x = torch.randn(B, T, C, device=device, requires_grad=True)
    grad = torch.randn(B, T, C, device=device)
    for m in mods.values():
        m.train()
        for _ in range(warmup):
            m(x).backward(grad)
    times: dict[str, list[float]] = {k: [] for k in mods}
    names = list(mods)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(time_once(mods[name], x, grad, inner, device))
    base = times[VARIANTS[0]]
    rows = []
    for name in names:
        ratios = [t / b for t, b in zip(times[name], base)]
        rows.append({"device": device, "batch": B, "seq": T, "d_model": C, "n_heads": H, "variant": name,
                     "ms_median": 1e3 * statistics.median(times[name]), "ms_all": [1e3 * t for t in times[name]],
                     "overhead_pct": 100.0 * (statistics.median(ratios) - 1.0),
                     "overhead_pct_quartiles": [100.0 * (q - 1.0) for q in statistics.quantiles(ratios, n=4)]
                     if len(ratios) > 1 else None})
        print(f"{device:4s} B={B} T={T} C={C} H={H}  {name:20s} {rows[-1]['ms_median']:8.3f} ms  "
              f"{rows[-1]['overhead_pct']:+6.1f}%")
    return rows


def markdown(result: dict) -> str:
    """README table: median ms per forward + backward and the overhead against the biases-off module."""
    lines = ["| device | B × T × d_model (heads) | " + " | ".join(VARIANTS) + " |",
             "|---" * (len(VARIANTS) + 2) + "|"]
    rows = result["rows"]
    for key in dict.fromkeys((r["device"], r["batch"], r["seq"], r["d_model"], r["n_heads"]) for r in rows):
        group = {r["variant"]: r for r in rows if (r["device"], r["batch"], r["seq"], r["d_model"],
                                                     r["n_heads"]) == key}
        cells = [f"{group[VARIANTS[0]]['ms_median']:.2f} ms"] + [
            f"{group[v]['ms_median']:.2f} ms ({group[v]['overhead_pct']:+.1f}%)" for v in VARIANTS[1:]]
        lines.append(f"| {key[0]} | {key[1]} × {key[2]} × {key[3]} ({key[4]}) | " + " | ".join(cells) + " |")
    lines.append(f"\nForward + backward, median of {result['settings']['rounds']} rounds of "
                 f"{result['settings']['inner']} passes; overhead = median per-round ratio to the biases-off "
                 f"module. torch {result['torch']}, {result['cpu_threads']} CPU threads"
                 + (f", {result['gpu']}" if result.get("gpu") else "") + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="all", help="cpu, cuda or all (cuda when available; default all)")
    ap.add_argument("--sizes", default="8:256:256:8,8:256:512:8", help="B:T:d_model:heads, comma separated")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--inner", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--out", default="bench/results/attention.json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [tuple(int(v) for v in s.split(":")) for s in args.sizes.split(",")]
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    skipped = {}
    if "cuda" in devices and not torch.cuda.is_available():
        devices.remove("cuda")
        skipped["cuda"] = "torch.cuda.is_available() is False"
    rows = [row for device in devices for s in sizes
            for row in bench_size(*s, device, args.rounds, args.inner, args.warmup)]
    result = {"benchmark": "attention forward + backward", "torch": torch.__version__,
              "symbreak": symbreak.__version__, "machine": platform.processor() or platform.machine(),
              "cpu_threads": torch.get_num_threads(),
              "gpu": torch.cuda.get_device_name() if "cuda" in devices else None, "skipped": skipped,
              "settings": {"rounds": args.rounds, "inner": args.inner, "warmup": args.warmup}, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
