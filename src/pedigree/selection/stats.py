"""The Sharpe ratio of a selected trial, and how much of it survives the selection.

Pure functions of numbers: no store, no numpy (only the standard library), so a caller can use
them on a handful of summary statistics. Every ratio here is **per period** (per observation of
the return series) unless its name says ``annualized``; the paper's formulas are all per period.

Sources
-------
[BLdP12] D. H. Bailey and M. López de Prado, "The Sharpe Ratio Efficient Frontier", Journal of
    Risk 15(2), 2012, pp. 3-44: the Probabilistic Sharpe Ratio (PSR) and the standard error of the
    estimated Sharpe ratio under non-Normal returns (after A. Lo, "The Statistics of Sharpe
    Ratios", Financial Analysts Journal 58(4), 2002, and J. Mertens, 2002).
[BLdP14] D. H. Bailey and M. López de Prado, "The Deflated Sharpe Ratio: Correcting for Selection
    Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5), 2014,
    pp. 94-107: the expected maximum Sharpe ratio of N unskilled trials (Eq. 1), the Deflated
    Sharpe Ratio (Eq. 2), the effective number of independent trials (Appendix A.3) and the worked
    numerical example (pp. 9-10 of the working paper) that ``tests/selection`` reproduces.

The standard normal CDF is ``0.5 * erfc(-x / sqrt(2))`` (``math.erfc``: full relative precision in
the lower tail, where ``1 + erf(x)`` cancels), and its inverse is ``statistics.NormalDist``'s
(Wichura's AS 241, about 1e-16 relative). No scipy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

from pedigree.errors import InvalidInput

__all__ = [
    "EULER_MASCHERONI",
    "SeriesStats",
    "annualize",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "normal_cdf",
    "normal_inv_cdf",
    "probabilistic_sharpe_ratio",
    "series_stats",
    "sharpe_ratio",
    "sharpe_standard_error",
]

#: The Euler-Mascheroni constant gamma.
EULER_MASCHERONI = 0.5772156649015329

_STANDARD_NORMAL = NormalDist()


def normal_cdf(x: float) -> float:
    """Phi(x), the standard normal CDF, as ``0.5 * erfc(-x / sqrt(2))``.

    >>> normal_cdf(0.0)
    0.5
    >>> round(normal_cdf(1.959963984540054), 12)
    0.975
    """
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_inv_cdf(p: float) -> float:
    """Phi^-1(p), the standard normal quantile, for 0 < p < 1.

    >>> round(normal_inv_cdf(0.975), 12)
    1.95996398454
    """
    if not 0.0 < p < 1.0:
        raise InvalidInput(f"a normal quantile needs 0 < p < 1, not {p!r}")
    return _STANDARD_NORMAL.inv_cdf(p)


@dataclass(frozen=True)
class SeriesStats:
    """Summary of one return series.

    ``sharpe`` = mean / sd with the sample standard deviation (divisor T - 1); ``skew`` and
    ``kurtosis`` are the population moment ratios m3 / m2^(3/2) and m4 / m2^2 (divisor T, the
    paper's gamma_3 and gamma_4; kurtosis is *not* excess: 3 for Normal returns).
    """

    observations: int
    mean: float
    std: float
    sharpe: float
    skew: float
    kurtosis: float


def _finite_floats(returns: Iterable[float], what: str) -> list[float]:
    values: list[float] = []
    for i, value in enumerate(returns):
        try:
            x = float(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{what}: observation {i} is not a number: {value!r}") from exc
        if not math.isfinite(x):
            raise InvalidInput(
                f"{what}: observation {i} is {x} (NaN or infinite)",
                hint="drop or fill missing returns before assessing",
            )
        values.append(x)
    return values


def series_stats(returns: Iterable[float], *, risk_free: float = 0.0) -> SeriesStats:
    """Mean, sample standard deviation, Sharpe ratio, skewness and kurtosis of a return series.

    ``returns`` are per-period returns (a list, tuple, numpy array or pandas Series);
    ``risk_free`` is a per-period rate subtracted from each (0: the returns are already excess
    returns). Needs two or more finite observations that are not all equal; anything else is
    :class:`~pedigree.errors.InvalidInput` (a constant series has no Sharpe ratio).

        SR = mean(r) / sd(r)                     sd with divisor T - 1
        gamma_3 = m3 / m2^(3/2),  gamma_4 = m4 / m2^2,   m_k = (1/T) sum (r_t - mean)^k

    >>> s = series_stats([0.01, -0.02, 0.03, 0.00, 0.01])
    >>> round(s.sharpe, 6), round(s.skew, 6), round(s.kurtosis, 6)
    (0.330289, -0.179042, 2.268595)
    """
    values = _finite_floats(returns, "returns")
    t = len(values)
    if t < 2:
        raise InvalidInput(f"a Sharpe ratio needs at least 2 observations, not {t}")
    if risk_free:
        values = [x - risk_free for x in values]
    mean = math.fsum(values) / t
    dev = [x - mean for x in values]
    scale = max(abs(d) for d in dev)
    if scale == 0.0 or all(x == values[0] for x in values):
        raise InvalidInput(
            "the returns are constant: their Sharpe ratio is undefined (zero volatility)"
        )
    # Moments of the deviations scaled to at most 1 in size: no underflow for tiny returns.
    unit = [d / scale for d in dev]
    m2 = math.fsum(u * u for u in unit) / t
    m3 = math.fsum(u * u * u for u in unit) / t
    m4 = math.fsum(u * u * u * u for u in unit) / t
    std = scale * math.sqrt(m2 * t / (t - 1))
    return SeriesStats(
        observations=t,
        mean=mean,
        std=std,
        sharpe=mean / std,
        skew=m3 / m2**1.5,
        kurtosis=m4 / (m2 * m2),
    )


def sharpe_ratio(returns: Iterable[float], *, risk_free: float = 0.0) -> float:
    """The per-period Sharpe ratio mean / sd (sample sd, divisor T - 1) of excess returns.

    >>> round(sharpe_ratio([0.01, -0.02, 0.03, 0.00, 0.01]), 6)
    0.330289
    """
    return series_stats(returns, risk_free=risk_free).sharpe


def annualize(sharpe: float, periods_per_year: float) -> float:
    """A per-period Sharpe ratio scaled to a year: ``SR * sqrt(periods_per_year)``.

    The square-root rule assumes independent, identically distributed returns (Lo, 2002).

    >>> round(annualize(0.1, 252), 6)
    1.587451
    """
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise InvalidInput(f"periods_per_year must be positive, not {periods_per_year!r}")
    return sharpe * math.sqrt(periods_per_year)


def _check_moments(sharpe: float, observations: int, skew: float, kurtosis: float) -> float:
    """The bracket 1 - g3 SR + (g4 - 1)/4 SR^2 of the Sharpe ratio's variance, checked."""
    if isinstance(observations, bool) or int(observations) != observations:
        raise InvalidInput(f"observations must be a whole number, not {observations!r}")
    if observations < 2:
        raise InvalidInput(
            f"the Sharpe ratio's error needs at least 2 observations, not {observations}"
        )
    for name, value in (("sharpe", sharpe), ("skew", skew), ("kurtosis", kurtosis)):
        if not math.isfinite(value):
            raise InvalidInput(f"{name} must be finite, not {value!r}")
    bracket = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    if not bracket > 0.0:
        # Sample moments always satisfy kurtosis >= 1 + skew^2, which makes the bracket a square
        # (1 - skew SR / 2)^2 >= 0; zero only for a two-point distribution at SR = 2 / skew.
        raise InvalidInput(
            f"skew {skew} and kurtosis {kurtosis} give the Sharpe ratio {sharpe} no variance "
            "(impossible moments: kurtosis must be at least 1 + skew^2)"
        )
    return bracket


def sharpe_standard_error(
    sharpe: float, observations: int, *, skew: float = 0.0, kurtosis: float = 3.0
) -> float:
    """The standard error of an estimated per-period Sharpe ratio under non-Normal returns.

        sigma(SR) = sqrt( (1 - g3 SR + (g4 - 1)/4 SR^2) / (T - 1) )          [BLdP12], [BLdP14]

    Normal returns (g3 = 0, g4 = 3) give Lo's sqrt((1 + SR^2 / 2) / (T - 1)).

    >>> round(sharpe_standard_error(0.1, 1001), 8)
    0.03170173
    """
    bracket = _check_moments(sharpe, observations, skew, kurtosis)
    return math.sqrt(bracket / (observations - 1))


def probabilistic_sharpe_ratio(
    sharpe: float,
    observations: int,
    *,
    benchmark: float = 0.0,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """PSR(SR*): the probability that the true Sharpe ratio exceeds ``benchmark`` SR*.

        PSR(SR*) = Phi( (SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2) )   [BLdP12]

    ``sharpe`` and ``benchmark`` per period, ``observations`` T the length of the return series,
    ``skew`` g3 and ``kurtosis`` g4 (non-excess) of those returns.

    >>> round(probabilistic_sharpe_ratio(0.1, 1001, benchmark=0.0), 6)
    0.999196
    >>> probabilistic_sharpe_ratio(0.05, 500, benchmark=0.05)
    0.5
    """
    if not math.isfinite(benchmark):
        raise InvalidInput(f"benchmark must be finite, not {benchmark!r}")
    bracket = _check_moments(sharpe, observations, skew, kurtosis)
    z = (sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(bracket)
    return normal_cdf(z)


def expected_max_sharpe(trials: float, sharpe_variance: float) -> float:
    """SR0: the expected maximum Sharpe ratio of ``trials`` independent trials without skill.

        SR0 = sqrt(V[SR_n]) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))

    [BLdP14 Eq. 1].

    ``trials`` N may be fractional (an effective number of trials); ``sharpe_variance`` V[SR_n]
    is the variance of the trials' Sharpe ratios, in the same (per-period) units as the Sharpe
    ratio it will be compared with. gamma is the Euler-Mascheroni constant. The true Sharpe
    ratios are taken to be 0 (the null: no trial has skill).

    Documented values at the edge: N = 1 (no selection) gives 0. The approximation dips below 0
    for N just above 1 (below about N = 1.28) where the exact expectation of a maximum of
    zero-mean draws is >= 0, so the result is clamped at 0. N < 1 is ``InvalidInput``.

    >>> round(expected_max_sharpe(100, 0.5 / 250), 4)  # [BLdP14] worked example
    0.1132
    >>> expected_max_sharpe(1, 0.3)
    0.0
    """
    if not (math.isfinite(trials) and trials >= 1.0):
        raise InvalidInput(f"the number of trials must be at least 1, not {trials!r}")
    if not (math.isfinite(sharpe_variance) and sharpe_variance >= 0.0):
        raise InvalidInput(
            f"the variance of the trials' Sharpe ratios must be >= 0, not {sharpe_variance!r}"
        )
    if trials == 1.0 or sharpe_variance == 0.0:
        return 0.0
    g = EULER_MASCHERONI
    # Upper-tail quantiles: Phi^-1(1 - q) = -Phi^-1(q), exact for small q without 1 - q rounding.
    z = (1.0 - g) * -normal_inv_cdf(1.0 / trials) + g * -normal_inv_cdf(1.0 / (trials * math.e))
    return max(0.0, math.sqrt(sharpe_variance) * z)


def deflated_sharpe_ratio(
    sharpe: float,
    observations: int,
    *,
    trials: float,
    sharpe_variance: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """DSR = PSR(SR0): the probability that the true Sharpe ratio exceeds what the best of
    ``trials`` unskilled trials would show.                                    [BLdP14 Eq. 2]

    ``sharpe``, ``skew`` and ``kurtosis`` are the selected trial's (per period); ``trials`` N the
    (effective) number of independent trials it was selected from and ``sharpe_variance`` the
    variance of their per-period Sharpe ratios. See :func:`expected_max_sharpe` for SR0.

    >>> dsr = deflated_sharpe_ratio(2.5 / 250**0.5, 1250, trials=100, sharpe_variance=0.5 / 250,
    ...                             skew=-3, kurtosis=10)
    >>> round(dsr, 4)  # [BLdP14] worked example
    0.9004
    """
    sr0 = expected_max_sharpe(trials, sharpe_variance)
    return probabilistic_sharpe_ratio(
        sharpe, observations, benchmark=sr0, skew=skew, kurtosis=kurtosis
    )
