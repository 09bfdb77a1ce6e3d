"""Selection-aware results: the Deflated Sharpe Ratio and the Probability of Backtest Overfitting.

The statistical core of "best of N trials": pure functions of return series and summary
statistics, with no store. ``import pedigree.selection`` needs only the standard library; the
functions that take whole matrices of returns (:func:`assess`, :func:`effective_trials`,
:func:`probability_of_overfitting`) import numpy when called (the ``demo`` / ``dev`` extras).

Start with :func:`assess`; ``docs/selection.md`` explains the measures, formulas and sources.
"""

from __future__ import annotations

from pedigree.selection.assess import Assessment, assess, dsr_reading, pbo_reading
from pedigree.selection.effective import (
    ESTIMATORS,
    EffectiveTrials,
    Estimator,
    effective_trials,
    effective_trials_from_correlation,
)
from pedigree.selection.pbo import PBOResult, cscv_combinations, probability_of_overfitting
from pedigree.selection.stats import (
    EULER_MASCHERONI,
    SeriesStats,
    annualize,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    normal_cdf,
    normal_inv_cdf,
    probabilistic_sharpe_ratio,
    series_stats,
    sharpe_ratio,
    sharpe_standard_error,
)

__all__ = [
    "ESTIMATORS",
    "EULER_MASCHERONI",
    "Assessment",
    "EffectiveTrials",
    "Estimator",
    "PBOResult",
    "SeriesStats",
    "annualize",
    "assess",
    "cscv_combinations",
    "deflated_sharpe_ratio",
    "dsr_reading",
    "effective_trials",
    "effective_trials_from_correlation",
    "expected_max_sharpe",
    "normal_cdf",
    "normal_inv_cdf",
    "pbo_reading",
    "probabilistic_sharpe_ratio",
    "probability_of_overfitting",
    "series_stats",
    "sharpe_ratio",
    "sharpe_standard_error",
]
