"""How much of a sweep winner's Sharpe ratio survives having been picked: ``sweep assess``.

:func:`assess_sweep` reads a sweep from the store (its trials, the best by the sweep's metric,
each trial's return series) and hands them to :func:`pedigree.selection.assess`: the number of
trials N (every recorded trial, failed ones counted), the effective number of independent ones,
the winner's Sharpe ratio, PSR, SR0, DSR and the PBO by CSCV. ``docs/selection.md`` explains the
measures; ``docs/sweeps.md`` ("Assessing the winner") how to log returns.

Returns are a metric history (``run.log_returns(series)`` logs ``returns``, one value per step);
the series of the finished trials are aligned on the steps common to all of them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput
from pedigree.sweep.grid import MAXIMIZE

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.sweep.results import SweepReport, TrialRow

__all__ = ["ACROSS", "DEFAULT_PERIODS_PER_YEAR", "PERIODS_METRIC", "assess_sweep"]

ACROSS = ("experiment",)
DEFAULT_PERIODS_PER_YEAR = 252.0
PERIODS_METRIC = "returns_periods_per_year"  # logged by run.log_returns


def _ranked(report: SweepReport, metric: str | None) -> tuple[str, list[TrialRow]]:
    """The sweep's metric (or ``metric``) and its trials ranked by it, best first."""
    from dataclasses import replace

    from pedigree.sweep.results import rank_trials

    spec = report.spec
    name = metric or spec.metric
    if not name:
        raise InvalidInput(
            f"sweep {report.id} has no target metric to pick its best trial by",
            hint="name one: pedigree sweep assess SWEEP --metric sharpe",
        )
    if name == spec.metric:
        return name, report.trials
    return name, rank_trials([row.to_json() for row in report.trials], replace(spec, metric=name))


def _aligned(
    series: dict[str, tuple[list[int], list[float]]], ids: list[str]
) -> tuple[list[list[float]], int]:
    """The series of ``ids`` on the steps all of them have, and how many steps that is."""
    first_steps = series[ids[0]][0]
    if all(series[i][0] == first_steps for i in ids):
        return [series[i][1] for i in ids], len(first_steps)
    common = set(first_steps)
    for i in ids[1:]:
        common.intersection_update(series[i][0])
    out = []
    for i in ids:
        steps, values = series[i]
        out.append([v for s, v in zip(steps, values, strict=True) if s in common])
    return out, len(common)


def _check_finite(
    matrix: list[list[float]], ids: list[str], series: dict[str, Any], returns_metric: str
) -> None:
    import numpy as np

    finite = np.isfinite(np.asarray(matrix, dtype=float))
    if finite.all():
        return
    row, column = (int(x) for x in np.argwhere(~finite)[0])
    steps = series[ids[row]][0]
    step = steps[column] if len(steps) == len(matrix[row]) else f"#{column}"
    raise InvalidInput(
        f"trial {ids[row]}'s {returns_metric!r} history is not finite at step {step}: "
        "returns must be finite numbers"
    )


def assess_sweep(
    ctx: Context,
    sweep_ref: str,
    *,
    metric: str | None = None,
    returns_metric: str = "returns",
    periods_per_year: float | None = None,
    partitions: int = 16,
    across: str | None = None,
) -> dict[str, Any]:
    """Assess the best trial of the sweep ``sweep_ref`` (id, unique prefix or ``last``).

    ``metric`` picks the best by another metric than the sweep's (same direction);
    ``returns_metric`` names the history holding each trial's per-period returns;
    ``periods_per_year`` defaults to what the winner logged with ``run.log_returns`` (else 252);
    ``across="experiment"`` also counts, in N, every other recorded run of the experiment that
    read the same input versions as the winner (trials without returns, for SR0 and the DSR).

    Returns the :class:`~pedigree.selection.Assessment` fields (``trials``, ``effective_trials``,
    ``sharpe``, ``sharpe_annualized``, ``skew``, ``kurtosis``, ``psr``, ``sr0``, ``dsr``,
    ``pbo``, ...) with ``sweep``, ``selected``, ``metric``, ``direction``, ``reading`` and
    ``pbo_reading``. Missing returns, too few observations or trials: ``InvalidInput``.
    """
    from pedigree.selection import assess
    from pedigree.sweep.results import load_report

    if across is not None and across not in ACROSS:
        raise InvalidInput(f"--across is {' or '.join(ACROSS)}, not {across!r}")
    report = load_report(ctx, sweep_ref)
    name, ranked = _ranked(report, metric)
    best = ranked[0] if ranked and ranked[0].rank == 1 else None
    if best is None:
        raise InvalidInput(
            f"no finished trial of sweep {report.id} reported the metric {name!r}: "
            "there is no selected trial to assess"
        )
    finished = [row for row in ranked if row.status == "finished"]
    ids = [row.id for row in finished]
    with ctx.read() as reader:
        series = reader.metric_series(ids, returns_metric)
        others: dict[str, str | None] = {}
        if across == "experiment":
            others = reader.runs_on_same_inputs(best.id, kinds=("run",))
    lacking = [i for i in ids if i not in series]
    if lacking:
        more = f" (and {len(lacking) - 1} more)" if len(lacking) > 1 else ""
        raise InvalidInput(
            f"trial {lacking[0]}{more} logged no {returns_metric!r} history: log it with "
            "run.log_returns(...) or name another with --returns-metric"
        )
    matrix, observations = _aligned(series, ids)
    _check_finite(matrix, ids, series, returns_metric)
    if periods_per_year is None:
        logged = best.value(PERIODS_METRIC)
        ok = logged is not None and math.isfinite(logged) and logged > 0
        periods_per_year = logged if logged is not None and ok else DEFAULT_PERIODS_PER_YEAR
    in_sweep = {row.id for row in ranked}
    outside = sorted(rid for rid, parent in others.items() if rid not in in_sweep)
    trials = len(ranked) + len(outside)
    if observations < 2 * partitions:
        raise InvalidInput(
            f"the trials' {returns_metric!r} histories share {observations} steps; "
            f"{2 * partitions} or more are needed for {partitions} partitions "
            "(fewer with --partitions)"
        )
    result = assess(
        matrix,
        ids.index(best.id),
        periods_per_year=periods_per_year,
        partitions=partitions,
        trials=trials,
    )
    data = result.to_dict()
    del data["selected_index"]  # a position in the matrix; `selected` names the run
    data.update(
        sweep=report.id,
        selected=best.id,
        metric=name,
        direction="maximize" if report.spec.goal == MAXIMIZE else "minimize",
        returns_metric=returns_metric,
        across=across,
        sweep_trials=len(ranked),
        failed_trials=sum(row.status != "finished" for row in ranked),
        other_runs=len(outside),
        reading=result.reading(),
        pbo_reading=result.pbo_reading(),
    )
    return data
