"""Equilibrium estimates with honest error bars from correlated Monte Carlo series.

Conventions
-----------
* A series is a 1-D array with one value per measurement, in Monte Carlo time
  order.  ``m`` is the magnetisation per spin, ``u`` the energy per spin, ``N``
  the number of sites and ``T`` the temperature (k_B = 1).
* The integrated autocorrelation time is tau_int = 1/2 + sum_{t>=1} rho(t)
  (Sokal), so tau_int = 1/2 for uncorrelated data, a series of n samples holds
  n / (2 tau_int) effectively independent ones, and the standard error of its
  mean is sqrt(2 tau_int var / n).  Times are in units of measurements.
* Derived quantities (susceptibility, specific heat, Binder cumulant) use a
  blocked jackknife, which needs at least n_blocks samples; its blocks
  (n // n_blocks samples) must be much longer than tau_int for the error to be
  trustworthy.
* All errors are one standard deviation.  Invalid input raises ``ValueError``
  naming the offending parameter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

__all__ = [
    "Estimate", "integrated_autocorrelation_time", "mean_estimate", "blocking_error",
    "jackknife", "susceptibility", "specific_heat", "binder_cumulant", "summarize",
]


@dataclass(frozen=True, repr=False)
class Estimate:
    """A value with its one-sigma error.

    Both fields are plain floats and ``float(est)`` gives the value.  Formatting
    with an empty spec rounds to two significant digits of the error
    (``"0.6110 ± 0.0023"``); any other spec is applied to both numbers
    (``f"{est:.2e}"``).
    """

    value: float
    error: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "error", float(self.error))

    def __float__(self) -> float:
        return self.value

    def __format__(self, spec: str) -> str:
        if not spec:
            if self.error > 0 and math.isfinite(self.error):
                spec = f".{max(0, 1 - math.floor(math.log10(self.error)))}f"
            else:
                spec = "g"
        return f"{self.value:{spec}} ± {self.error:{spec}}"

    def __repr__(self) -> str:
        return format(self, "")


def _series(x, name: str, min_len: int = 2) -> np.ndarray:
    """Validate a 1-D finite float series with at least ``min_len`` samples."""
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {a.shape}")
    if a.size < min_len:
        raise ValueError(f"{name} must have at least {min_len} samples, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must contain only finite values")
    return a


def _positive(v, name: str) -> float:
    v = float(v)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {v}")
    return v


def _count(v, name: str, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def integrated_autocorrelation_time(x, c: float = 5.0) -> float:
    """Integrated autocorrelation time tau_int of ``x`` in units of samples.

    tau_int(W) = 1/2 + sum_{t=1}^{W} rho(t), with the normalised autocorrelation
    rho(t) from a zero-padded FFT (biased 1/n estimator), evaluated at Sokal's
    automatic window: the smallest W with W >= c * tau_int(W) (the largest lag
    n - 1 if none qualifies, in which case the series is too short to trust).
    Returns 1/2 for uncorrelated data and, by convention, for a constant series
    (zero variance).  The result is floored at 0, the lower bound of the true
    tau_int (anticorrelated data can give tau_int < 1/2).
    """
    x = _series(x, "x")
    c = _positive(c, "c")
    if np.ptp(x) == 0:
        return 0.5
    n = len(x)
    f = np.fft.rfft(x - x.mean(), 2 * n)
    acf = np.fft.irfft(np.abs(f) ** 2, 2 * n)[:n]
    tau = 0.5 + np.cumsum(acf[1:] / acf[0])  # tau[W - 1] = tau_int(W)
    ok = np.arange(1, n) >= c * tau
    return max(0.0, float(tau[np.argmax(ok)] if ok.any() else tau[-1]))


def mean_estimate(x) -> Estimate:
    """Mean of ``x`` with error sqrt(2 tau_int var / n) (tau_int as above, var with ddof=1)."""
    x = _series(x, "x")
    tau = integrated_autocorrelation_time(x)
    return Estimate(x.mean(), math.sqrt(2.0 * tau * x.var(ddof=1) / len(x)))


def blocking_error(x, min_blocks: int = 16) -> tuple[float, float]:
    """Mean of ``x`` and its standard error by Flyvbjerg-Petersen blocking.

    The series is repeatedly halved into pair averages (a trailing odd sample is
    dropped) while at least ``min_blocks`` blocks remain; at each level k with
    n_k blocks the error of the mean is sqrt(var_k / (n_k - 1)).  The plateau is
    chosen automatically as in Jonsson, Phys. Rev. E 98, 043304 (2018): the first
    level j from which the lag-1 autocorrelations rho_k of the block means at
    all coarser levels are consistent with zero, i.e. M_j = sum_{k>=j} n_k rho_k^2
    is below the 99% quantile of chi^2 with (number of levels - j) degrees of
    freedom (rho_k is corrected for its -1/n_k bias; the quantile uses the
    Wilson-Hilferty approximation).  If no level passes, the coarsest level is
    used and the series is too short for a reliable error.
    """
    min_blocks = _count(min_blocks, "min_blocks", 2)
    x = _series(x, "x", min_blocks)
    mean = float(x.mean())
    errors, terms = [], []
    while len(x) >= min_blocks:
        n = len(x)
        d = x - x.mean()
        var = float(d @ d) / n
        errors.append(math.sqrt(var / (n - 1)))
        rho = float(d[:-1] @ d[1:]) / (n * var) + 1.0 / n if var > 0 else 0.0
        terms.append(n * rho**2)
        x = x[: n - n % 2].reshape(-1, 2).mean(axis=1)
    m_stat = np.cumsum(terms[::-1])[::-1]
    dof = len(terms) - np.arange(len(terms))
    z99 = 2.3263478740408408  # 99% quantile of the standard normal
    q99 = dof * (1 - 2 / (9 * dof) + z99 * np.sqrt(2 / (9 * dof))) ** 3
    passed = m_stat < q99
    return mean, errors[int(np.argmax(passed)) if passed.any() else -1]


def jackknife(f: Callable[..., float], *series, n_blocks: int = 32) -> tuple[float, float]:
    """Blocked jackknife estimate and error of ``f(*series)``.

    ``f`` receives one sample array per series (e.g. ``f(m) = N * (np.mean(m**2)
    - np.mean(np.abs(m))**2) / T``) and returns a scalar.  The equal-length
    series are cut into ``n_blocks`` contiguous blocks of n // n_blocks samples
    (the leading n % n_blocks samples are dropped; n_blocks = n gives the
    ordinary delete-one jackknife); f is evaluated on all blocks
    (theta) and with each block left out (theta_i).  Returns the bias-corrected
    estimate n_b theta - (n_b - 1) mean(theta_i) and the error
    sqrt((n_b - 1) / n_b * sum_i (theta_i - mean(theta_i))^2).
    Requires at least n_blocks samples (one per block).
    """
    n_blocks = _count(n_blocks, "n_blocks", 2)
    if not series:
        raise ValueError("series must contain at least one array")
    arrays = [_series(s, f"series[{i}]", n_blocks) for i, s in enumerate(series)]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"series must all have the same length, got {[len(a) for a in arrays]}")
    b = n // n_blocks
    blocks = [a[n - n_blocks * b:].reshape(n_blocks, b) for a in arrays]
    full = float(f(*(bl.ravel() for bl in blocks)))
    keep = ~np.eye(n_blocks, dtype=bool)
    loo = np.array([float(f(*(bl[keep[i]].ravel() for bl in blocks))) for i in range(n_blocks)])
    estimate = n_blocks * full - (n_blocks - 1) * loo.mean()
    return float(estimate), math.sqrt((n_blocks - 1) * np.mean((loo - loo.mean()) ** 2))


def _blocked(x, name: str, n_blocks: int) -> np.ndarray:
    return _series(x, name, _count(n_blocks, "n_blocks", 2))


def susceptibility(m, N: int, T: float, n_blocks: int = 32, connected: bool = True) -> Estimate:
    """Magnetic susceptibility per spin from the magnetisation per spin ``m``.

    connected=True (default): chi = N (<m^2> - <|m|>^2) / T, the finite-size
    convention using |m| (a finite symmetric system has <m> = 0 even when
    ordered).  connected=False: chi = N <m^2> / T, the full fluctuation, which is
    the appropriate estimator at and above T_c.
    """
    m = _blocked(m, "m", n_blocks)
    N, T = _positive(N, "N"), _positive(T, "T")
    if connected:
        return Estimate(*jackknife(lambda s: N * np.var(np.abs(s)) / T, m, n_blocks=n_blocks))
    return Estimate(*jackknife(lambda s: N * np.mean(s * s) / T, m, n_blocks=n_blocks))


def specific_heat(u, N: int, T: float, n_blocks: int = 32) -> Estimate:
    """Specific heat per spin c = N (<u^2> - <u>^2) / T^2 from the energy per spin ``u``."""
    u = _blocked(u, "u", n_blocks)
    N, T = _positive(N, "N"), _positive(T, "T")
    return Estimate(*jackknife(lambda s: N * np.var(s) / T**2, u, n_blocks=n_blocks))


def binder_cumulant(m, n_blocks: int = 32) -> Estimate:
    """Binder cumulant U4 = 1 - <m^4> / (3 <m^2>^2): 0 for Gaussian m, 2/3 for m = +-m0."""
    m = _blocked(m, "m", n_blocks)
    return Estimate(*jackknife(lambda s: 1 - np.mean(s**4) / (3 * np.mean(s * s) ** 2),
                               m, n_blocks=n_blocks))


def summarize(series: Mapping[str, np.ndarray], N: int, T: float, discard: float = 0.0,
              n_blocks: int = 32) -> dict[str, Estimate | float]:
    """Standard Ising-type observables from per-spin series ``series['m']`` and ``series['u']``.

    The first ``discard`` fraction (0 <= discard < 1) of each series is dropped
    as burn-in.  Returns Estimates "m", "abs_m", "u" (means, autocorrelation
    corrected), "chi" (connected susceptibility), "c" (specific heat), "binder"
    (U4), and floats "tau_abs_m", "tau_u" (integrated autocorrelation times in
    measurements).
    """
    if not all(k in series for k in ("m", "u")):
        raise ValueError("series must contain arrays 'm' and 'u'")
    if not 0.0 <= discard < 1.0:
        raise ValueError(f"discard must be a fraction in [0, 1), got {discard}")
    m, u = (_series(series[k], f"series['{k}']") for k in ("m", "u"))
    m, u = m[int(discard * len(m)):], u[int(discard * len(u)):]
    abs_m = np.abs(m)
    return {
        "m": mean_estimate(m),
        "abs_m": mean_estimate(abs_m),
        "u": mean_estimate(u),
        "chi": susceptibility(m, N, T, n_blocks),
        "c": specific_heat(u, N, T, n_blocks),
        "binder": binder_cumulant(m, n_blocks),
        "tau_abs_m": integrated_autocorrelation_time(abs_m),
        "tau_u": integrated_autocorrelation_time(u),
    }
