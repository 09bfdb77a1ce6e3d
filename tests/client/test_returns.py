"""``run.log_returns``: a return series as the metric history ``returns``, any sequence type."""

from __future__ import annotations

import math
from typing import Any

import pytest
from tests.client.test_run import Collect
from tests.conftest import Project

from pedigree.client.run import ActiveRun
from pedigree.errors import InvalidValue

SERIES = [0.01, -0.02, 0.005, 0.0, 0.0125]


def _points(series: Any, **kwargs: Any) -> list[tuple[str, int, float]]:
    sink = Collect()
    with ActiveRun("r", "e", None, sink) as run:
        run.log_returns(series, **kwargs)
    return [(k, step, v) for k, step, v, _ in sink.points]


def _expected(periods: float = 252.0) -> list[tuple[str, int, float]]:
    return [("returns", i, v) for i, v in enumerate(SERIES)] + [
        ("returns_periods_per_year", 0, periods)
    ]


def test_a_list_a_tuple_an_array_and_a_series_log_the_same_points() -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    assert _points(SERIES) == _expected()
    assert _points(tuple(SERIES)) == _expected()
    assert _points(np.array(SERIES)) == _expected()
    dated = pd.Series(SERIES, index=pd.date_range("2024-01-01", periods=len(SERIES)))
    assert _points(dated, periods_per_year=365) == _expected(365.0)
    assert all(type(v) is float for _, _, v in _points(np.array(SERIES, dtype=np.float32)))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_return_is_refused_naming_its_position(bad: float) -> None:
    sink = Collect()
    run = ActiveRun("r", "e", None, sink)
    with pytest.raises(InvalidValue, match=r"returns\[2\]"):
        run.log_returns([0.01, 0.02, bad, 0.03])
    run.end()
    assert sink.points == []  # nothing of a refused series is logged


@pytest.mark.parametrize(
    ("series", "periods", "message"),
    [
        ("0.01,0.02", 252, "not str"),
        (42, 252, "not int"),
        ([0.01, "x"], 252, "must be a number"),
        ([0.01], 0, "periods_per_year"),
        ([0.01], math.nan, "periods_per_year"),
    ],
)
def test_other_bad_input_is_refused(series: Any, periods: float, message: str) -> None:
    run = ActiveRun("r", "e", None, Collect())
    with pytest.raises(InvalidValue, match=message):
        run.log_returns(series, periods_per_year=periods)


def test_returns_are_stored_as_a_history(any_project: Project) -> None:
    import pedigree

    with pedigree.start_run(experiment="returns") as run:
        run.log_returns(SERIES, periods_per_year=12)
    from pedigree.config import find_project
    from pedigree.context import Context

    record = any_project.tracker().get_run(run.id)
    assert record["metrics"]["returns_periods_per_year"] == 12
    assert record["metrics"]["returns"] == SERIES[-1]
    with Context(find_project(any_project.root)).read() as reader:
        history = reader.metric_history(run.id, "returns")
        series = reader.metric_series([run.id, "no-such-run"], "returns")
    assert [(step, value) for _, step, value, _ in history] == list(enumerate(SERIES))
    assert series == {run.id: (list(range(len(SERIES))), SERIES)}
