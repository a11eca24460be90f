"""symbreak.lm: corpus, split, tokenizers, data windows, probes, training loop, results table, CLI."""

import json
import math

import pytest

torch = pytest.importorskip("torch")

from symbreak.cli import main  # noqa: E402
from symbreak.lm import (ByteTokenizer, Document, TokenData, TrainConfig, load_checkpoint,  # noqa: E402
                         save_checkpoint, split_documents, stdlib_docstrings, text_files,
                         tokenizer_from_json, train_bpe, train_lm)
from symbreak.lm.probes import PROBES, Probe, make_probes, probe_accuracy  # noqa: E402
from symbreak.lm.report import markdown, summarise  # noqa: E402
from symbreak.lm.train import RunLog  # noqa: E402

TEXT = ("The quick brown fox jumps over the lazy dog. Return the value of x, or None if it is missing. "
        "Raise ValueError when the argument is negative.\n")


def _docs(n):
    return [Document(f"doc{i:03d}", f"{TEXT} Document number {i}.") for i in range(n)]


# -- corpus ---------------------------------------------------------------------------------------------------
def test_split_is_disjoint_covering_and_order_independent():
    docs = _docs(50)
    train, val = split_documents(docs, 0.2)
    assert len(val) == 10 and len(train) == 40
    assert not {d.name for d in train} & {d.name for d in val}
    assert {d.name for d in train} | {d.name for d in val} == {d.name for d in docs}
    train2, val2 = split_documents(list(reversed(docs)), 0.2)
    assert [d.name for d in val2] == [d.name for d in val]
    # adding a document moves no other one into or out of the (fixed-size-order) validation prefix
    _, val3 = split_documents(docs + [Document("extra", "more text")], 0.2)
    assert len({d.name for d in val} - {d.name for d in val3}) <= 1


@pytest.mark.parametrize("docs, match", [([], "corpus is empty"), (_docs(1), "corpus is empty"),
                                         ([Document("a", "x"), Document("a", "y")], "distinct names"),
                                         ([Document("a", "x"), Document("b", "  ")], "empty documents")])
def test_split_rejects_bad_corpora(docs, match):
    with pytest.raises(ValueError, match=match):
        split_documents(docs)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, float("nan")])
def test_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        split_documents(_docs(5), fraction)


def test_stdlib_docstrings_parses_without_importing(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "test").mkdir()
    long = "A docstring long enough to be kept by the default filter."
    (tmp_path / "a.py").write_text(f'"""{long}"""\nraise SystemExit("imported!")\n'
                                   f'def f():\n    """Function f: {long}"""\n')
    (tmp_path / "pkg" / "b.py").write_text(f'"""{long}"""\nclass C:\n    """short"""\n')  # duplicate + short
    (tmp_path / "test" / "t.py").write_text('"""A test module docstring that must be skipped entirely."""\n')
    (tmp_path / "broken.py").write_text("def (:\n")
    docs = stdlib_docstrings(tmp_path)
    assert [d.name for d in docs] == ["a.py"]  # pkg/b.py only repeats a.py's docstring; test/ skipped
    assert docs[0].text == f"{long}\n\nFunction f: {long}"
    assert stdlib_docstrings(tmp_path) == docs  # deterministic


def test_text_files_dedup_and_missing(tmp_path):
    (tmp_path / "a.txt").write_text("hello world")
    (tmp_path / "b.md").write_text("hello   world\n")  # same text up to whitespace
    (tmp_path / "c.txt").write_text("something else")
    assert [d.name.rsplit("/", 1)[1] for d in text_files([tmp_path])] == ["a.txt", "c.txt"]
    with pytest.raises(ValueError, match="paths"):
        text_files([tmp_path / "nope.txt"])


def test_empty_text_corpus_is_a_clear_error(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    assert main(["train-lm", "--text", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 2


# -- tokenizers -----------------------------------------------------------------------------------------------
ODD = "Grüße,  naïve café — x = f(1)\n\ttab 🚀 end "


def test_byte_tokenizer_round_trip():
    tok = ByteTokenizer()
    assert tok.decode(tok.encode(ODD)) == ODD and max(tok.encode(ODD)) < 256
    assert isinstance(tokenizer_from_json(tok.to_json()), ByteTokenizer)


def test_bpe_round_trips_and_compresses():
    pytest.importorskip("tokenizers")
    tok = train_bpe([TEXT * 20], vocab_size=300)
    assert 257 <= tok.vocab_size <= 300
    for s in (TEXT, ODD, "unseen wörds ∑ 42"):
        assert tok.decode(tok.encode(s)) == s
    assert len(tok.encode(TEXT)) < 0.8 * len(TEXT.encode())  # merges were learned
    again = tokenizer_from_json(tok.to_json())
    assert again.encode(ODD) == tok.encode(ODD)
    assert tok.token_text(tok.encode(" the")[0]) in (" the", " t")


@pytest.mark.parametrize("kwargs, match", [({"vocab_size": 256}, "vocab_size"), ({"min_frequency": 0}, "min_frequency")])
def test_bpe_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_bpe([TEXT], **kwargs)
    with pytest.raises(ValueError, match="texts is empty"):
        train_bpe(["", ""])


# -- data -----------------------------------------------------------------------------------------------------
def test_windows_are_shifted_and_validation_is_fixed():
    data = TokenData(torch.arange(1000), torch.arange(5000, 5300), 6000)
    x, y = data.train_batch(8, 16, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (8, 16) and torch.equal(y, x + 1)
    v1 = data.val_batches(4, 8, 16)
    v2 = data.val_batches(4, 8, 16)
    assert len(v1) == 4 and all(torch.equal(a[0], b[0]) for a, b in zip(v1, v2))
    assert int(v1[-1][1].max()) == 5299  # the windows reach the end of the stream
    with pytest.raises(ValueError, match="block_size"):
        TokenData(torch.arange(10), torch.arange(10), 10).check(16)


# -- probes ---------------------------------------------------------------------------------------------------
class InductionOracle(torch.nn.Module):
    """Predicts the token that followed the most recent earlier occurrence of the current token."""

    def __init__(self, vocab):
        super().__init__()
        self.vocab = vocab
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx):
        B, T = idx.shape
        logits = torch.zeros(B, T, self.vocab)
        for b in range(B):
            for t in range(T):
                for u in range(t - 1, -1, -1):
                    if idx[b, u] == idx[b, t]:
                        logits[b, t, idx[b, u + 1]] = 1.0
                        break
        return logits, None


def test_probes_are_solved_by_induction_and_not_by_a_constant():
    pool = torch.arange(100, 164)
    probes = make_probes(pool, n=16, length=32, seed=3)
    assert set(probes) == set(PROBES)
    for p in probes.values():
        scored = p.targets >= 0
        assert scored.any(1).all() and bool(torch.isin(p.inputs, pool).all())
    assert probe_accuracy(InductionOracle(200), probes) == {name: 1.0 for name in PROBES}
    const = probe_accuracy(InductionOracle(200).eval(), {"x": Probe(probes["copy"].inputs * 0 + 100,
                                                                    probes["copy"].targets)})
    assert const["x"] < 0.2
    near, far = probes["retrieve_near"], probes["retrieve_far"]
    for p, lo in ((near, 24), (far, 0)):  # the queried key sits among the last / first two pairs
        for x in p.inputs:
            pos = int((x[:-1] == x[-1]).nonzero()[0])
            assert pos % 2 == 0 and (pos >= lo if lo else pos <= 2)
    with pytest.raises(ValueError, match="pool"):
        make_probes(torch.arange(5))


# -- training -------------------------------------------------------------------------------------------------
def _tiny_data():
    tok = ByteTokenizer()
    train, val = split_documents(_docs(20), 0.2)
    return tok, TokenData.from_documents(tok, train, val)


TINY = dict(steps=6, batch_size=4, block_size=16, n_layer=1, n_head=2, d_model=16, eval_every=3, val_batches=2)


@pytest.mark.parametrize("optimizer, biases", [("adamw", "none"), ("ecd", "q"), ("sgd", "qv")])
def test_train_lm_runs_logs_and_is_reproducible(optimizer, biases):
    torch.set_num_threads(1)
    _, data = _tiny_data()
    cfg = TrainConfig(optimizer=optimizer, biases=biases, **TINY)
    log, model = train_lm(cfg, data)
    assert log.eval_steps == [0, 3, 6] and len(log.val_loss) == 3 and not log.diverged
    assert all(math.isfinite(v) for v in log.val_loss) and log.val_loss[-1] < log.val_loss[0]
    assert log.tokens_per_s > 0 and log.state_mb > 0 and set(log.probes) == set(PROBES)
    assert model.blocks[0].attn.bias_q == (biases != "none")
    again, _ = train_lm(cfg, data)
    assert again.val_loss == log.val_loss


@pytest.mark.parametrize("kwargs, match", [({"optimizer": "adam"}, "optimizer"), ({"biases": "k"}, "biases"),
                                           ({"steps": 0}, "steps"), ({"lr": -1.0}, "lr"),
                                           ({"momentum": 1.0}, "momentum")])
def test_train_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_checkpoint_round_trip(tmp_path):
    tok, data = _tiny_data()
    log, model = train_lm(TrainConfig(biases="q", **TINY), data)
    save_checkpoint(tmp_path / "m.pt", model, tok.to_json(), log, extra={"counts": [1, 2]})
    loaded, tok_json, info = load_checkpoint(tmp_path / "m.pt")
    x, _ = data.val_batches(1, 2, 16)[0]
    model.eval()
    assert torch.equal(loaded(x)[0], model(x)[0])
    assert info["extra"]["counts"] == [1, 2] and info["run"]["biases"] == "q"
    assert isinstance(tokenizer_from_json(tok_json), ByteTokenizer)


def test_summary_mean_and_std_over_seeds():
    logs = [RunLog(config={"optimizer": "ecd", "biases": "q", "seed": s}, eval_steps=[0, 10],
                   train_loss=[math.nan, v], val_loss=[5.0, v], tokens_per_s=100.0, probes={"copy": 0.5})
            for s, v in enumerate([3.0, 4.0])]
    logs.append(RunLog(config={"optimizer": "ecd", "biases": "q", "seed": 9}, val_loss=[5.0, math.nan],
                       diverged=True))
    (row,) = summarise(logs)
    assert row["val_loss"] == 3.5 and row["val_loss_std"] == pytest.approx(math.sqrt(0.5))
    assert row["diverged"] == 1 and row["seeds"] == [0, 1, 9]
    assert "3.500 ± 0.707" in markdown([row]) and "1 diverged" in markdown([row])


def test_cli_train_lm_writes_table_and_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "text").mkdir()
    for i in range(12):
        (tmp_path / "text" / f"{i}.txt").write_text(f"{TEXT} Text file {i}. " * 3)
    out = tmp_path / "out"
    rc = main(["train-lm", "--text", str(tmp_path / "text"), "--tokenizer", "bytes", "--optimizers", "adamw,ecd",
               "--biases", "none,q", "--seeds", "0", "--steps", "4", "--batch-size", "2", "--block-size", "16",
               "--n-layer", "1", "--n-head", "2", "--d-model", "16", "--eval-every", "2", "--val-batches", "2",
               "--save-models", "--out", str(out), "--quiet", "--threads", "1"])
    assert rc == 0
    assert capsys.readouterr().out.strip() == str(out / "loss_curves.png")
    assert (out / "loss_curves.png").stat().st_size > 10_000
    runs = json.loads((out / "runs.json").read_text())
    assert len(runs["runs"]) == 4 and runs["meta"]["tokenizer"] == "bytes"
    assert (out / "summary.md").read_text().count("\n") == 6 and (out / "summary.csv").exists()
    assert (out / "model_ecd_q_seed0.pt").exists()
    assert main(["train-lm", "--optimizers", "adam", "--out", str(out)]) == 2
