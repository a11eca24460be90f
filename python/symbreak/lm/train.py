"""Training a :class:`symbreak.nn.GPT` on a token stream with AdamW, ECD or SGD with momentum, with and without
the fixed symmetry-breaking biases; logs, a results table and checkpoints.

Example::

    docs = stdlib_docstrings()
    train, val = split_documents(docs)
    tok = train_bpe([d.text for d in train], 512)
    data = TokenData.from_documents(tok, train, val)
    run = train_lm(TrainConfig(optimizer="ecd", biases="q", seed=0), data)
    print(run.val_loss[-1], run.tokens_per_s)
"""

from __future__ import annotations

import dataclasses
import math
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import nn

from .._validate import require_choice, require_finite, require_int, require_positive
from ..nn import GPT, GPTConfig
from ..optim import ECD
from .data import TokenData
from .probes import make_probes, probe_accuracy, frequent_tokens

OPTIMIZERS = ("adamw", "ecd", "sgd")
BIASES = {"none": (False, False), "q": (True, False), "qv": (True, True)}
"""Bias settings by name: (bias_q, bias_v)."""
BIAS_LABELS = {"none": "symmetric", "q": "b_Q", "qv": "b_Q + b_V"}

DEFAULT_LR = {"adamw": 1e-3, "ecd": 1.0, "sgd": 0.1}
"""Learning rates (ECD: the paper's lr = 1 with eta = 100); tuned only roughly on the CPU configuration."""


@dataclass
class TrainConfig:
    """One training run. Model shape (``n_layer``, ``n_head``, ``d_model``, ``block_size``, ``mlp``,
    ``attn_only``), optimizer and its settings, bias setting, schedule of evaluations, seed and device.

    ``lr`` None picks :data:`DEFAULT_LR`. ECD uses ``eta`` and ``F0`` (the loss offset: below the loss the run
    will reach); SGD uses ``momentum``; AdamW uses ``weight_decay`` (ECD and SGD use none). The seed fixes the
    initialisation, the order of training batches and the bias draws, so runs that differ only in optimizer
    or biases see the same data and start from the same weights.
    """

    optimizer: str = "adamw"
    biases: str = "none"
    seed: int = 0
    steps: int = 400
    batch_size: int = 16
    block_size: int = 64
    n_layer: int = 3
    n_head: int = 4
    d_model: int = 96
    mlp: str = "gelu"
    attn_only: bool = False
    lr: float | None = None
    eta: float = 100.0
    F0: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 0.0
    eval_every: int = 50
    val_batches: int = 16
    device: str = "cpu"

    def __post_init__(self) -> None:
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_choice("biases", self.biases, tuple(BIASES))
        require_int("seed", self.seed, 0)
        for name in ("steps", "batch_size", "block_size", "eval_every", "val_batches"):
            require_int(name, getattr(self, name), 1)
        if self.lr is not None:
            require_positive("lr", self.lr)
        require_positive("eta", self.eta)
        require_finite("F0", self.F0)
        if not 0.0 <= require_finite("momentum", self.momentum) < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if require_finite("weight_decay", self.weight_decay) < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")

    def model_config(self, vocab_size: int) -> GPTConfig:
        bias_q, bias_v = BIASES[self.biases]
        return GPTConfig(vocab_size=vocab_size, block_size=self.block_size, n_layer=self.n_layer,
                         n_head=self.n_head, d_model=self.d_model, mlp=self.mlp, attn_only=self.attn_only,
                         bias_q=bias_q, bias_v=bias_v, seed=self.seed)


@dataclass
class RunLog:
    """What one run measured. Losses are mean cross-entropies in nats per token; ``train_loss`` at step s is
    the mean of the training losses since the previous evaluation; ``val_loss`` is averaged over the fixed
    validation batches. ``state_mb``: parameters + gradients + optimizer state; ``peak_memory_mb``: the
    process's peak RSS on the CPU (a high-water mark of the whole process, so an upper bound for one run) or
    ``torch.cuda.max_memory_allocated`` on a GPU."""

    config: dict[str, Any]
    eval_steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    tokens_per_s: float = 0.0
    train_seconds: float = 0.0
    state_mb: float = 0.0
    peak_memory_mb: float = 0.0
    probes: dict[str, float] = field(default_factory=dict)
    diverged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def make_optimizer(cfg: TrainConfig, params: Sequence[nn.Parameter]) -> torch.optim.Optimizer:
    lr = cfg.lr if cfg.lr is not None else DEFAULT_LR[cfg.optimizer]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum)
    return ECD(params, lr=lr, eta=cfg.eta, F0=cfg.F0, seed=cfg.seed)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Sequence[tuple[torch.Tensor, torch.Tensor]], device: str) -> float:
    """Mean loss of ``model`` (eval mode: biases at their means) over ``batches``; restores the mode."""
    was_training = model.training
    model.eval()
    try:
        total = sum(float(model(x.to(device), y.to(device))[1]) for x, y in batches)
    finally:
        model.train(was_training)
    return total / len(batches)


def train_lm(cfg: TrainConfig, data: TokenData, *, probe_pool: torch.Tensor | None = None,
             on_step: Callable[[int], None] | None = None) -> tuple[RunLog, GPT]:
    """Train one model; returns its log and the trained model.

    Evaluates every ``eval_every`` steps and at the end; the probes (:mod:`symbreak.lm.probes`, tokens from
    ``probe_pool``, default the 256 most frequent training tokens after the top 16) run once at the end. A
    non-finite training loss stops the run (``diverged``). ``on_step(step)`` is called after every step.
    """
    data.check(cfg.block_size)
    device = cfg.device
    model = GPT(cfg.model_config(data.vocab_size)).to(device)
    opt = make_optimizer(cfg, list(model.parameters()))
    gen = torch.Generator().manual_seed(cfg.seed)
    val = data.val_batches(cfg.val_batches, cfg.batch_size, cfg.block_size)
    log = RunLog(config=dataclasses.asdict(cfg))
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)

    def record(step: int, window: list[float]) -> None:
        log.eval_steps.append(step)
        log.train_loss.append(sum(window) / len(window) if window else math.nan)
        log.val_loss.append(evaluate(model, val, device))

    record(0, [])
    window: list[float] = []
    seconds = 0.0
    for step in range(1, cfg.steps + 1):
        x, y = data.train_batch(cfg.batch_size, cfg.block_size, gen)
        t = time.perf_counter()
        x, y = x.to(device), y.to(device)
        opt.zero_grad(set_to_none=True)
        _, loss = model(x, y)
        loss.backward()
        if cfg.optimizer == "ecd":
            opt.step(loss=loss.detach())
        else:
            opt.step()
        value = float(loss.detach())  # synchronises on a GPU, so the timing below is honest
        seconds += time.perf_counter() - t
        window.append(value)
        if not math.isfinite(value):
            log.diverged = True
            break
        if step % cfg.eval_every == 0 or step == cfg.steps:
            record(step, window)
            window = []
        if on_step is not None:
            on_step(step)
    steps_done = step
    log.train_seconds = seconds
    log.tokens_per_s = steps_done * cfg.batch_size * cfg.block_size / seconds if seconds > 0 else 0.0
    log.state_mb = _state_bytes(model, opt) / 2**20
    log.peak_memory_mb = (torch.cuda.max_memory_allocated(device) / 2**20 if cuda else _peak_rss_mb())
    if not log.diverged:
        pool = probe_pool if probe_pool is not None else frequent_tokens(data.train, 256, skip=16)
        log.probes = probe_accuracy(model, make_probes(pool, n=64, length=min(32, cfg.block_size), seed=1234))
    return log, model


def _state_bytes(model: nn.Module, opt: torch.optim.Optimizer) -> int:
    params = list(model.parameters())
    n = sum(p.numel() * p.element_size() * (2 if p.grad is not None else 1) for p in params)
    for state in opt.state.values():
        n += sum(v.numel() * v.element_size() for v in state.values() if isinstance(v, torch.Tensor))
    return n


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def save_checkpoint(path, model: GPT, tokenizer_json: str, log: RunLog, extra: dict[str, Any] | None = None) -> None:
    """Save model weights, its GPTConfig, the tokenizer (JSON), the run's config and ``extra`` (e.g. the
    corpus description and training-token counts) in one file."""
    torch.save({"gpt_config": dataclasses.asdict(model.config), "state_dict": model.state_dict(),
                "tokenizer": tokenizer_json, "run": log.config, "extra": extra or {}}, path)


def load_checkpoint(path, device: str = "cpu") -> tuple[GPT, str, dict[str, Any]]:
    """(model in eval mode, tokenizer JSON, {"run": run config, "extra": ...}) from :func:`save_checkpoint`."""
    ckpt = torch.load(path, map_location=device, weights_only=True)
    for key in ("gpt_config", "state_dict", "tokenizer"):
        if key not in ckpt:
            raise ValueError(f"checkpoint {str(path)!r} lacks {key!r}: not written by symbreak train-lm")
    model = GPT(GPTConfig(**ckpt["gpt_config"])).to(device)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt["tokenizer"], {"run": ckpt.get("run", {}), "extra": ckpt.get("extra", {})}
