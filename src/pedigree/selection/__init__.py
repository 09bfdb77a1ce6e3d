"""Selection-aware results: the Deflated Sharpe Ratio and the Probability of Backtest Overfitting.

The statistical core of "best of N trials": pure functions of return series and summary
statistics, with no store. ``import pedigree.selection`` needs only the standard library; the
functions that take whole matrices of returns (:func:`assess`, :func:`effective_trials`,
:func:`probability_of_overfitting`) import numpy when called (the ``demo`` / ``dev`` extras).

Start with :func:`assess`; ``docs/selection.md`` explains the measures, formulas and sources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# The names below are imported when first used (PEP 562): importing one submodule of the package
# (a run record's enricher, say) does not import them all, which costs every CLI command that
# reads (issue 18).
_LAZY = {
    "Assessment": "pedigree.selection.assess",
    "assess": "pedigree.selection.assess",
    "dsr_reading": "pedigree.selection.assess",
    "pbo_reading": "pedigree.selection.assess",
    "ESTIMATORS": "pedigree.selection.effective",
    "EffectiveTrials": "pedigree.selection.effective",
    "Estimator": "pedigree.selection.effective",
    "effective_trials": "pedigree.selection.effective",
    "effective_trials_from_correlation": "pedigree.selection.effective",
    "PBOResult": "pedigree.selection.pbo",
    "cscv_combinations": "pedigree.selection.pbo",
    "probability_of_overfitting": "pedigree.selection.pbo",
    "EULER_MASCHERONI": "pedigree.selection.stats",
    "SeriesStats": "pedigree.selection.stats",
    "annualize": "pedigree.selection.stats",
    "deflated_sharpe_ratio": "pedigree.selection.stats",
    "expected_max_sharpe": "pedigree.selection.stats",
    "normal_cdf": "pedigree.selection.stats",
    "normal_inv_cdf": "pedigree.selection.stats",
    "probabilistic_sharpe_ratio": "pedigree.selection.stats",
    "series_stats": "pedigree.selection.stats",
    "sharpe_ratio": "pedigree.selection.stats",
    "sharpe_standard_error": "pedigree.selection.stats",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
