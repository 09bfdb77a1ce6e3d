"""Ranking a sweep's trials by its metric: best first, then no metric, then failures."""

from __future__ import annotations

from typing import Any

from pedigree.sweep.grid import SweepSpec
from pedigree.sweep.results import rank_trials


def rec(rid: str, status: str = "finished", **metrics: float) -> dict[str, Any]:
    return {"id": rid, "status": status, "params": {}, "metrics": metrics, "name": rid}


RECORDS = [
    rec("01", sharpe=0.5),
    rec("02", "failed"),
    rec("03", sharpe=float("nan")),
    rec("04", sharpe=1.5),
    rec("05", other=9.0),
    rec("06", sharpe=-0.2),
    rec("07", "killed", sharpe=9.0),  # a metric logged before it was killed does not rank
    rec("08", sharpe=0.5),
]


def test_maximize() -> None:
    rows = rank_trials(RECORDS, SweepSpec(params={"x": [1]}, command=["c"], metric="sharpe"))
    assert [r.id for r in rows] == ["04", "01", "08", "06", "03", "05", "02", "07"]
    assert [r.rank for r in rows] == [1, 2, 3, 4, None, None, None, None]


def test_minimize() -> None:
    spec = SweepSpec(params={"x": [1]}, command=["c"], metric="sharpe", goal="min")
    rows = rank_trials(list(reversed(RECORDS)), spec)
    # Ties keep the order the trials were started in (their time-ordered ids).
    assert [r.id for r in rows] == ["06", "01", "08", "04", "03", "05", "02", "07"]


def test_without_a_metric_the_order_is_the_start_order_with_failures_last() -> None:
    rows = rank_trials(RECORDS, SweepSpec(params={"x": [1]}, command=["c"]))
    assert [r.id for r in rows] == ["01", "03", "04", "05", "06", "08", "02", "07"]
    assert all(r.rank is None for r in rows)
