"""How many independent trials a set of correlated trials is worth.

The expected maximum Sharpe ratio (:func:`~pedigree.selection.stats.expected_max_sharpe`) holds
for N *independent* trials; variants of one strategy are correlated, and counting them all
overstates SR0 [BLdP14, Appendix A.3]. Two estimators, both from the correlation matrix of the
trials' returns:

``average_correlation`` (the default) -- [BLdP14, Appendix A.3]:

    N_eff = rho + (1 - rho) N,      rho = the average off-diagonal pairwise correlation

which is N for uncorrelated trials and 1 for perfectly correlated ones. A negative average is
taken as 0 (N_eff = N: no more independent trials than trials).

``eigenvalue`` -- D. R. Nyholt, "A Simple Correction for Multiple Testing for Single-Nucleotide
Polymorphisms in Linkage Disequilibrium with Each Other", American Journal of Human Genetics
74(4), 2004, pp. 765-769:

    M_eff = 1 + (M - 1) (1 - Var(lambda) / M),   Var(lambda) = sum (lambda_i - 1)^2 / (M - 1)

over the eigenvalues lambda_i of the M x M correlation matrix (their mean is 1).

Trials without returns (failed ones, or runs recorded elsewhere) are counted through ``trials``:
the estimators assume they correlate like the trials that have returns, so N_eff is
``rho + (1 - rho) trials`` and ``trials * M_eff / M`` respectively.

[BLdP14] D. H. Bailey and M. López de Prado, "The Deflated Sharpe Ratio: Correcting for Selection
Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5), 2014.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pedigree.errors import InvalidInput
from pedigree.selection._matrix import TrialReturns, as_matrix, check_count, check_not_constant

__all__ = [
    "ESTIMATORS",
    "EffectiveTrials",
    "Estimator",
    "effective_trials",
    "effective_trials_from_correlation",
]

Estimator = Literal["average_correlation", "eigenvalue"]
ESTIMATORS: tuple[Estimator, ...] = ("average_correlation", "eigenvalue")


@dataclass(frozen=True)
class EffectiveTrials:
    value: float  # the effective number of independent trials, 1 <= value <= trials
    trials: int  # the number of trials counted (with returns or not)
    series: int  # the number of trials whose returns were correlated
    average_correlation: float  # mean off-diagonal correlation of those returns
    estimator: Estimator


def effective_trials_from_correlation(average_correlation: float, trials: float) -> float:
    """N_eff = rho + (1 - rho) N for an average pairwise correlation rho [BLdP14, A.3].

    rho is clamped to [0, 1], so 1 <= N_eff <= N.

    >>> effective_trials_from_correlation(0.25, 24)
    18.25
    >>> effective_trials_from_correlation(-0.1, 24)
    24.0
    """
    if not math.isfinite(average_correlation):
        raise InvalidInput(f"the average correlation must be finite, not {average_correlation!r}")
    if not (math.isfinite(trials) and trials >= 1):
        raise InvalidInput(f"the number of trials must be at least 1, not {trials!r}")
    rho = min(1.0, max(0.0, average_correlation))
    return rho + (1.0 - rho) * trials


def effective_trials(
    trial_returns: TrialReturns,
    *,
    trials: int | None = None,
    estimator: Estimator = "average_correlation",
) -> EffectiveTrials:
    """The effective number of independent trials, from the correlation of their returns.

    ``trial_returns``: one return series per trial (N x T, see ``TrialReturns``), at least two,
    none constant. ``trials``: the number of trials to count, when more trials were run than
    have returns here (default: the number of series).

    >>> r = [[0.01, -0.02, 0.03, 0.00], [0.02, -0.01, 0.01, 0.00], [-0.01, 0.02, 0.00, 0.01]]
    >>> e = effective_trials(r)
    >>> round(e.average_correlation, 6), round(e.value, 6)
    (-0.333333, 3.0)
    """
    import numpy as np

    if estimator not in ESTIMATORS:
        raise InvalidInput(f"unknown estimator {estimator!r}; one of {', '.join(ESTIMATORS)}")
    matrix = as_matrix(trial_returns, min_trials=2)
    check_not_constant(matrix)
    m = matrix.shape[0]
    total = m if trials is None else check_count("trials", trials, minimum=1)
    if total < m:
        raise InvalidInput(f"trials={total} is fewer than the {m} trials with returns")
    corr = np.asarray(np.corrcoef(matrix), dtype=np.float64)
    corr = (corr + corr.T) / 2.0  # exactly symmetric for eigvalsh
    off = corr[~np.eye(m, dtype=bool)]
    rho = float(np.clip(off.mean(), -1.0, 1.0))
    if estimator == "average_correlation":
        value = effective_trials_from_correlation(rho, total)
    else:
        eigenvalues = np.clip(np.linalg.eigvalsh(corr), 0.0, None)
        variance = float(((eigenvalues - 1.0) ** 2).sum() / (m - 1))
        m_eff = 1.0 + (m - 1) * (1.0 - variance / m)
        value = min(float(total), max(1.0, total * m_eff / m))
    return EffectiveTrials(
        value=value, trials=total, series=m, average_correlation=rho, estimator=estimator
    )
