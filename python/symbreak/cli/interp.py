"""``symbreak interp MODE``: interpretability of symmetry-breaking attention.

Examples::

    symbreak interp induction --out runs/induction          # AdamW vs ECD, with and without b_Q, 2 seeds
    symbreak interp alignment --checkpoint runs/lm/model_ecd_q_seed0.pt --out runs/align
    symbreak interp single-node --checkpoint runs/lm/model_ecd_q_seed0.pt --layer 0 --out runs/single

Each writes a JSON (and markdown) result and a PNG figure to ``--out`` and prints the figure's path.
Checkpoints come from ``symbreak train-lm --save-models``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._common import Progress, int_at_least
from .train_lm import _choices, _positive_float


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``symbreak interp {alignment,induction,single-node}`` to the sub-command parsers."""
    q = sub.add_parser("interp", help="interpretability: bias alignment, induction heads, single-node specialisation",
                       description="Interpretability of symmetry-breaking attention.")
    modes = q.add_subparsers(dest="mode", required=True, metavar="MODE")

    a = modes.add_parser("alignment", help="cosines of token keys with the mean query bias, per layer and head")
    a.add_argument("--checkpoint", type=Path, required=True, help="a model_*.pt from train-lm --save-models")
    a.add_argument("--top-k", type=int_at_least(1), default=10, help="tokens listed per head (default: 10)")
    a.add_argument("--null", type=int_at_least(20), default=256, help="random null directions (default: 256)")
    a.add_argument("--out", type=Path, default=Path("runs/alignment"))
    a.set_defaults(run=_run_alignment)

    i = modes.add_parser("induction", help="induction heads as a phase transition: AdamW vs ECD, +- b_Q",
                         description="Train 2-layer attention-only GPTs on repeated random tokens; track loss, "
                                     "induction and previous-token scores; detect the transition.")
    i.add_argument("--optimizers", type=_choices(("adamw", "ecd")), default=["adamw", "ecd"], metavar="LIST")
    i.add_argument("--biases", type=_choices(("none", "q")), default=["none", "q"], metavar="LIST",
                   help="comma-separated from none, q (default: both)")
    i.add_argument("--seeds", type=int_at_least(0), nargs="+", default=[0, 1])
    i.add_argument("--steps", type=int_at_least(1), default=3000, help="(default: 3000)")
    i.add_argument("--batch-size", type=int_at_least(1), default=32)
    i.add_argument("--length", type=int_at_least(8), default=32, help="sequence length (default: 32)")
    i.add_argument("--vocab-size", type=int_at_least(2), default=64, help="(default: 64)")
    i.add_argument("--period", type=_period, default=(8, 16), metavar="LO:HI",
                   help="range of the repeat period, 2 HI <= length (default: 8:16)")
    i.add_argument("--n-head", type=int_at_least(1), default=4)
    i.add_argument("--d-model", type=int_at_least(1), default=64)
    i.add_argument("--lr-adamw", type=_positive_float, default=3e-3, help="(default: 3e-3)")
    i.add_argument("--lr-ecd", type=_positive_float, default=1.0, help="(default: 1.0)")
    i.add_argument("--partial-copy", action="store_true",
                   help="repeat only 2..P tokens of the block (default: the whole block)")
    i.add_argument("--measure-every", type=int_at_least(1), default=50)
    i.add_argument("--threads", type=int_at_least(1), metavar="N")
    i.add_argument("--out", type=Path, default=Path("runs/induction"))
    i.add_argument("--quiet", action="store_true")
    i.set_defaults(run=_run_induction)

    s = modes.add_parser("single-node", help="silence all heads of a layer but one: per-token accuracy")
    s.add_argument("--checkpoint", type=Path, required=True, help="a model_*.pt from train-lm --save-models")
    s.add_argument("--layer", type=int_at_least(0), default=0)
    s.add_argument("--windows", type=int_at_least(1), default=256, help="validation windows (default: 256)")
    s.add_argument("--threshold", type=float, default=0.5, help="accuracy defining a head's tokens (default: 0.5)")
    s.add_argument("--out", type=Path, default=Path("runs/single_node"))
    s.set_defaults(run=_run_single_node)


def _period(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(t) for t in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO:HI (e.g. 4:10), got {text!r}") from None
    if not 1 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"need 1 <= LO <= HI, got {text}")
    return lo, hi


def _dump(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, default=lambda x: x.tolist() if hasattr(x, "tolist") else str(x)) + "\n")


def _run_alignment(args: argparse.Namespace) -> int:
    from ..interp.alignment import bias_alignment
    from ..interp.plot import alignment_figure
    from ..lm import load_checkpoint, tokenizer_from_json

    model, tok_json, info = load_checkpoint(args.checkpoint)
    result = bias_alignment(model, tokenizer_from_json(tok_json), k=args.top_k, n_null=args.null,
                            counts=info["extra"].get("counts"))
    args.out.mkdir(parents=True, exist_ok=True)
    rows = result.table(args.top_k)
    _dump(args.out / "alignment.json", {"checkpoint": args.checkpoint.name, "run": info["run"], "heads": rows,
                                        "positional": result.positional,
                                        "enrichment_bottom": result.enrichment_bottom})
    (args.out / "alignment.md").write_text(alignment_markdown(rows))
    print(alignment_figure(result, args.out / "alignment.png"))
    return 0


def alignment_markdown(rows: list[dict[str, Any]], k: int = 5) -> str:
    """The per-head alignment rows as a markdown table."""
    lines = ["| layer | head | mean \\|cos\\| | null (mean, 95%) | top tokens | bottom tokens | punct. × | func. × |",
             "|---|---|---|---|---|---|---|---|"]
    fmt = lambda toks: " ".join(f"`{t!r}`".replace("|", "\\|") for t in toks[:k])  # noqa: E731
    for r in rows:
        lines.append(f"| {r['layer']} | {r['head']} | {r['mean_abs_cos']:.3f} | {r['null_mean_abs_cos']:.3f}, "
                     f"{r['null_q95']:.3f} | {fmt(r['top'])} | {fmt(r['bottom'])} | "
                     f"{r['enrich_top_punctuation']:.1f} | {r['enrich_top_function_word']:.1f} |")
    return "\n".join(lines) + "\n"


def _run_induction(args: argparse.Namespace) -> int:
    import torch

    from ..interp.induction import InductionConfig, summarise_induction, train_induction
    from ..interp.plot import induction_figure

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    lrs = {"adamw": args.lr_adamw, "ecd": args.lr_ecd}
    configs = [InductionConfig(optimizer=o, bias_q=b == "q", seed=s, steps=args.steps, batch_size=args.batch_size,
                               length=args.length, vocab_size=args.vocab_size, period=args.period,
                               full_copy=not args.partial_copy,
                               n_head=args.n_head,
                               d_model=args.d_model, lr=lrs[o], measure_every=args.measure_every)
               for o in args.optimizers for b in args.biases for s in args.seeds]
    progress = Progress(len(configs) * args.steps, None if args.quiet else sys.stderr, lines=len(configs),
                        unit="steps")
    runs = []
    try:
        for n, cfg in enumerate(configs):
            run, _ = train_induction(cfg, on_measure=lambda step: progress.update(n * args.steps + step))
            runs.append(run)
    finally:
        progress.close()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = summarise_induction(runs)
    _dump(args.out / "induction.json", {"runs": [r.to_dict() for r in runs], "summary": rows})
    (args.out / "induction.md").write_text(induction_markdown(rows))
    if not args.quiet:
        print(induction_markdown(rows), file=sys.stderr)
    print(induction_figure(runs, args.out / "induction.png"))
    return 0


def induction_markdown(rows: list[dict[str, Any]]) -> str:
    """The per-configuration induction summary as a markdown table."""
    lines = ["| optimizer | attention | loss transitions | transition step | induction-score transitions | "
             "final loss | best induction score (k = 1) | best shifted induction score | circuit per seed |",
             "|---|---|---|---|---|---|---|---|---|"]

    def fmt(c: dict[str, Any]) -> str:
        if c["shift"] is None:
            return "none"
        lags = ", ".join(f"h{h}: lag {k}" for h, k in sorted(c["lag_heads"].items()))
        return f"k = {c['shift']} ({lags})"

    for r in rows:
        t = "–" if r["transition_mean"] is None else f"{r['transition_mean']:.0f}" + (
            f" ± {r['transition_std']:.0f}" if r["transition_std"] is not None else "")
        loss = f"{r['final_loss_mean']:.3f}" + (f" ± {r['final_loss_std']:.3f}" if r["final_loss_std"] else "")
        lines.append(f"| {'AdamW' if r['optimizer'] == 'adamw' else 'ECD'} | {'b_Q' if r['bias_q'] else 'symmetric'} "
                     f"| {r['transitions']} | {t} | {r['score_transitions']} | {loss} | {r['final_induction_mean']:.2f} | "
                     f"{r['final_shifted_mean']:.2f} | {'; '.join(fmt(c) for c in r['circuits'])} |")
    return "\n".join(lines) + "\n"


def _run_single_node(args: argparse.Namespace) -> int:
    from ..interp.plot import single_node_figure
    from ..interp.single_node import single_node
    from ..lm import TokenData, load_checkpoint, load_documents, split_documents, tokenizer_from_json

    model, tok_json, info = load_checkpoint(args.checkpoint)
    if args.layer >= model.config.n_layer:
        raise ValueError(f"--layer must be < n_layer = {model.config.n_layer}, got {args.layer}")
    corpus = info["extra"].get("corpus", {})
    text = corpus.get("corpus")
    docs = load_documents(None if text in (None, "stdlib-docstrings") else text)
    train, val = split_documents(docs, corpus.get("val_fraction", 0.1))
    # only validation windows are read; one training document is enough to build the TokenData
    data = TokenData.from_documents(tokenizer_from_json(tok_json), train[:1], val)
    T = model.config.block_size
    data.check(T)
    batches = data.val_batches(1, args.windows, T)
    x, y = batches[0]
    result = single_node(model, x, y, layer=args.layer, threshold=args.threshold)
    tok = tokenizer_from_json(tok_json)
    args.out.mkdir(parents=True, exist_ok=True)
    _dump(args.out / "single_node.json", {
        "checkpoint": args.checkpoint.name, "layer": args.layer, "full_accuracy": result.full_accuracy,
        "silent_accuracy": result.silent_accuracy, "head_accuracy": result.head_accuracy,
        "kept": result.kept, "kept_accuracy": result.kept_accuracy, "kept_std": result.kept_std,
        "token_sets": [[tok.token_text(i) for i in s] for s in result.token_sets], "overlap": result.overlap()})
    print(single_node_figure(result, args.out / "single_node.png"))
    return 0
