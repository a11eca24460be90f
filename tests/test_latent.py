"""Natural-latent measures: estimator properties on synthetic ensembles, then the Ising and XY physics."""

import math

import numpy as np
import pytest

from symbreak.analysis import latent
from symbreak.analysis.exact import TC_2D


def _two_phase(n, shape, flip_prob, seed):
    """n samples: a random global sign, each spin then flipped independently with flip_prob."""
    rng = np.random.default_rng(seed)
    sign = rng.choice([-1, 1], size=(n,) + (1,) * len(shape))
    noise = np.where(rng.random((n, *shape)) < flip_prob, -1, 1)
    return (sign * noise).astype(np.int8)


# -- estimators ------------------------------------------------------------------------------------------------
def test_ordered_ensemble_gives_one_bit_and_no_conditional_entropy():
    c = _two_phase(400, (8, 8), 0.0, 1)
    assert latent.mutual_information(c, "ising", 4).value == pytest.approx(1.0)
    assert latent.mutual_information(c, "ising", 4, symmetric=False).value == pytest.approx(1.0, abs=0.01)
    assert latent.conditional_entropy(c, "ising", 4).value == pytest.approx(0.0, abs=1e-12)


def test_miller_madow_removes_the_plug_in_bias_of_independent_blocks():
    """Independent blocks: the plug-in MI is biased up by ~1/(2 n ln 2); the corrected one averages to 0."""
    n, trials = 200, 200
    rng = np.random.default_rng(3)
    mm = []
    for t in range(trials):
        c = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, 4, 4))
        mm.append(latent.mutual_information(c, "ising", 1).value)
    mm = np.array(mm)
    bias = 1 / (2 * n * math.log(2))
    plug_in = mm + bias  # the symmetric estimator is log2 q - H_MM(D), and H_MM = H_plug-in + bias here
    assert abs(mm.mean()) < 4 * mm.std() / math.sqrt(trials)
    assert plug_in.mean() > bias / 2 + 4 * mm.std() / math.sqrt(trials)


def test_zero_block_sum_is_split_between_the_signs():
    c = np.ones((4, 4, 4), dtype=np.int8)
    c[:, 0, 0] = -1  # block of side 1 at the origin: sign -1; whole lattice: +1
    c[:, :2, :2] = np.array([[1, -1], [1, -1]])  # 2x2 block sums to zero
    w = latent.cells(latent.block_order_parameters(c, "ising", 2)["A"], "ising")
    assert np.array_equal(w, np.full((4, 2), 0.5))


def test_independent_xy_angles_give_zero_and_locked_angles_log2_q():
    rng = np.random.default_rng(5)
    free = rng.uniform(-np.pi, np.pi, size=(2000, 8, 8))
    assert abs(latent.mutual_information(free, "xy", 2, q=8).value) < 0.03
    locked = rng.uniform(-np.pi, np.pi, size=(2000, 1, 1)) + 0.01 * rng.normal(size=(2000, 8, 8))
    mi = latent.mutual_information(locked, "xy", 2, q=8).value
    assert 2.8 < mi <= 3.0 + 1e-9  # log2 8 = 3, less a little for pairs split by a bin edge


def test_prediction_accuracy_of_a_noisy_ordered_ensemble():
    """Majority of k spins of a p-noisy ordered lattice: exact binomial accuracy."""
    p = 0.2
    c = _two_phase(3000, (16, 16), p, 7)
    acc = latent.prediction_accuracy(c, "ising", [1, 3, 25], seed=1)
    for k, est in zip([1, 3, 25], acc):
        right = sum(math.comb(k, j) * (1 - p) ** j * p ** (k - j) for j in range(k // 2 + 1, k + 1))
        want = right * (1 - p) + (1 - right) * p
        assert abs(est.value - want) < 4 * est.error + 0.003, (k, est, want)


def test_bad_arguments_are_named():
    c = np.ones((10, 8, 8), dtype=np.int8)
    with pytest.raises(ValueError, match="block"):
        latent.mutual_information(c, "ising", 5)
    with pytest.raises(ValueError, match="model"):
        latent.mutual_information(c, "potts", 2)
    with pytest.raises(ValueError, match="groups"):
        latent.mutual_information(c, "ising", 2, groups=np.zeros(3))
    with pytest.raises(ValueError, match="k"):
        latent.prediction_accuracy(c, "ising", [64])


# -- physics ---------------------------------------------------------------------------------------------------
def test_ising_mi_is_one_bit_below_tc_and_zero_above():
    cold, g = latent.sample("ising", (32, 32), 2.0, replicas=128, samples_per_replica=2, burn=60, every=5, seed=2)
    hot, h = latent.sample("ising", (32, 32), 3.0, replicas=128, samples_per_replica=2, burn=60, every=5, seed=3)
    mi_cold = latent.mutual_information(cold, "ising", 8, groups=g)
    mi_hot = latent.mutual_information(hot, "ising", 8, groups=h)
    assert mi_cold.value > 0.97 - 4 * mi_cold.error, mi_cold  # 0.99 in the calibration
    assert abs(mi_hot.value) < 4 * mi_hot.error + 0.005, mi_hot
    assert latent.conditional_entropy(hot, "ising", 8, groups=h).value > 0.9
    a_cold = latent.prediction_accuracy(cold, "ising", [1, 64], groups=g)
    a_hot = latent.prediction_accuracy(hot, "ising", [1, 64], groups=h)
    assert a_cold[1].value > 0.94 and a_cold[1].value > a_cold[0].value + 3 * a_cold[0].error
    assert abs(a_hot[0].value - 0.5) < 0.02


def test_xy_mi_is_large_in_the_quasi_ordered_phase_and_zero_in_the_disordered_one():
    cold, g = latent.sample("xy", (16, 16), 0.4, replicas=64, samples_per_replica=2, burn=200, every=20, seed=4)
    hot, h = latent.sample("xy", (16, 16), 2.0, replicas=64, samples_per_replica=2, burn=200, every=20, seed=5)
    assert latent.mutual_information(cold, "xy", 4, q=8, groups=g).value > 1.5
    assert abs(latent.mutual_information(hot, "xy", 4, q=8, groups=h).value) < 0.1


def test_sweep_table_and_figure(tmp_path):
    pytest.importorskip("matplotlib")
    table = latent.sweep("ising", (8, 8), [1.5, 4.0], block=2, ks=(1, 8), replicas=32, samples_per_replica=2,
                         burn=30, every=5, seed=1)
    assert table.column("T").tolist() == [1.5, 4.0] and table.column("mi")[0] > table.column("mi")[1]
    assert {"mi_err", "h_cond", "acc_1", "acc_8_err"} <= set(table.columns)
    assert "MI" in str(table)
    assert table.to_csv(tmp_path / "t.csv").read_text().startswith("T,mi,mi_err")
    assert latent.figure(table, tmp_path / "t.png").stat().st_size > 1000


# -- calibration (spec/physics.md): 32x32, 8x8 blocks ----------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("T,want", [(2.0, 0.99), (TC_2D, 0.46), (2.4, 0.03), (3.0, 0.0)])
def test_ising_calibration(T, want):
    configs, groups = latent.sample("ising", (32, 32), T, replicas=1000, samples_per_replica=4, burn=300,
                                    every=10, seed=11)
    mi = latent.mutual_information(configs, "ising", 8, groups=groups)
    # The references carry two decimals; allow half a unit of the last one plus 4 σ.
    assert abs(mi.value - want) < 4 * mi.error + 0.005, mi
