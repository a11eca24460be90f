"""Philox from Python: known answers, stream statistics, counter independence."""

import numpy as np
import pytest
from scipy import stats

from symbreak import _core

KNOWN = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter,key,expected", KNOWN)
def test_known_answer_vectors(counter, key, expected):
    assert tuple(_core.rng.philox4x32_10(list(counter), list(key))) == expected


@pytest.mark.parametrize("double", [True, False])
def test_uniform_moments_and_ks(double):
    u = _core.rng.uniform(seed=2026, step=0, n=200_000, double_precision=double)
    assert u.min() >= 0.0 and u.max() < 1.0
    n = len(u)
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    assert stats.kstest(u, "uniform").pvalue > 1e-4


@pytest.mark.parametrize("double", [True, False])
def test_normal_moments_and_ks(double):
    z = _core.rng.normal(seed=7, step=3, n=200_000, double_precision=double)
    n = len(z)
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-4


def test_streams_differ_by_seed_step_and_substep():
    a = _core.rng.words(seed=1, rng_id=2, step=0, substep=0, n=1000)
    for other in (_core.rng.words(seed=2, rng_id=2, step=0, substep=0, n=1000),
                  _core.rng.words(seed=1, rng_id=2, step=1, substep=0, n=1000),
                  _core.rng.words(seed=1, rng_id=2, step=0, substep=1, n=1000),
                  _core.rng.words(seed=1, rng_id=3, step=0, substep=0, n=1000)):
        assert np.mean(a == other) < 0.01
        assert abs(np.corrcoef(a.astype(float), other.astype(float))[0, 1]) < 0.15


def test_words_are_reproducible():
    a = _core.rng.words(seed=123, rng_id=1, step=5, substep=0, n=17)
    b = _core.rng.words(seed=123, rng_id=1, step=5, substep=0, n=17)
    assert np.array_equal(a, b)
