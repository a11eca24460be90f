"""Tests for symbreak.analysis.stats against synthetic series with known answers."""
import dataclasses
import math

import numpy as np
import pytest

from symbreak.analysis import stats


def ar1(rng, phi, n, size=()):
    """Stationary unit-variance AR(1): x_t = phi x_{t-1} + sqrt(1 - phi^2) eps_t.

    Exact, vectorised over ``size`` repeats and over chunks of length ~sqrt(n).
    Its tau_int is (1 + phi) / (2 (1 - phi)).
    """
    L = int(math.isqrt(n)) + 1
    nc = -(-n // L)
    e = math.sqrt(1 - phi**2) * rng.standard_normal((*size, nc, L))
    y = np.empty_like(e)  # recursion within each chunk, started from zero
    y[..., 0] = e[..., 0]
    for k in range(1, L):
        y[..., k] = phi * y[..., k - 1] + e[..., k]
    powers = phi ** np.arange(1, L + 1)
    prev = rng.standard_normal(size)  # stationary x_{-1}
    for j in range(nc):
        y[..., j, :] += np.multiply.outer(prev, powers)
        prev = y[..., j, -1]
    return y.reshape(*size, nc * L)[..., :n]


def tau_ar1(phi):
    return 0.5 * (1 + phi) / (1 - phi)


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


def test_ar1_generator_is_stationary_with_unit_variance(rng):
    x = ar1(rng, 0.9, 400_000)
    assert x.shape == (400_000,)
    assert abs(x.var() - 1) < 0.05
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1] - 0.9) < 0.01


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_tau_int_of_ar1(rng, phi):
    tau = stats.integrated_autocorrelation_time(ar1(rng, phi, 1_000_000))
    assert tau == pytest.approx(tau_ar1(phi), rel=0.05)


def test_tau_int_constant_series_is_one_half():
    assert stats.integrated_autocorrelation_time(np.full(100, 0.1)) == 0.5


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_blocking_error_matches_exact_standard_error(rng, phi):
    n = 2**18
    x = ar1(rng, phi, n)
    mean, err = stats.blocking_error(x)
    assert mean == pytest.approx(x.mean())
    assert err == pytest.approx(math.sqrt(2 * tau_ar1(phi) / n), rel=0.15)


def test_mean_and_jackknife_errors_match_exact_standard_error(rng):
    n, phi = 2**18, 0.9
    x = ar1(rng, phi, n)
    exact = math.sqrt(2 * tau_ar1(phi) / n)
    est = stats.mean_estimate(x)
    assert est.value == pytest.approx(x.mean())
    assert est.error == pytest.approx(exact, rel=0.1)
    value, err = stats.jackknife(np.mean, x, n_blocks=256)
    assert value == pytest.approx(x[n % 256:].mean())
    assert err == pytest.approx(exact, rel=0.15)


def test_jackknife_exact_identities_for_unblocked_data(rng):
    x = rng.normal(3.0, 2.0, 500)
    _, err = stats.jackknife(np.mean, x, n_blocks=500)
    assert err == pytest.approx(x.std(ddof=1) / math.sqrt(500))
    # Bias correction turns the plug-in variance into the unbiased one.
    value, _ = stats.jackknife(np.var, x, n_blocks=500)
    assert value == pytest.approx(x.var(ddof=1))


def test_jackknife_of_variance_ratio(rng):
    n = 2**16
    x, y = rng.normal(0, 2.0, n), rng.normal(0, 1.0, n)
    value, err = stats.jackknife(lambda a, b: np.var(a) / np.var(b), x, y, n_blocks=256)
    exact_err = 4.0 * math.sqrt(4.0 / n)  # delta method: var(s^2)/s^4 = 2/n for each
    assert err == pytest.approx(exact_err, rel=0.15)
    assert abs(value - 4.0) < 4 * exact_err


def test_binder_cumulant_gaussian_and_ordered(rng):
    gauss = stats.binder_cumulant(rng.normal(0, 0.1, 100_000))
    assert 0 < gauss.error < 0.02
    assert abs(gauss.value) < 4 * gauss.error

    pm1 = stats.binder_cumulant(rng.choice([-1.0, 1.0], 10_000))
    assert pm1.value == pytest.approx(2 / 3) and pm1.error < 1e-12

    m0, s = 0.8, 0.2  # ordered phase: +-m0 with Gaussian spread s
    m = rng.choice([-m0, m0], 100_000) + rng.normal(0, s, 100_000)
    exact = 1 - (m0**4 + 6 * m0**2 * s**2 + 3 * s**4) / (3 * (m0**2 + s**2) ** 2)
    est = stats.binder_cumulant(m)
    assert 0 < est.error < 0.01
    assert abs(est.value - exact) < 4 * est.error


def test_susceptibility_and_specific_heat_of_gaussian_series(rng):
    N, T, sigma = 64, 2.5, 0.3
    m = rng.normal(0, sigma, 100_000)
    connected = stats.susceptibility(m, N, T)
    full = stats.susceptibility(m, N, T, connected=False)
    for est, exact in [(connected, N * sigma**2 * (1 - 2 / math.pi) / T), (full, N * sigma**2 / T)]:
        assert 0 < est.error < 0.05 * exact
        assert abs(est.value - exact) < 4 * est.error
    c = stats.specific_heat(rng.normal(-1.5, 0.1, 100_000), N, T)
    assert 0 < c.error < 0.05 * N * 0.01 / T**2
    assert abs(c.value - N * 0.01 / T**2) < 4 * c.error


def coverage(estimates, truth):
    hits = [abs(value - truth) < err for value, err in estimates]
    return sum(hits) / len(hits)


def test_error_bars_are_calibrated(rng):
    """Over 200 independent repeats, about 68% of estimates lie within one error of the truth."""
    reps, n, phi = 200, 4096, 0.5
    xs = ar1(rng, phi, n, size=(reps,))
    mean_cov = coverage([(e.value, e.error) for e in map(stats.mean_estimate, xs)], 0.0)
    block_cov = coverage([stats.blocking_error(x) for x in xs], 0.0)
    # Specific heat of a unit-variance series: c = N var / T^2 = N / T^2 (N=1, T=1).
    c_cov = coverage([(e.value, e.error) for e in (stats.specific_heat(x, 1, 1.0) for x in xs)], 1.0)
    for cov in (mean_cov, block_cov, c_cov):
        assert 0.55 <= cov <= 0.80, (mean_cov, block_cov, c_cov)


def test_naive_errors_are_not_calibrated(rng):
    """Control: ignoring autocorrelation (tau = 1/2) fails the same coverage check."""
    xs = ar1(rng, 0.9, 4096, size=(200,))
    naive = [(x.mean(), x.std(ddof=1) / math.sqrt(len(x))) for x in xs]
    assert coverage(naive, 0.0) < 0.55


def test_estimate_formatting_and_floats():
    est = stats.Estimate(0.61104, 0.00231)
    assert format(est) == "0.6110 ± 0.0023" == repr(est) == str(est)
    assert f"{est:.2f}" == "0.61 ± 0.00"
    assert format(stats.Estimate(1234.5, 56.0)) == "1234 ± 56"
    assert format(stats.Estimate(2.0, 0.0)) == "2 ± 0"
    assert float(est) == est.value == 0.61104 and isinstance(est.error, float)
    assert isinstance(stats.Estimate(np.float32(1), 2).value, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.value = 1.0


def test_summarize_discards_burn_in(rng):
    n, N, T = 20_000, 100, 2.0
    m = 0.7 + 0.05 * ar1(rng, 0.8, n)
    u = -1.2 + 0.02 * ar1(rng, 0.5, n)
    m[: n // 10], u[: n // 10] = 5.0, 3.0  # far from equilibrium
    res = stats.summarize({"m": m, "u": u}, N, T, discard=0.1)
    assert set(res) == {"m", "abs_m", "u", "chi", "c", "binder", "tau_abs_m", "tau_u"}
    assert all(isinstance(res[k], stats.Estimate) for k in ("m", "abs_m", "u", "chi", "c", "binder"))
    assert isinstance(res["tau_u"], float) and isinstance(res["tau_abs_m"], float)
    assert abs(res["abs_m"].value - 0.7) < 4 * res["abs_m"].error
    assert abs(res["u"].value + 1.2) < 4 * res["u"].error
    assert res["tau_abs_m"] == pytest.approx(tau_ar1(0.8), rel=0.25)
    assert res["c"].value == pytest.approx(N * 0.02**2 / T**2, rel=0.2)
    raw = stats.summarize({"m": m, "u": u}, N, T)
    assert raw["u"].value > -1.0  # the burn-in visibly biases the undiscarded mean


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: stats.integrated_autocorrelation_time([1.0, np.nan, 2.0]), "x must contain only finite"),
        (lambda: stats.integrated_autocorrelation_time(np.ones((4, 4))), "x must be a 1-D"),
        (lambda: stats.integrated_autocorrelation_time([1.0]), "x must have at least 2"),
        (lambda: stats.integrated_autocorrelation_time(np.arange(9.0), c=0), "c must be"),
        (lambda: stats.mean_estimate([np.inf, 1.0, 2.0]), "x must contain only finite"),
        (lambda: stats.blocking_error(np.arange(8.0)), "x must have at least 16"),
        (lambda: stats.blocking_error(np.arange(64.0), min_blocks=1), "min_blocks must be"),
        (lambda: stats.jackknife(np.mean, np.arange(31.0)), r"series\[0\] must have at least 32"),
        (lambda: stats.jackknife(np.mean, np.arange(100.0), n_blocks=1), "n_blocks must be"),
        (lambda: stats.jackknife(np.mean, np.arange(100.0), n_blocks=2.5), "n_blocks must be"),
        (lambda: stats.jackknife(np.mean), "series must contain at least one"),
        (lambda: stats.jackknife(np.mean, np.ones(64), np.ones(65)), "same length"),
        (lambda: stats.susceptibility(np.ones(10), 16, 1.0), "m must have at least 32"),
        (lambda: stats.susceptibility(np.ones(100), 16, 0.0), "T must be"),
        (lambda: stats.specific_heat(np.ones(100), -4, 1.0), "N must be"),
        (lambda: stats.specific_heat(np.ones(100), 4, np.nan), "T must be"),
        (lambda: stats.binder_cumulant(np.ones((100, 2))), "m must be a 1-D"),
        (lambda: stats.summarize({"m": np.ones(100)}, 4, 1.0), "'m' and 'u'"),
        (lambda: stats.summarize({"m": np.ones(100), "u": np.ones(100)}, 4, 1.0, discard=1.0), "discard"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
