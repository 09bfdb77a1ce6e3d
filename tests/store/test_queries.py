"""Run queries: --where, --order-by, --limit and run references, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import time

import pytest

from pedigree.errors import Ambiguous, InvalidQuery, RunNotFound
from pedigree.ids import new_id
from pedigree.store import open_store
from pedigree.store.events import event
from pedigree.store.where import parse_order_by, parse_where


def add_run(store, *, experiment="exp", status="finished", params=None, metrics=None, name=None):  # type: ignore[no-untyped-def]
    rid = new_id()
    events = [
        event(
            "run.created",
            {
                "id": rid,
                "experiment": experiment,
                "name": name,
                "kind": "run",
                "started_at": time.time(),
                "command": ["x"],
            },
        )
    ]
    if params:
        events.append(event("run.params", {"run_id": rid, "params": params}))
    if metrics:
        pts = [
            [k, 0, None if isinstance(v, float) and math.isnan(v) else v, 1.0]
            for k, v in metrics.items()
        ]
        events.append(event("run.metrics", {"run_id": rid, "points": pts}))
    if status != "running":
        events.append(
            event("run.ended", {"run_id": rid, "status": status, "ended_at": time.time()})
        )
    store.append(events, actor="a")
    return rid


@pytest.fixture
def store(store_uri: str):  # type: ignore[no-untyped-def]
    s = open_store(store_uri)
    yield s
    s.close()


@pytest.fixture
def sweep(store):  # type: ignore[no-untyped-def]
    """12 runs: window x instrument, sharpe = window / 100 (+0.01 for JPM)."""
    ids = {}
    for window in (10, 20, 50, 100, 200, 300):
        for inst in ("AAPL", "JPM"):
            sharpe = window / 100 + (0.01 if inst == "JPM" else 0)
            ids[(window, inst)] = add_run(
                store,
                experiment="ma",
                params={"window": window, "instrument": inst, "fast": window < 50},
                metrics={"sharpe": sharpe, "drawdown": -window / 1000},
            )
    return ids


def select(store, **kw):  # type: ignore[no-untyped-def]
    if isinstance(kw.get("where"), str):
        kw["where"] = parse_where(kw["where"])
    if isinstance(kw.get("order_by"), str):
        kw["order_by"] = parse_order_by(kw["order_by"])
    with store.read() as reader:
        return reader.select_runs(**kw)


def test_the_issue_query(store, sweep) -> None:  # type: ignore[no-untyped-def]
    other = add_run(store, experiment="other", params={"window": 500}, metrics={"sharpe": 9.0})
    ids = select(
        store,
        experiment="ma",
        where="metrics.sharpe > 1 and params.window >= 20",
        order_by="-metrics.sharpe",
        limit=20,
    )
    assert ids == [
        sweep[(300, "JPM")],
        sweep[(300, "AAPL")],
        sweep[(200, "JPM")],
        sweep[(200, "AAPL")],
        sweep[(100, "JPM")],  # 1.01 > 1; AAPL's 1.0 is not
    ]
    assert other not in ids


def test_ascending_order_and_limit(store, sweep) -> None:  # type: ignore[no-untyped-def]
    assert select(store, order_by="metrics.sharpe", limit=3) == [
        sweep[(10, "AAPL")],
        sweep[(10, "JPM")],
        sweep[(20, "AAPL")],
    ]


def test_runs_without_the_metric_or_with_nan_come_last(store, sweep) -> None:  # type: ignore[no-untyped-def]
    nan = add_run(store, experiment="ma", metrics={"sharpe": float("nan")})
    none = add_run(store, experiment="ma")
    ids = select(store, experiment="ma", order_by="-metrics.sharpe")
    assert ids[0] == sweep[(300, "JPM")]
    assert set(ids[-2:]) == {nan, none}
    assert len(ids) == 14
    # and a limit that reaches into the runs without the metric
    assert len(select(store, experiment="ma", order_by="-metrics.sharpe", limit=13)) == 13


def test_string_bool_in_like_and_not(store, sweep) -> None:  # type: ignore[no-untyped-def]
    assert len(select(store, where="params.instrument = 'JPM'")) == 6
    assert len(select(store, where="params.fast = true")) == 4
    assert len(select(store, where="params.window in (10, 300)")) == 4
    assert len(select(store, where="params.instrument not in ('JPM')")) == 6
    assert len(select(store, where="params.instrument like 'J%'")) == 6
    assert len(select(store, where="not (params.window < 100)")) == 6
    assert len(select(store, where="params.window = 10 or params.window = 20")) == 4
    assert len(select(store, where="metrics.drawdown <= -0.2")) == 4


def test_attributes_and_null_checks(store, sweep) -> None:  # type: ignore[no-untyped-def]
    failed = add_run(store, experiment="ma", status="failed", name="bad")
    running = add_run(store, experiment="ma", status="running")
    assert select(store, where="status = 'failed'") == [failed]
    assert select(store, where="status = 'running'") == [running]
    assert select(store, where="name = 'bad'") == [failed]
    assert set(select(store, where="metrics.sharpe is null")) == {failed, running}
    assert len(select(store, where="params.window is not null")) == 12
    assert len(select(store, where="started_at > '2000-01-01'")) == 14
    assert select(store, where="started_at < '2000-01-01'") == []


def test_order_by_param_then_metric(store, sweep) -> None:  # type: ignore[no-untyped-def]
    ids = select(store, order_by="-params.window, metrics.sharpe", limit=2)
    assert ids == [sweep[(300, "AAPL")], sweep[(300, "JPM")]]


def test_default_order_is_newest_first(store, sweep) -> None:  # type: ignore[no-untyped-def]
    ids = select(store)
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize(
    "where",
    ["metrics.sharpe > 'high'", "metrics.sharpe like '1%'", "started_at > 'yesterday'"],
)
def test_type_errors_in_where(store, where) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidQuery):
        select(store, where=where)


def test_run_references(store) -> None:  # type: ignore[no-untyped-def]
    a = add_run(store)
    b = add_run(store)
    with store.read() as reader:
        assert reader.resolve_run("last") == b
        assert reader.resolve_run(a) == a
        assert reader.resolve_run(a.upper()) == a
        short = reader.abbreviations([a, b])
        assert reader.resolve_run(short[a]) == a
        assert reader.resolve_run(short[b]) == b
        assert len(short[a]) >= 8
        with pytest.raises(Ambiguous, match="matches several runs"):
            reader.resolve_run(a[:6])  # both runs share their first hex digits (same ms)
        with pytest.raises(RunNotFound):
            reader.resolve_run("ffffffff")
        with pytest.raises(RunNotFound):
            reader.resolve_run("not-an-id!")
        with pytest.raises(RunNotFound):
            reader.resolve_run("0" * 8 + "-0000-7000-8000-" + "0" * 12)


def test_last_on_an_empty_store(store) -> None:  # type: ignore[no-untyped-def]
    with store.read() as reader, pytest.raises(RunNotFound, match="no runs yet"):
        reader.resolve_run("last")
