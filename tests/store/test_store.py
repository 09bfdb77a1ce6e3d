"""The metadata store contract, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
import math
import time

import pytest
import sqlalchemy as sa

from pedigree.errors import Conflict, RunImmutable, RunNotFound, StoreError
from pedigree.ids import new_id
from pedigree.store import open_store
from pedigree.store import schema as t
from pedigree.store.chain import GENESIS, event_digest
from pedigree.store.events import Event, event


def created(run_id: str, **extra: object) -> Event:
    payload = {
        "id": run_id,
        "experiment": "exp",
        "name": None,
        "kind": "run",
        "command": ["python", "x.py"],
        "cwd": "/tmp",
        "user": "ann",
        "host": "h",
        "pid": 1,
        "seed": None,
        "started_at": time.time(),
        **extra,
    }
    return event("run.created", payload)


def ended(run_id: str, status: str = "finished") -> Event:
    return event("run.ended", {"run_id": run_id, "status": status, "ended_at": time.time()})


@pytest.fixture
def store(store_uri: str):  # type: ignore[no-untyped-def]
    s = open_store(store_uri)
    yield s
    s.close()


def test_a_run_round_trips_with_params_and_metrics(store) -> None:  # type: ignore[no-untyped-def]
    rid = new_id()
    store.append(
        [
            created(rid),
            event("run.params", {"run_id": rid, "params": {"window": 50, "sym": "AAPL"}}),
            event(
                "run.metrics",
                {"run_id": rid, "points": [["pnl", 0, 1.0, 1.0], ["pnl", 1, 2.5, 2.0]]},
            ),
        ],
        actor="ann",
    )
    with store.read() as reader:
        assert reader.params([rid])[rid] == {"sym": "AAPL", "window": 50}
        assert reader.latest_metrics([rid])[rid] == {"pnl": 2.5}
        assert [p[:3] for p in reader.metric_history(rid)] == [("pnl", 0, 1.0), ("pnl", 1, 2.5)]
        row = reader.run_rows([rid])[rid]
    assert row.status == "running"
    assert json.loads(row.command) == ["python", "x.py"]


def test_latest_metric_is_the_highest_step_even_when_logged_out_of_order(store) -> None:  # type: ignore[no-untyped-def]
    rid = new_id()
    store.append([created(rid)], actor="a")
    store.append([event("run.metrics", {"run_id": rid, "points": [["m", 5, 5.0, 1.0]]})], actor="a")
    store.append([event("run.metrics", {"run_id": rid, "points": [["m", 2, 2.0, 2.0]]})], actor="a")
    with store.read() as reader:
        assert reader.latest_metrics([rid])[rid] == {"m": 5.0}


def test_nan_is_stored_as_null_and_read_back_as_nan_infinity_kept(store) -> None:  # type: ignore[no-untyped-def]
    rid = new_id()
    pts = [["a", 0, None, 1.0], ["b", 0, math.inf, 1.0], ["c", 0, -math.inf, 1.0]]
    store.append([created(rid), event("run.metrics", {"run_id": rid, "points": pts})], actor="a")
    with store.read() as reader:
        m = reader.latest_metrics([rid])[rid]
        raw = reader.conn.execute(
            sa.select(t.metrics.c.value).where(t.metrics.c.key == "a")
        ).scalar()
    assert math.isnan(m["a"])
    assert raw is None
    assert m["b"] == math.inf
    assert m["c"] == -math.inf


def test_an_ended_run_refuses_every_change_and_the_refusal_writes_nothing(store) -> None:  # type: ignore[no-untyped-def]
    rid = new_id()
    store.append([created(rid), ended(rid)], actor="a")
    with store.read() as reader:
        before = reader.conn.execute(
            sa.select(sa.func.count()).select_from(t.audit_events)
        ).scalar()
    for ev in (
        event("run.params", {"run_id": rid, "params": {"x": 1}}),
        event("run.metrics", {"run_id": rid, "points": [["m", 0, 1.0, 1.0]]}),
        event("run.updated", {"run_id": rid, "name": "renamed"}),
        ended(rid, "failed"),
    ):
        with pytest.raises(RunImmutable, match="has ended"):
            store.append([ev], actor="a")
    with store.read() as reader:
        after = reader.conn.execute(sa.select(sa.func.count()).select_from(t.audit_events)).scalar()
        row = reader.run_rows([rid])[rid]
    assert after == before
    assert row.status == "finished"
    assert row.name is None


def test_a_param_cannot_change_value_but_may_be_logged_again(store) -> None:  # type: ignore[no-untyped-def]
    rid = new_id()
    store.append(
        [created(rid), event("run.params", {"run_id": rid, "params": {"w": 5}})], actor="a"
    )
    store.append([event("run.params", {"run_id": rid, "params": {"w": 5.0}})], actor="a")
    with pytest.raises(Conflict, match="already 5"):
        store.append([event("run.params", {"run_id": rid, "params": {"w": 6}})], actor="a")


def test_events_for_an_unknown_run_are_refused(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RunNotFound):
        store.append([event("run.params", {"run_id": new_id(), "params": {"w": 1}})], actor="a")


def test_every_write_is_chained_into_the_audit_log(store) -> None:  # type: ignore[no-untyped-def]
    rid = new_id()
    store.append([created(rid)], actor="ann", at=100.0)
    store.append([ended(rid)], actor="bob", at=101.0)
    with store.read() as reader:
        rows = reader.conn.execute(sa.select(t.audit_events).order_by(t.audit_events.c.seq)).all()
        head = reader.conn.execute(sa.select(t.audit_head)).one()
    assert [r.seq for r in rows] == [1, 2]
    assert rows[0].prev == GENESIS
    assert rows[1].prev == rows[0].digest
    for r in rows:
        assert r.digest == event_digest(
            prev=r.prev,
            seq=r.seq,
            at=r.at,
            actor=r.actor,
            kind=r.kind,
            run_id=r.run_id,
            payload=r.payload,
            identity=r.identity,
        )
        assert r.identity == "self-declared"
    assert (head.seq, head.digest) == (2, rows[1].digest)
    assert [r.actor for r in rows] == ["ann", "bob"]


def test_a_failing_build_writes_nothing(store) -> None:  # type: ignore[no-untyped-def]
    def build(conn):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.write(build, actor="a")
    with store.read() as reader:
        assert reader.conn.execute(sa.select(t.audit_head.c.seq)).scalar() == 0


def test_heartbeats_are_not_part_of_the_record(store) -> None:  # type: ignore[no-untyped-def]
    rid = new_id()
    store.append([created(rid)], actor="a")
    store.heartbeat(rid, host="h", pid=42)
    store.heartbeat(rid, host="h", pid=42)
    with store.read() as reader:
        assert reader.conn.execute(sa.select(t.run_liveness.c.pid)).scalar() == 42
        assert reader.conn.execute(sa.select(t.audit_head.c.seq)).scalar() == 1
    store.append([ended(rid)], actor="a")
    with store.read() as reader:
        assert (
            reader.conn.execute(sa.select(sa.func.count()).select_from(t.run_liveness)).scalar()
            == 0
        )


def test_opening_an_existing_store_does_not_migrate_again(store_uri: str) -> None:
    open_store(store_uri).close()
    s = open_store(store_uri)
    from pedigree.store.migrations import HEAD_REVISION

    assert s.schema_revision() == HEAD_REVISION
    s.close()


def test_an_unreachable_store_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="failed"):
        open_store("postgresql://nobody@/nowhere?host=/nonexistent-socket-dir")


def test_an_unsupported_uri_is_refused() -> None:
    from pedigree.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unsupported store URI"):
        open_store("mysql://x/y")
