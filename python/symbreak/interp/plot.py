"""Figures of the language-model experiment and of the interpretability tools (matplotlib, imported lazily).
Each function writes a PNG and returns its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..plot import _pyplot

_COLOURS = {"none": "tab:gray", "q": "tab:blue", "qv": "tab:orange"}


def lm_loss_figure(logs: Sequence[Any], path: str | Path) -> Path:
    """Validation loss against step, one panel per optimizer, one colour per bias setting: the mean over
    seeds, with a band from the lowest to the highest seed. ``logs``: :class:`symbreak.lm.train.RunLog`."""
    from ..lm.train import BIAS_LABELS

    plt = _pyplot()
    opts = list(dict.fromkeys(log.config["optimizer"] for log in logs))
    fig, axes = plt.subplots(1, len(opts), figsize=(4.2 * len(opts), 3.4), sharey=True, squeeze=False)
    for ax, opt in zip(axes[0], opts):
        for biases in BIAS_LABELS:
            runs = [log for log in logs if log.config["optimizer"] == opt and log.config["biases"] == biases
                    and not log.diverged]
            if not runs:
                continue
            n = min(len(r.val_loss) for r in runs)
            steps = np.asarray(runs[0].eval_steps[:n])
            curves = np.array([r.val_loss[:n] for r in runs])
            ax.plot(steps, curves.mean(0), color=_COLOURS[biases],
                    label=f"{BIAS_LABELS[biases]} ({len(runs)} seeds)")
            ax.fill_between(steps, curves.min(0), curves.max(0), color=_COLOURS[biases], alpha=0.2, lw=0)
        ax.set_title({"adamw": "AdamW", "ecd": "ECD", "sgd": "SGD + momentum"}.get(opt, opt))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("validation loss (nats/token)")
    fig.tight_layout()
    return _save(fig, path)


def induction_figure(runs: Sequence[Any], path: str | Path) -> Path:
    """Induction heads as a phase transition. (a) loss on the predictable tokens (dotted: the detected drop)
    and (b) best layer-1 shifted induction score against step, every run, coloured by optimizer and bias;
    (c) the final best lag score of each layer-0 head, annotated with its lag, one row per run: which heads
    took which lag; (d) steps of the loss drop per configuration. ``runs``: :class:`symbreak.interp.induction.InductionRun`."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.6), gridspec_kw={"width_ratios": [1.2, 1.2, 0.9, 0.9]})
    keys = list(dict.fromkeys((r.config["optimizer"], r.config["bias_q"]) for r in runs))
    colours = dict(zip(keys, ["tab:gray", "tab:blue", "tab:red", "tab:orange", "tab:green", "tab:purple"]))

    def name(key: tuple[str, bool]) -> str:
        return f"{'AdamW' if key[0] == 'adamw' else 'ECD'}{' + b_Q' if key[1] else ''}"

    for key in keys:
        for i, r in enumerate(x for x in runs if (x.config["optimizer"], x.config["bias_q"]) == key):
            label = name(key) if i == 0 else None
            axes[0].plot(r.steps, r.loss, color=colours[key], alpha=0.7, lw=1, label=label)
            axes[1].plot(r.steps, np.max(r.shifted, axis=1), color=colours[key], alpha=0.7, lw=1, label=label)
            if r.loss_transition is not None:
                axes[0].axvline(r.loss_transition, color=colours[key], alpha=0.4, lw=0.8, ls=":")
    axes[0].set(xlabel="step", ylabel="loss on repeated tokens", title="(a) loss")
    axes[1].set(xlabel="step", ylabel="max shifted induction score (layer 1)", title="(b) induction score",
                ylim=(0, 1))
    for ax in axes[:2]:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    prev = np.array([r.lag_score[-1] for r in runs])
    im = axes[2].imshow(prev, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    for i, r in enumerate(runs):
        for h, k in enumerate(r.lag[-1]):
            axes[2].text(h, i, str(k), ha="center", va="center", fontsize=7,
                         color="k" if prev[i, h] > 0.6 else "w")
    axes[2].set_yticks(range(len(runs)), [f"{name((r.config['optimizer'], r.config['bias_q']))} s{r.config['seed']}"
                                         for r in runs], fontsize=7)
    axes[2].set(xlabel="layer-0 head", title="(c) best lag score (number: lag)")
    axes[2].set_xticks(range(prev.shape[1]))
    fig.colorbar(im, ax=axes[2], fraction=0.05)
    for j, key in enumerate(keys):
        t = [r.loss_transition for r in runs if (r.config["optimizer"], r.config["bias_q"]) == key]
        found = [x for x in t if x is not None]
        axes[3].scatter([j] * len(found), found, color=colours[key], zorder=3)
        if found:
            axes[3].errorbar(j + 0.15, np.mean(found), yerr=np.std(found, ddof=1) if len(found) > 1 else 0,
                             fmt="_", color="k", capsize=4)
        axes[3].annotate(f"{len(found)}/{len(t)}", (j, 0), textcoords="offset points", xytext=(0, 4),
                         ha="center", fontsize=8)
    axes[3].set_xticks(range(len(keys)), [name(k) for k in keys], rotation=20, fontsize=8)
    axes[3].set(ylabel="step of the loss drop", title="(d) time to transition")
    axes[3].set_ylim(0, max(r.steps[-1] for r in runs))  # the run length: an empty panel still has a scale
    axes[3].grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def alignment_figure(alignment: Any, path: str | Path, k: int = 8) -> Path:
    """Bias alignment of one model. (a) mean |cos(key, mean b_Q)| per layer and head against the null
    level (95th percentile over random directions); (b) positional alignment heat map; (c) cosine of every
    token, sorted, per head, with the top-k tokens of the most aligned head labelled. ``alignment``:
    :class:`symbreak.interp.alignment.Alignment`."""
    plt = _pyplot()
    L, H, V = alignment.cos.shape
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    x = np.arange(L * H)
    axes[0].bar(x, alignment.mean_abs.ravel(), color="tab:blue", label="mean b_Q")
    axes[0].plot(x, alignment.null_q95.ravel(), "k_", ms=14, mew=2, label="random directions, 95%")
    axes[0].set_xticks(x, [f"L{l}H{h}" for l in range(L) for h in range(H)], rotation=90, fontsize=7)
    axes[0].set(ylabel="mean |cos| over tokens", title="(a) token keys vs mean b_Q")
    axes[0].legend(fontsize=8)
    pos = alignment.positional.reshape(L * H, -1)
    lim = float(np.abs(pos).max()) or 1.0
    im = axes[1].imshow(pos, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[1].set_yticks(x, [f"L{l}H{h}" for l in range(L) for h in range(H)], fontsize=7)
    axes[1].set(xlabel="position", title="(b) cos(position key, mean b_Q)")
    fig.colorbar(im, ax=axes[1], fraction=0.04)
    best = np.unravel_index(np.argmax(alignment.mean_abs), (L, H))
    for l in range(L):
        for h in range(H):
            c = np.sort(alignment.cos[l, h])[::-1]
            axes[2].plot(c, lw=2 if (l, h) == best else 0.8, alpha=1 if (l, h) == best else 0.4)
    top = alignment.top[best[0]][best[1]][:k]
    axes[2].set(xlabel="token rank", ylabel="cos(key, mean b_Q)",
                title=f"(c) sorted cosines; top of L{best[0]}H{best[1]}:")
    axes[2].text(0.98, 0.97, "\n".join(repr(alignment.texts[i]) for i in top), transform=axes[2].transAxes,
                 ha="right", va="top", fontsize=7, family="monospace")
    axes[2].grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def single_node_figure(result: Any, path: str | Path) -> Path:
    """Single-node specialisation of one layer. (a) accuracy against the number of heads kept (mean ± std
    over random subsets), with the full and the silenced layer; (b) accuracy of each head alone and the size
    of its token set. ``result``: :class:`symbreak.interp.single_node.SingleNodeResult`."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    axes[0].errorbar(result.kept, result.kept_accuracy, yerr=result.kept_std, marker="o", capsize=3)
    axes[0].axhline(result.full_accuracy, color="k", ls=":", label="all heads")
    axes[0].axhline(result.silent_accuracy, color="tab:red", ls=":", label="layer silenced")
    axes[0].set(xlabel="heads kept", ylabel="top-1 accuracy", title=f"(a) layer {result.layer}")
    axes[0].legend(fontsize=8)
    axes[0].grid(alpha=0.3)
    H = len(result.head_accuracy)
    axes[1].bar(np.arange(H), result.head_accuracy, color="tab:blue")
    for h, s in enumerate(result.token_sets):
        axes[1].annotate(f"{len(s)} tok", (h, result.head_accuracy[h]), ha="center", va="bottom", fontsize=8)
    axes[1].set(xlabel="head kept alone", ylabel="top-1 accuracy", title="(b) one head: accuracy, token set")
    axes[1].set_xticks(range(H))
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
