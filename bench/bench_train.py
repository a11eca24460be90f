#!/usr/bin/env python3
"""End-to-end training throughput: a symbreak GPT trained with fused ECD against torch's fused AdamW.

Both optimizers train the same model (b_Q on, the paper's setting for ECD) from the same initial weights on the
same random token batches; one timed round runs ``--steps`` full steps (forward, backward, optimizer step,
zero_grad) of each optimizer back to back, so both see the same machine load, and the reported ratio is the
median over rounds of tokens/s(ECD) / tokens/s(AdamW). On CUDA, rounds end with a device synchronisation and
the model runs under bf16 autocast. The optimizer's share of a step is measured the same way with the forward
and backward taken out (gradients kept from one backward pass).

    PYTHONPATH=python python3 bench/bench_train.py [--device cpu|cuda] [--out bench/results/train.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

import symbreak
from symbreak.nn import GPT, GPTConfig
from symbreak.optim import ECD


def make_optimizer(name: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    if name == "ecd":
        return ECD(model.parameters(), lr=1.0, eta=100.0, F0=0.0)
    return torch.optim.AdamW(model.parameters(), lr=3e-4, fused=True)


def timed(device: str, fn, steps: int) -> float:
    """Seconds for ``steps`` calls of fn (device work included)."""
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5, help="training steps per optimizer per round")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default="bench/results/train.json")
    args = ap.parse_args(argv)
    device = args.device
    cfg = GPTConfig(vocab_size=args.vocab, block_size=args.block, n_layer=args.layers, n_head=args.heads,
                    d_model=args.d_model, bias_q=True, seed=0)
    gen = torch.Generator().manual_seed(0)
    data = torch.randint(0, args.vocab, (args.batch, args.block + 1), generator=gen).to(device)
    models, opts = {}, {}
    for name in ("adamw", "ecd"):
        torch.manual_seed(0)
        models[name] = GPT(cfg).to(device)
        opts[name] = make_optimizer(name, models[name])
    n_params = sum(p.numel() for p in models["ecd"].parameters())

    def train_step(name: str) -> None:
        model, opt = models[name], opts[name]
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            _, loss = model(data[:, :-1], data[:, 1:])
        loss.backward()
        opt.step(loss=loss.detach()) if name == "ecd" else opt.step()

    def opt_step(name: str) -> None:  # the optimizer alone, on the gradients of the last backward pass
        opts[name].step(loss=losses[name]) if name == "ecd" else opts[name].step()

    for name in models:  # warm-up: allocations, first-step initialisation
        for _ in range(2):
            train_step(name)
    losses = {}
    for name, model in models.items():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            losses[name] = model(data[:, :-1], data[:, 1:])[1].detach()
    tokens = args.batch * args.block * args.steps
    rows = {"train": [], "optimizer": []}
    for _ in range(args.rounds):
        t = {name: timed(device, lambda: train_step(name), args.steps) for name in models}
        rows["train"].append({"adamw": tokens / t["adamw"], "ecd": tokens / t["ecd"]})
        t = {name: timed(device, lambda: opt_step(name), args.steps) / args.steps for name in models}
        rows["optimizer"].append({"adamw": t["adamw"], "ecd": t["ecd"]})
    tok = {k: statistics.median(r[k] for r in rows["train"]) for k in models}
    opt_ms = {k: 1e3 * statistics.median(r[k] for r in rows["optimizer"]) for k in models}
    ratio = statistics.median(r["ecd"] / r["adamw"] for r in rows["train"])
    step_ms = {k: 1e3 * args.batch * args.block / tok[k] for k in models}
    result = {
        "device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(), "symbreak": symbreak.__version__,
        "model": {"params": n_params, "layers": args.layers, "d_model": args.d_model, "heads": args.heads,
                  "vocab": args.vocab, "block": args.block, "batch": args.batch},
        "tokens_per_s": tok, "step_ms": step_ms, "optimizer_ms": opt_ms, "ecd_over_adamw_tokens_per_s": ratio,
        "rounds": rows,
    }
    print(f"GPT {n_params / 1e6:.1f}M params, batch {args.batch} x {args.block} tokens, {device}, "
          f"{torch.get_num_threads()} threads")
    print("| optimizer | tokens/s | step | optimizer step | optimizer share |")
    print("|---|---|---|---|---|")
    for k, label in (("adamw", "AdamW (fused)"), ("ecd", "ECD (fused)")):
        print(f"| {label} | {tok[k]:,.0f} | {step_ms[k]:.1f} ms | {opt_ms[k]:.2f} ms | "
              f"{100 * opt_ms[k] / step_ms[k]:.1f} % |")
    print(f"\nECD / AdamW tokens/s, median of {args.rounds} interleaved rounds: {ratio:.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
