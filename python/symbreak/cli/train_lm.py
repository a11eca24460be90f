"""``symbreak train-lm``: train small GPTs on an offline corpus, comparing optimizers and symmetry-breaking biases.

Example (the CPU defaults: 3 optimizers x 3 bias settings x 2 seeds, a few minutes on two cores)::

    symbreak train-lm --out runs/lm

writes ``runs.json`` (every run with its curves), ``summary.csv``, ``summary.md`` and ``loss_curves.png`` to
``--out`` and prints the figure's path; ``--save-models`` adds one checkpoint per run for ``symbreak interp``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from ._common import Progress, int_at_least


def _choices(allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        items = [t for t in text.split(",") if t]
        bad = [t for t in items if t not in allowed]
        if not items or bad:
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(allowed)}, got {text!r}")
        return list(dict.fromkeys(items))

    return parse


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be finite and > 0, got {text}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``symbreak train-lm`` to the sub-command parsers."""
    q = sub.add_parser("train-lm", help="train small GPTs: {AdamW, ECD, SGD} x {symmetric, b_Q, b_Q+b_V}",
                       description="Train GPT language models on an offline corpus (the standard library's "
                                   "docstrings by default) for every optimizer x bias setting x seed; writes "
                                   "runs.json, summary.csv, summary.md and loss_curves.png to --out.")
    q.add_argument("--text", nargs="+", metavar="PATH",
                   help="text files or folders (*.txt, *.md) instead of the standard library's docstrings")
    q.add_argument("--tokenizer", choices=("bpe", "bytes"), default="bpe", help="(default: bpe)")
    q.add_argument("--vocab-size", type=int_at_least(257), default=512, help="BPE vocabulary (default: 512)")
    q.add_argument("--val-fraction", type=float, default=0.1, help="documents held out (default: 0.1)")
    q.add_argument("--optimizers", type=_choices(("adamw", "ecd", "sgd")), default=["adamw", "ecd", "sgd"],
                   metavar="LIST", help="comma-separated from adamw,ecd,sgd (default: all)")
    q.add_argument("--biases", type=_choices(("none", "q", "qv")), default=["none", "q", "qv"], metavar="LIST",
                   help="comma-separated from none (symmetric), q (b_Q), qv (b_Q + b_V) (default: all)")
    q.add_argument("--seeds", type=int_at_least(0), nargs="+", default=[0, 1], help="(default: 0 1)")
    q.add_argument("--steps", type=int_at_least(1), default=400, help="training steps per run (default: 400)")
    q.add_argument("--batch-size", type=int_at_least(1), default=16, help="(default: 16)")
    q.add_argument("--block-size", type=int_at_least(8), default=64, help="context length (default: 64)")
    q.add_argument("--n-layer", type=int_at_least(1), default=3, help="(default: 3)")
    q.add_argument("--n-head", type=int_at_least(1), default=4, help="(default: 4)")
    q.add_argument("--d-model", type=int_at_least(1), default=96, help="(default: 96)")
    q.add_argument("--mlp", choices=("gelu", "prelu"), default="gelu", help="(default: gelu)")
    q.add_argument("--lr-adamw", type=_positive_float, help="AdamW learning rate (default: 1e-3)")
    q.add_argument("--lr-ecd", type=_positive_float, help="ECD lr (default: 1.0, the paper's)")
    q.add_argument("--lr-sgd", type=_positive_float, help="SGD learning rate (default: 0.1, momentum 0.9)")
    q.add_argument("--eta", type=_positive_float, default=100.0, help="ECD eta (default: 100)")
    q.add_argument("--F0", type=float, default=0.0, help="ECD loss offset, below the reachable loss (default: 0)")
    q.add_argument("--eval-every", type=int_at_least(1), default=50, help="steps between evaluations (default: 50)")
    q.add_argument("--val-batches", type=int_at_least(1), default=16,
                   help="validation batches averaged per evaluation (default: 16)")
    q.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    q.add_argument("--threads", type=int_at_least(1), metavar="N", help="torch threads (default: torch's)")
    q.add_argument("--save-models", action="store_true", help="save a checkpoint per run (model_*.pt)")
    q.add_argument("--out", type=Path, default=Path("runs/lm"), help="output folder (default: runs/lm)")
    q.add_argument("--quiet", action="store_true", help="no progress output")
    q.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    import torch

    from ..interp.plot import lm_loss_figure
    from ..lm import TrainConfig, prepare, save_checkpoint, train_lm
    from ..lm.report import markdown, write

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"--device {args.device}: torch sees no CUDA device")
    tokenizer, data, meta = prepare(args.text, args.tokenizer, args.vocab_size, args.val_fraction)
    lrs = {"adamw": args.lr_adamw, "ecd": args.lr_ecd, "sgd": args.lr_sgd}
    configs = [TrainConfig(optimizer=o, biases=b, seed=s, steps=args.steps, batch_size=args.batch_size,
                           block_size=args.block_size, n_layer=args.n_layer, n_head=args.n_head,
                           d_model=args.d_model, mlp=args.mlp, lr=lrs[o], eta=args.eta, F0=args.F0,
                           eval_every=args.eval_every, val_batches=args.val_batches, device=args.device)
               for s in args.seeds for o in args.optimizers for b in args.biases]
    args.out.mkdir(parents=True, exist_ok=True)
    counts = torch.bincount(data.train, minlength=data.vocab_size).tolist()
    progress = Progress(len(configs) * args.steps, None if args.quiet else sys.stderr, lines=len(configs),
                        unit="steps")
    logs = []
    try:
        for i, cfg in enumerate(configs):
            done = i * args.steps
            log, model = train_lm(cfg, data, on_step=lambda s: progress.update(done + s))
            logs.append(log)
            if args.save_models:
                save_checkpoint(args.out / f"model_{cfg.optimizer}_{cfg.biases}_seed{cfg.seed}.pt", model,
                                tokenizer.to_json(), log, extra={"corpus": meta, "counts": counts})
    finally:
        progress.close()
    meta.update(python=platform.python_version(), torch=torch.__version__, threads=torch.get_num_threads(),
                device=args.device, platform=platform.machine())
    rows = write(logs, args.out, meta)
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    figure = lm_loss_figure(logs, args.out / "loss_curves.png")
    if not args.quiet:
        print(markdown(rows), file=sys.stderr)
    print(figure)
    return 0
