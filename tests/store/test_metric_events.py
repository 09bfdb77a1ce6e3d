"""Metric points in the log: packed on the way in, the same rows whatever form they came in,
and refused whole when a point cannot be stored (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from pedigree.audit.verify import verify
from pedigree.errors import InvalidValue, StoreError
from pedigree.ids import new_id
from pedigree.store import SQLStore, open_store
from pedigree.store import schema as t
from pedigree.store.codec import columns, pack_points, unpack_points
from pedigree.store.events import event

POINTS = [
    ["loss", 0, 0.5, 10.0],
    ["acc", 0, math.nan, 10.0],  # a NaN, not None: stored as NULL all the same
    ["loss", 1, 0.25, 11.0],
    ["acc", 1, math.inf, 11.0],
    ["loss", 1, 0.2, 12.0],  # the same step again: the later one is the latest
    ["ééé", -3, 7, 13.0],
]


@pytest.fixture
def store(store_uri: str) -> Iterator[SQLStore]:
    s = open_store(store_uri)
    yield s
    s.close()


def _run(store: SQLStore, points: Any) -> str:
    rid = new_id()
    created = {"id": rid, "experiment": "e", "started_at": time.time()}
    store.append(
        [
            event("run.created", created),
            event("run.metrics", {"run_id": rid, "points": points}),
        ],
        actor="ann",
    )
    return rid


def _tables(store: SQLStore, rid: str) -> tuple[list[Any], list[Any]]:
    m, lm = t.metrics.c, t.latest_metrics.c
    with store.read() as reader:
        metrics = reader.conn.execute(
            sa.select(m.key, m.step, m.value, m.ts).where(m.run_id == rid).order_by(m.id)
        ).all()
        latest = reader.conn.execute(
            sa.select(lm.key, lm.step, lm.value, lm.ts).where(lm.run_id == rid).order_by(lm.key)
        ).all()
    return [tuple(r) for r in metrics], [tuple(r) for r in latest]


def test_points_as_a_list_packed_or_as_columns_make_the_same_rows(store: SQLStore) -> None:
    forms = [POINTS, pack_points(POINTS), columns(POINTS)]
    runs = [_run(store, form) for form in forms]
    expected = (
        [
            ("loss", 0, 0.5, 10.0),
            ("acc", 0, None, 10.0),
            ("loss", 1, 0.25, 11.0),
            ("acc", 1, math.inf, 11.0),
            ("loss", 1, 0.2, 12.0),
            ("ééé", -3, 7.0, 13.0),
        ],
        [("acc", 1, math.inf, 11.0), ("loss", 1, 0.2, 12.0), ("ééé", -3, 7.0, 13.0)],
    )
    for rid in runs:
        assert _tables(store, rid) == expected
    assert verify(store).ok


def test_the_log_holds_the_points_packed(store: SQLStore) -> None:
    rid = _run(store, POINTS)
    e = t.audit_events.c
    with store.read() as reader:
        payload = reader.conn.execute(
            sa.select(e.payload).where(e.run_id == rid, e.kind == "run.metrics")
        ).scalar_one()
    logged = json.loads(payload)
    assert logged == {"run_id": rid, "points": pack_points(POINTS)}
    keys, steps, values, _times = unpack_points(logged["points"])
    assert (keys, steps) == (["loss", "acc", "loss", "acc", "loss", "ééé"], (0, 0, 1, 1, 1, -3))
    assert list(values) == [0.5, None, 0.25, math.inf, 0.2, 7.0]


@pytest.mark.parametrize(
    "points",
    [
        [["m", 0, "high", 1.0]],
        [["m", 0.5, 1.0, 1.0]],
        [["m", 0, 1.0, 1.0, "extra"]],
        {"keys": ["m"], "data": "AAAA"},
    ],
)
def test_a_point_that_cannot_be_stored_refuses_the_whole_write(
    store: SQLStore, points: Any
) -> None:
    with pytest.raises(ValueError, match=r"metric|points"):
        _run(store, points)
    with store.read() as reader:
        assert reader.conn.execute(sa.select(t.audit_head.c.seq)).scalar() == 0
        assert reader.conn.execute(sa.select(sa.func.count()).select_from(t.runs)).scalar() == 0


def test_invalid_points_are_an_invalid_value(store: SQLStore) -> None:
    with pytest.raises(InvalidValue, match="must be a number"):
        _run(store, [["m", 0, "high", 1.0]])


def test_a_store_without_its_audit_head_refuses_to_write(store: SQLStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(t.audit_head.delete())
    with pytest.raises(StoreError, match="no audit head"):
        _run(store, POINTS)
