"""symbreak.interp: attention patterns, head silencing, induction scores and transition detection, bias
alignment, single-node specialisation, figures and CLI."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from symbreak.cli import main  # noqa: E402
from symbreak.interp.alignment import bias_alignment, token_classes  # noqa: E402
from symbreak.interp.heads import attention_patterns, keep_heads  # noqa: E402
from symbreak.interp.induction import (InductionConfig, circuit, induction_score, induction_scores,  # noqa: E402
                                       lag_scores, previous_token_score, repeated_sequences, train_induction,
                                       transition_step)
from symbreak.interp.single_node import per_token_accuracy, single_node  # noqa: E402
from symbreak.lm import ByteTokenizer  # noqa: E402
from symbreak.nn import GPT, GPTConfig  # noqa: E402


def _model(**kw):
    cfg = dict(vocab_size=40, block_size=24, n_layer=2, n_head=4, d_model=32, bias_q=True, seed=3)
    cfg.update(kw)
    model = GPT(GPTConfig(**cfg))
    with torch.no_grad():  # a "trained-looking" model: weights far from the near-uniform initialisation
        gen = torch.Generator().manual_seed(cfg["seed"])
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen))
    return model.eval()


# -- attention patterns and silencing -------------------------------------------------------------------------
@pytest.mark.parametrize("attn_only", [False, True])
def test_attention_patterns_reproduce_the_layer_output(attn_only):
    model = _model(attn_only=attn_only)
    idx = torch.randint(0, 40, (3, 20), generator=torch.Generator().manual_seed(0))
    pats = attention_patterns(model, idx)
    assert len(pats) == 2 and pats[0].shape == (3, 4, 20, 20)
    assert torch.allclose(pats[1].sum(-1), torch.ones(3, 4, 20))
    assert float(pats[1].triu(1).abs().max()) == 0.0  # causal
    attn = model.blocks[0].attn
    x = model.blocks[0].ln_1(model.wte(idx) + model.wpe(torch.arange(20)))
    _, _, v = attn.heads(x)
    y = (pats[0] @ v).transpose(1, 2).reshape(3, 20, 32)
    assert torch.allclose(F.linear(y, attn.proj.weight, attn.proj.bias), attn(x), atol=1e-5)


def test_keeping_one_head_equals_zeroing_the_others_outputs():
    model = _model(bias_v=True)
    attn = model.blocks[1].attn
    x = torch.randn(2, 10, 32, generator=torch.Generator().manual_seed(1))
    q, k, v = attn.heads(x, attn.q_mean)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2) + attn.v_mean  # (B, T, H, d)
    y[:, :, [0, 1, 3]] = 0.0  # silence every head but head 2, b_V included
    expected = F.linear(y.reshape(2, 10, 32), attn.proj.weight, attn.proj.bias)
    before = attn.proj.weight.clone()
    with keep_heads(model, 1, [2]):
        assert torch.allclose(attn(x), expected, atol=1e-5)
    assert torch.equal(attn.proj.weight, before)  # restored
    with pytest.raises(RuntimeError), keep_heads(model, 1, []):
        raise RuntimeError("restored even on error")
    assert torch.equal(attn.proj.weight, before)


@pytest.mark.parametrize("layer, heads, match", [(2, [0], "layer"), (0, [4], "heads"), (-1, [0], "layer")])
def test_keep_heads_rejects_bad_indices(layer, heads, match):
    with pytest.raises(ValueError, match=match):
        with keep_heads(_model(), layer, heads):
            pass
    with pytest.raises(ValueError, match="symbreak.nn.GPT"):
        attention_patterns(torch.nn.Linear(2, 2), torch.zeros(1, 2, dtype=torch.long))


# -- induction ------------------------------------------------------------------------------------------------
def test_repeated_sequences_copy_one_segment():
    ids, P, S, L = repeated_sequences(64, 30, 50, (3, 9), torch.Generator().manual_seed(0))
    assert ids.shape == (64, 30) and int(P.min()) >= 3 and int(P.max()) <= 9
    for x, p, s, n in zip(ids, P.tolist(), S.tolist(), L.tolist()):
        assert 2 <= n <= p and s + p + n <= 30
        assert torch.equal(x[s + p:s + p + n], x[s:s + n])
    with pytest.raises(ValueError, match="period"):
        repeated_sequences(2, 10, 5, (3, 6))


def _perfect_patterns(P, S, L, T, kind, k=1):
    """Hand-built attention: induction with shift k (t -> t - P + k inside the copy), lag k (t -> t - k), or
    uniform."""
    B = len(P)
    pats = torch.zeros(B, 1, T, T)
    for b in range(B):
        p, s, n = int(P[b]), int(S[b]), int(L[b])
        for t in range(T):
            if kind == "uniform":
                pats[b, 0, t, : t + 1] = 1.0 / (t + 1)
            elif kind == "previous":
                pats[b, 0, t, max(t - k, 0)] = 1.0
            else:
                pats[b, 0, t, t - p + k if s + p <= t <= s + p + n - 2 else t] = 1.0
    return pats


def test_lag_and_shifted_induction_scores_pick_the_hand_built_offset():
    ids, P, S, L = repeated_sequences(16, 32, 64, (6, 12), torch.Generator().manual_seed(3))
    for k in (1, 3, 6):
        lag = lag_scores(_perfect_patterns(P, S, L, 32, "previous", k), 12)
        shifted = induction_scores(_perfect_patterns(P, S, L, 32, "induction", k), P, S, L, 6)
        assert lag.shape == (1, 12) and shifted.shape == (1, 6)
        assert int(lag.argmax()) == k - 1 and float(lag[0, k - 1]) == pytest.approx(1.0)
        assert int(shifted.argmax()) == k - 1 and float(shifted[0, k - 1]) == pytest.approx(1.0)
        assert float(shifted[0].sort().values[-2]) < 0.2  # other shifts: only coincidental overlaps
    assert torch.equal(lag_scores(_perfect_patterns(P, S, L, 32, "previous"), 1)[:, 0],
                       previous_token_score(_perfect_patterns(P, S, L, 32, "previous")))
    with pytest.raises(ValueError, match="max_lag"):
        lag_scores(_perfect_patterns(P, S, L, 32, "previous"), 32)


def test_induction_and_previous_token_scores_of_hand_built_heads():
    ids, P, S, L = repeated_sequences(16, 32, 64, (4, 10), torch.Generator().manual_seed(2))
    induction = _perfect_patterns(P, S, L, 32, "induction")
    previous = _perfect_patterns(P, S, L, 32, "previous")
    uniform = _perfect_patterns(P, S, L, 32, "uniform")
    assert float(induction_score(induction, P, S, L)) == pytest.approx(1.0)
    assert float(previous_token_score(previous)) == pytest.approx(1.0)
    assert float(induction_score(previous, P, S, L)) < 0.05  # P >= 4: the previous token is never the target
    assert float(previous_token_score(induction)) < 0.1
    assert 0.02 < float(induction_score(uniform, P, S, L)) < 0.15  # ~ 1 / t
    with pytest.raises(ValueError, match="periods"):
        induction_score(induction, P[:3], S, L)
    with pytest.raises(ValueError, match="patterns"):
        previous_token_score(torch.zeros(4, 4))


def test_random_model_has_low_induction_score():
    cfg = InductionConfig(vocab_size=64, length=32)
    model = GPT(cfg.model_config()).eval()
    ids, P, S, L = repeated_sequences(32, 32, 64, cfg.period, torch.Generator().manual_seed(4))
    pats = attention_patterns(model, ids)
    assert float(induction_score(pats[1], P, S, L).max()) < 0.2
    assert float(previous_token_score(pats[0]).max()) < 0.3


def test_transition_step_finds_a_sigmoid_step():
    rng = np.random.default_rng(0)
    steps = np.arange(0, 3000, 25)
    curve = 0.1 + 0.8 / (1 + np.exp(-(steps - 1700) / 60)) + 0.02 * rng.standard_normal(len(steps))
    assert transition_step(steps, curve) == pytest.approx(1700, abs=40)
    loss = 3.0 - 2.5 / (1 + np.exp(-(steps - 900) / 40))
    assert transition_step(steps, loss, rising=False) == pytest.approx(900, abs=30)
    assert transition_step(steps, 0.1 + 0.02 * rng.standard_normal(len(steps))) is None  # no jump
    assert transition_step(steps, curve[::-1]) is None  # falls instead of rising
    with pytest.raises(ValueError, match="steps and values"):
        transition_step([0, 1, 2], [0, 1, 2])


def test_train_induction_tracks_every_head():
    torch.set_num_threads(1)
    cfg = InductionConfig(steps=20, measure_every=5, batch_size=8, vocab_size=16, length=16, period=(2, 6),
                          d_model=16, n_head=2, eval_size=16, optimizer="ecd", bias_q=True)
    run, model = train_induction(cfg)
    assert run.steps == [0, 5, 10, 15, 20]
    assert np.shape(run.induction) == (5, 2) and np.shape(run.previous) == (5, 2)
    assert np.shape(run.shifted) == (5, 2) and np.shape(run.lag) == (5, 2)
    assert all(1 <= k <= 2 for k in run.shift[-1]) and all(1 <= k <= 6 for k in run.lag[-1])
    assert np.all(np.asarray(run.shifted) >= np.asarray(run.induction))  # k = 1 is one of the shifts
    c = circuit(run, threshold=0.0)
    assert c["shift"] in (1, 2) and all(k in (c["shift"], c["shift"] - 1) for k in c["lag_heads"].values())
    assert circuit(run, threshold=1.0) == {"lag_heads": {}, "shift": None, "score": max(run.shifted[-1])}
    assert all(math.isfinite(v) for v in run.loss) and run.prev_head in (0, 1)
    assert model.blocks[0].mlp is None and model.blocks[0].attn.bias_q
    with pytest.raises(ValueError, match="optimizer"):
        InductionConfig(optimizer="sgd")


# -- bias alignment -------------------------------------------------------------------------------------------
def test_bias_alignment_matches_a_direct_computation():
    model = _model(vocab_size=256, bias_v=True)
    model.blocks[1].attn.set_biases(q_mean=torch.linspace(-1, 1, 8))
    res = bias_alignment(model, ByteTokenizer(), k=5, n_null=64)
    assert res.cos.shape == (2, 4, 256) and res.positional.shape == (2, 4, 24)
    layer, head, tok = 1, 3, ord("e")
    attn = model.blocks[layer].attn
    x = model.blocks[layer].ln_1(model.wte.weight[tok])
    key = (attn.qkv.weight[32:64] @ x)[head * 8:(head + 1) * 8]
    direct = float(F.cosine_similarity(key.detach(), torch.linspace(-1, 1, 8), dim=0))
    assert res.cos[layer, head, tok] == pytest.approx(direct, abs=1e-5)
    assert res.cos[layer, head, res.top[layer][head][0]] == pytest.approx(res.cos[layer, head].max())
    assert res.cos[layer, head, res.bottom[layer][head][0]] == pytest.approx(res.cos[layer, head].min())
    # random directions in d_head = 8: mean |cos| near E|cos| = 0.26 for isotropic keys
    assert 0.1 < float(res.null_mean_abs.mean()) < 0.5 and (res.null_q95 >= res.null_mean_abs).all()
    rows = res.table(3)
    assert len(rows) == 8 and len(rows[0]["top"]) == 3


def test_alignment_detects_a_planted_direction_and_enrichment():
    model = _model(vocab_size=256)
    attn = model.blocks[0].attn
    digits = [ord(c) for c in "0123456789"]
    with torch.no_grad():  # make layer 0 keys of the digits point along mean b_Q = 0.5 (1, ..., 1)
        model.blocks[0].ln_1.weight.fill_(1.0)
        model.blocks[0].ln_1.bias.zero_()
        w_k = attn.qkv.weight[32:64]
        w_k.zero_()
        w_k[:, 0] = 1.0
        model.wte.weight[:, 0] = -1.0
        model.wte.weight[digits, 0] = 30.0
    res = bias_alignment(model, ByteTokenizer(), k=10, n_null=64)
    assert sorted(res.top[0][0]) == sorted(digits)
    assert res.enrichment_top["digit"][0, 0] == pytest.approx(25.6)  # 10/10 in the top vs 10/256 overall
    assert res.mean_abs[0, 0] > res.null_q95[0, 0]


def test_token_classes():
    cls = token_classes([" the", ",", "42", " Python", "xyz", "!?"], counts=[100, 90, 1, 50, 2, 80])
    assert cls["function_word"].tolist() == [True, False, False, False, False, False]
    assert cls["punctuation"].tolist() == [False, True, False, False, False, True]
    assert cls["digit"][2] and cls["capitalised"][3] and cls["rare"].tolist() == [False] * 2 + [True, False, True, False]
    with pytest.raises(ValueError, match="counts"):
        token_classes(["a"], counts=[1, 2])


def test_bias_alignment_rejects_bad_arguments():
    with pytest.raises(ValueError, match="k must be"):
        bias_alignment(_model(vocab_size=256), ByteTokenizer(), k=0)
    with pytest.raises(ValueError, match="n_null"):
        bias_alignment(_model(vocab_size=256), ByteTokenizer(), n_null=3)
    with pytest.raises(ValueError, match="symbreak.nn.GPT"):
        bias_alignment(torch.nn.Linear(2, 2), ByteTokenizer())


# -- single node ----------------------------------------------------------------------------------------------
def test_single_node_accuracies_are_consistent():
    model = _model()
    gen = torch.Generator().manual_seed(5)
    x = torch.randint(0, 40, (24, 24), generator=gen)
    y = torch.roll(x, -1, dims=1)
    y[:, -1] = -1
    hits, counts = per_token_accuracy(model, x, y)
    assert int(counts.sum()) == 24 * 23
    logits, _ = model(x)
    assert int(hits.sum()) == int((logits.argmax(-1) == y)[y >= 0].sum())
    res = single_node(model, x, y, layer=1, subsets=3, min_count=1)
    H = 4
    assert res.head_token_accuracy.shape == (H, 40) and len(res.token_sets) == H
    assert res.kept_accuracy[-1] == pytest.approx(res.full_accuracy)  # all heads kept
    assert res.kept_accuracy[0] == pytest.approx(res.silent_accuracy)  # none kept
    for h in range(H):
        with keep_heads(model, 1, [h]):
            assert res.head_accuracy[h] == pytest.approx(int(per_token_accuracy(model, x, y)[0].sum()) / (24 * 23))
        seen = res.counts >= 1
        assert all(seen[t] and res.head_token_accuracy[h, t] >= 0.5 for t in res.token_sets[h])
    with pytest.raises(ValueError, match="threshold"):
        single_node(model, x, y, threshold=0.0)


# -- figures and CLI ------------------------------------------------------------------------------------------
def test_cli_interp_modes(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    torch.set_num_threads(1)
    out = tmp_path / "ind"
    rc = main(["interp", "induction", "--steps", "10", "--measure-every", "5", "--seeds", "0", "1",
               "--batch-size", "4", "--length", "16", "--vocab-size", "8", "--period", "2:6", "--d-model", "16", "--n-head", "2",
               "--out", str(out), "--quiet", "--threads", "1"])
    assert rc == 0 and capsys.readouterr().out.strip() == str(out / "induction.png")
    data = json.loads((out / "induction.json").read_text())
    assert len(data["runs"]) == 8 and len(data["summary"]) == 4
    assert (out / "induction.png").stat().st_size > 10_000

    (tmp_path / "text").mkdir()
    for i in range(10):
        (tmp_path / "text" / f"{i}.txt").write_text(f"Some text, number {i}; with words and THE digits 12{i}. " * 4)
    lm = tmp_path / "lm"
    assert main(["train-lm", "--text", str(tmp_path / "text"), "--tokenizer", "bytes", "--optimizers", "ecd",
                 "--biases", "q", "--seeds", "0", "--steps", "3", "--batch-size", "2", "--block-size", "16",
                 "--n-layer", "1", "--n-head", "2", "--d-model", "16", "--eval-every", "3", "--val-batches", "1",
                 "--save-models", "--out", str(lm), "--quiet"]) == 0
    ckpt = str(lm / "model_ecd_q_seed0.pt")
    capsys.readouterr()
    assert main(["interp", "alignment", "--checkpoint", ckpt, "--null", "32", "--out", str(tmp_path / "al")]) == 0
    rows = json.loads((tmp_path / "al" / "alignment.json").read_text())["heads"]
    assert len(rows) == 2 and len(rows[0]["top"]) == 10
    assert "| 0 | 1 |" in (tmp_path / "al" / "alignment.md").read_text()
    assert (tmp_path / "al" / "alignment.png").stat().st_size > 10_000
    assert main(["interp", "single-node", "--checkpoint", ckpt, "--windows", "8", "--out",
                 str(tmp_path / "sn")]) == 0
    sn = json.loads((tmp_path / "sn" / "single_node.json").read_text())
    assert len(sn["head_accuracy"]) == 2 and len(sn["kept_accuracy"]) == 3
    assert (tmp_path / "sn" / "single_node.png").stat().st_size > 10_000
    assert main(["interp", "single-node", "--checkpoint", ckpt, "--layer", "3", "--out", str(tmp_path)]) == 2
    assert main(["interp", "alignment", "--checkpoint", str(tmp_path / "missing.pt")]) == 2


def _induction_circuit(V=32, T=24, sharp=40.0):
    """A 2-layer, 1-head attention-only GPT wired by hand: layer 0 copies the previous token into its own
    subspace (a previous-token head), layer 1 attends from token a to the positions whose previous token
    is a (an induction head). Residual stream: [token one-hot | position one-hot | previous-token one-hot]."""
    C = 2 * V + T
    model = GPT(GPTConfig(vocab_size=V, block_size=T, n_layer=2, n_head=1, d_model=C, attn_only=True,
                          bias_q=False))
    tok, pos, prev = range(V), range(V, V + T), range(V + T, C)
    alpha = sharp * math.sqrt(C)  # beats SDPA's 1 / sqrt(d_head)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.wte.weight[:, :V] = torch.eye(V)
        model.wpe.weight[:, V:V + T] = torch.eye(T)
        for layer, ones in ((0, 2), (1, 3)):  # LayerNorm undone: x has `ones` ones, the rest zeros
            mu = ones / C
            sigma = math.sqrt(mu - mu * mu + 1e-5)
            model.blocks[layer].ln_1.weight.fill_(sigma)
            model.blocks[layer].ln_1.bias.fill_(mu)
        w0 = model.blocks[0].attn.qkv.weight  # rows [q; k; v], each C
        for t in range(1, T):
            w0[pos[t], pos[t]] = alpha  # query of position t ...
            w0[C + pos[t], pos[t - 1]] = 1.0  # ... matches the key of position t - 1
        for v in range(V):
            w0[2 * C + prev[v], tok[v]] = 1.0  # value: the token, moved to the previous-token subspace
        w1 = model.blocks[1].attn.qkv.weight
        for v in range(V):
            w1[prev[v], tok[v]] = alpha  # query: current token
            w1[C + prev[v], prev[v]] = 1.0  # key: previous token
            w1[2 * C + tok[v], tok[v]] = 2.0  # value: the token itself, outweighing the current token
        for block in model.blocks:
            block.attn.proj.weight.copy_(torch.eye(C))
        model.ln_f.weight.fill_(1.0)
    return model.eval()


def test_hand_built_induction_circuit_scores_one():
    V, T = 32, 24
    model = _induction_circuit(V, T)
    gen = torch.Generator().manual_seed(7)
    rows, layout = [], []
    for _ in range(8):
        p = int(torch.randint(3, 9, (1,), generator=gen))
        n = int(torch.randint(2, p + 1, (1,), generator=gen))
        s = int(torch.randint(1, T - p - n + 1, (1,), generator=gen))  # position 0 (no predecessor) stays out
        x = torch.cat([torch.zeros(1, dtype=torch.long), torch.randperm(V - 1, generator=gen)[:T - 1] + 1])
        x[s + p:s + p + n] = x[s:s + n]  # the only repeated tokens: no accidental matches
        rows.append(x)
        layout.append((p, s, n))
    ids = torch.stack(rows)
    P, S, L = (torch.tensor(v) for v in zip(*layout))
    pats = attention_patterns(model, ids)
    assert float(previous_token_score(pats[0])) > 0.95
    assert float(induction_score(pats[1], P, S, L)) > 0.95
    logits, _ = model(ids)  # and the circuit predicts every token that induction can predict
    pred = logits[:, :-1].argmax(-1)
    j = torch.arange(1, T)[None, :]
    predictable = (j >= (S + P + 1)[:, None]) & (j <= (S + P + L - 1)[:, None])
    assert bool((pred == ids[:, 1:])[predictable].all())
