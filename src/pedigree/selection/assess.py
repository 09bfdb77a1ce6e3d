"""One call for a selected trial: how much of its Sharpe ratio survives having been selected.

:func:`assess` takes every trial's returns and the index of the one that was selected, and gives
an :class:`Assessment`: the number of trials and the effective number of independent ones, the
selected trial's Sharpe ratio (per period and annualized), skewness and kurtosis, its PSR against
0, the expected maximum Sharpe ratio of that many unskilled trials (SR0), the DSR, and the PBO by
CSCV with its logits and the probability of loss out of sample. ``docs/selection.md`` explains
each number and its source.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from typing import Any

from pedigree.errors import InvalidInput
from pedigree.selection._matrix import (
    TrialReturns,
    as_matrix,
    check_count,
    check_not_constant,
    sharpe_ratios,
)
from pedigree.selection.effective import Estimator, effective_trials
from pedigree.selection.pbo import probability_of_overfitting
from pedigree.selection.stats import (
    annualize,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    series_stats,
)

__all__ = ["Assessment", "assess", "dsr_reading", "pbo_reading"]


def dsr_reading(dsr: float, trials: int) -> str:
    """The one-sentence reading of a DSR.

    >>> print(dsr_reading(0.4123, 24))  # doctest: +NORMALIZE_WHITESPACE
    the probability that the true Sharpe ratio exceeds what the best of 24
    unskilled trials would show: 0.41
    """
    noun = "trial" if trials == 1 else "trials"
    return (
        f"the probability that the true Sharpe ratio exceeds what the best of {trials} "
        f"unskilled {noun} would show: {dsr:.2f}"
    )


def pbo_reading(pbo: float, combinations: int) -> str:
    """The one-sentence reading of a PBO.

    >>> print(pbo_reading(0.125, 12870))  # doctest: +NORMALIZE_WHITESPACE
    the best trial in sample fell to the median or below out of sample in 12.5%
    of 12870 splits (PBO 0.12)
    """
    return (
        f"the best trial in sample fell to the median or below out of sample in "
        f"{pbo:.1%} of {combinations} splits (PBO {pbo:.2f})"
    )


@dataclass(frozen=True)
class Assessment:
    """What :func:`assess` found. Ratios are per period unless named ``_annualized``."""

    trials: int  # N: every trial of the selection, with returns or not
    effective_trials: float  # the effective number of independent trials (estimator below)
    sharpe: float  # the selected trial's Sharpe ratio, per period
    sharpe_annualized: float  # sharpe * sqrt(periods_per_year)
    skew: float  # skewness of its returns
    kurtosis: float  # kurtosis of its returns (non-excess: 3 for Normal)
    psr: float  # PSR(0): probability that the true Sharpe ratio is above 0
    sr0: float  # expected maximum Sharpe ratio of effective_trials unskilled trials, per period
    dsr: float  # PSR(sr0)
    pbo: float  # probability of backtest overfitting (CSCV)
    # extras
    selected_index: int
    observations: int  # T, periods per series
    periods_per_year: float
    trials_with_returns: int  # the series the correlation, V[SR] and the PBO were computed on
    sharpe_variance: float  # V[SR_n]: sample variance of those trials' per-period Sharpe ratios
    sr0_annualized: float
    average_correlation: float  # mean pairwise correlation of the trials' returns
    effective_trials_estimator: Estimator
    partitions: int  # S of CSCV
    pbo_combinations: int  # C(S, S/2)
    pbo_logits: tuple[float, ...]
    prob_oos_loss: float  # share of CSCV splits where the IS winner lost money out of sample

    def reading(self) -> str:
        """The DSR in one sentence (N is the number of trials counted, not the effective one).

        >>> a = assess([[0.01, 0.02, -0.01, 0.03] * 8, [0.0, -0.01, 0.02, 0.01] * 8,
        ...             [0.02, -0.02, 0.01, 0.0] * 8], 0, partitions=4)
        >>> print(a.reading())  # doctest: +NORMALIZE_WHITESPACE
        the probability that the true Sharpe ratio exceeds what the best of 3
        unskilled trials would show: 0.99
        """
        return dsr_reading(self.dsr, self.trials)

    def pbo_reading(self) -> str:
        """The PBO in one sentence."""
        return pbo_reading(self.pbo, self.pbo_combinations)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (every value is finite): the fields by name, logits as a list."""
        # Shallow: every field is a number, a string or the logits (asdict would deep-copy
        # 12,870 of them for nothing).
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["pbo_logits"] = list(self.pbo_logits)
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        """The fields as strict JSON (``trials``, ``effective_trials``, ``sharpe``, ...)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def assess(
    trial_returns: TrialReturns,
    selected_index: int,
    *,
    periods_per_year: float = 252,
    partitions: int = 16,
    trials: int | None = None,
    estimator: Estimator = "average_correlation",
    sharpe_variance: float | None = None,
) -> Assessment:
    """Assess the trial ``selected_index`` of ``trial_returns`` as the pick of a selection.

    ``trial_returns``: one per-period (excess) return series per trial, all over the same T
    periods (a list of lists or of arrays / Series, or an N x T array; a DataFrame with one column
    per trial is T x N: pass ``frame.T``). At least 2 trials, none constant, no NaN, and
    T >= 2 * ``partitions``; anything else is ``InvalidInput``.

    ``trials``: the number of trials the selection was made from when it is more than the
    series given (failed trials, earlier runs on the same data); it enters N and N_eff, while the
    correlation, V[SR_n] and the PBO come from the series given. ``sharpe_variance``: V[SR_n] per
    period, if known from elsewhere (default: the sample variance, divisor n - 1, of the given
    trials' per-period Sharpe ratios). ``estimator``: see :mod:`pedigree.selection.effective`.

    SR0 uses the effective number of trials N_eff; the DSR is PSR(SR0) of the selected trial.
    The PBO is of the selection rule "best Sharpe ratio in sample" over the given series.

    >>> import numpy as np
    >>> returns = np.random.default_rng(1).normal(0.0, 0.01, size=(24, 1000))
    >>> best = int(np.argmax(returns.mean(axis=1) / returns.std(axis=1)))
    >>> a = assess(returns, best, partitions=8)
    >>> a.trials, round(a.sharpe_annualized, 2), round(a.dsr, 2), round(a.pbo, 2)
    (24, 0.67, 0.24, 0.69)
    """
    matrix = as_matrix(trial_returns, min_trials=2)
    check_not_constant(matrix)
    n, t = matrix.shape
    if isinstance(selected_index, bool) or not isinstance(selected_index, int):
        raise InvalidInput(f"selected_index must be an integer, not {selected_index!r}")
    if not 0 <= selected_index < n:
        raise InvalidInput(
            f"selected_index {selected_index} is not one of the {n} trials (0..{n - 1})"
        )
    total = n if trials is None else check_count("trials", trials, minimum=1)
    if total < n:
        raise InvalidInput(f"trials={total} is fewer than the {n} trials with returns")
    annualize(1.0, periods_per_year)  # validates periods_per_year

    selected = series_stats(matrix[selected_index].tolist())
    sharpes = sharpe_ratios(matrix)
    if sharpe_variance is None:
        variance = float(sharpes.var(ddof=1))
    else:
        variance = float(sharpe_variance)
        if not (math.isfinite(variance) and variance >= 0.0):
            raise InvalidInput(f"sharpe_variance must be >= 0, not {sharpe_variance!r}")
    eff = effective_trials(matrix, trials=total, estimator=estimator)
    sr0 = expected_max_sharpe(eff.value, variance)
    moments = {"skew": selected.skew, "kurtosis": selected.kurtosis}
    psr = probabilistic_sharpe_ratio(selected.sharpe, t, benchmark=0.0, **moments)
    dsr = probabilistic_sharpe_ratio(selected.sharpe, t, benchmark=sr0, **moments)
    pbo = probability_of_overfitting(matrix, partitions=partitions)
    return Assessment(
        trials=total,
        effective_trials=eff.value,
        sharpe=selected.sharpe,
        sharpe_annualized=annualize(selected.sharpe, periods_per_year),
        skew=selected.skew,
        kurtosis=selected.kurtosis,
        psr=psr,
        sr0=sr0,
        dsr=dsr,
        pbo=pbo.pbo,
        selected_index=selected_index,
        observations=t,
        periods_per_year=float(periods_per_year),
        trials_with_returns=n,
        sharpe_variance=variance,
        sr0_annualized=annualize(sr0, periods_per_year),
        average_correlation=eff.average_correlation,
        effective_trials_estimator=eff.estimator,
        partitions=pbo.partitions,
        pbo_combinations=pbo.combinations,
        pbo_logits=pbo.logits,
        prob_oos_loss=pbo.prob_oos_loss,
    )
