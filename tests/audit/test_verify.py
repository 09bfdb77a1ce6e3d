"""`audit verify` catches every kind of change made behind Pedigree's back, on both backends.

Each case changes a copy of a store with a full history through a plain sqlite3 or psycopg
connection (as someone with the sqlite3 shell or psql would) and checks that verification fails
and names the table and row; the clean store verifies. Each case is checked whole and split in
two shares by run (as two processes split it), since a row must be caught whichever share it
falls in; a few tests run the shares in real worker processes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from tests.audit.conftest import Golden
from tests.audit.history import History, sqlite_path, tamper

from pedigree.audit.verify import verify
from pedigree.errors import InvalidInput
from pedigree.ids import new_id
from pedigree.jsonutil import canonical_json
from pedigree.store import open_store
from pedigree.store.chain import GENESIS, event_digest
from pedigree.store.codec import pack_points, unpack_points
from pedigree.store.events import RunCreated, RunMetrics


def query(uri: str, sql: str) -> list[tuple[Any, ...]]:
    if uri.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(sqlite_path(uri))) as conn:
            return list(conn.execute(sql))
    import psycopg

    with psycopg.connect(uri) as conn:
        return list(conn.execute(sql))  # type: ignore[arg-type]


def check(uri: str, processes: int, *, spawn: bool = False, **kwargs: Any) -> Any:
    """Verify with the work split in ``processes`` shares (run here unless ``spawn``)."""
    store = open_store(uri)
    try:
        return verify(store, processes=processes, in_process=not spawn, **kwargs)
    finally:
        store.close()


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_a_clean_store_verifies(golden: Golden, processes: int) -> None:
    report = check(golden.uri, processes, spawn=True)
    assert report.ok, [str(p) for p in report.problems]
    assert report.processes == processes
    assert report.events == report.head_seq > 20
    # Every projected table has rows, so every table's check was exercised.
    for table in (
        "runs",
        "params",
        "metrics",
        "latest_metrics",
        "environments",
        "run_io",
        "tree_entries",
        "datasets",
        "reproductions",
        "approvals",
        "sweeps",
        "run_edges",
    ):
        assert report.rows[table] > 0, table


@dataclass
class Case:
    name: str
    change: Callable[[str, History], list[str]]
    table: str  # the table the first problem names
    key: Callable[[History], str] = lambda h: ""  # text the problem's key contains


def _swap(table: str, column: str, a: Any, b: Any) -> list[str]:
    return [
        f"UPDATE {table} SET {column} = -1 WHERE {column} = {a}",
        f"UPDATE {table} SET {column} = {a} WHERE {column} = {b}",
        f"UPDATE {table} SET {column} = {b} WHERE {column} = -1",
    ]


def _metric_ids(uri: str, h: History) -> list[int]:
    rows = query(uri, f"SELECT id FROM metrics WHERE run_id = '{h.run}' ORDER BY id")
    return [r[0] for r in rows]


def _last_seq(uri: str) -> int:
    return int(query(uri, "SELECT MAX(seq) FROM audit_events")[0][0])


CASES = [
    # -- the log itself -------------------------------------------------------------------------
    Case(
        "edit an event's payload",
        lambda u, h: [
            "UPDATE audit_events SET payload = replace(payload, '20', '21') "
            "WHERE kind = 'run.params' AND seq = (SELECT MIN(seq) FROM audit_events "
            "WHERE kind = 'run.params')"
        ],
        "audit_events",
    ),
    Case(
        "edit an event's actor",
        lambda u, h: ["UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"],
        "audit_events",
        lambda h: "seq 3",
    ),
    Case(
        "edit an event's time",
        lambda u, h: ["UPDATE audit_events SET at = at - 86400 WHERE seq = 5"],
        "audit_events",
        lambda h: "seq 5",
    ),
    Case(
        "delete an event in the middle",
        lambda u, h: ["DELETE FROM audit_events WHERE seq = 4"],
        "audit_events",
        lambda h: "seq 4",
    ),
    Case(
        "truncate the log",
        lambda u, h: [f"DELETE FROM audit_events WHERE seq > {_last_seq(u) - 2}"],
        "audit_head",
    ),
    Case(
        "truncate the log and move the head back",
        lambda u, h: [
            f"DELETE FROM audit_events WHERE seq > {_last_seq(u) - 1}",
            f"UPDATE audit_head SET seq = {_last_seq(u) - 1}, digest = (SELECT digest FROM "
            f"audit_events WHERE seq = {_last_seq(u) - 1})",
        ],
        "approvals",
    ),  # the last review's row is still there, but no longer in the log
    Case(
        "insert an event",
        lambda u, h: [
            "INSERT INTO audit_events (seq, at, actor, kind, run_id, payload, prev, digest) "
            f"VALUES ({_last_seq(u) + 1}, 0, 'mallory', 'run.updated', NULL, '{{}}', "
            f"'{GENESIS}', '{GENESIS}')"
        ],
        "audit_events",
        lambda h: "seq",
    ),
    Case(
        "reorder two events",
        lambda u, h: _swap("audit_events", "seq", 6, 7),
        "audit_events",
        lambda h: "seq 6",
    ),
    Case(
        "edit the head", lambda u, h: [f"UPDATE audit_head SET digest = '{GENESIS}'"], "audit_head"
    ),
    # -- runs -----------------------------------------------------------------------------------
    Case(
        "edit a run's status",
        lambda u, h: [f"UPDATE runs SET status = 'finished' WHERE id = '{h.trial}'"],
        "runs",
        lambda h: h.trial,
    ),
    Case(
        "edit a run's recorded commit",
        lambda u, h: [f"UPDATE runs SET code_commit = 'deadbeef' WHERE id = '{h.run}'"],
        "runs",
        lambda h: h.run,
    ),
    Case(
        "delete a run",
        lambda u, h: [f"DELETE FROM runs WHERE id = '{h.repro}'"],
        "runs",
        lambda h: h.repro,
    ),
    Case(
        "insert a run",
        lambda u, h: [
            "INSERT INTO runs (id, experiment, kind, status, started_at) "
            "VALUES ('01900000-0000-7000-8000-00000000000f', 'x', 'run', 'finished', 0)"
        ],
        "runs",
        lambda h: "01900000-0000-7000-8000-00000000000f",
    ),
    # -- params ---------------------------------------------------------------------------------
    Case(
        "edit a parameter",
        lambda u, h: [
            f"UPDATE params SET value = '50', num = 50 WHERE run_id = '{h.run}' AND key = 'window'"
        ],
        "params",
        lambda h: "window",
    ),
    Case(
        "edit only a parameter's typed copy",
        lambda u, h: [f"UPDATE params SET num = 2.5 WHERE run_id = '{h.run}' AND key = 'fee_bps'"],
        "params",
        lambda h: "fee_bps",
    ),
    Case(
        "delete a parameter",
        lambda u, h: [f"DELETE FROM params WHERE run_id = '{h.run}' AND key = 'instrument'"],
        "params",
        lambda h: "instrument",
    ),
    Case(
        "insert a parameter",
        lambda u, h: [
            f"INSERT INTO params (run_id, key, value, num) VALUES ('{h.trial}', "
            "'lookahead', '1', 1)"
        ],
        "params",
        lambda h: "lookahead",
    ),
    # -- metrics --------------------------------------------------------------------------------
    Case(
        "edit a metric point",
        lambda u, h: [f"UPDATE metrics SET value = 2.0 WHERE id = {_metric_ids(u, h)[0]}"],
        "metrics",
        lambda h: "id=",
    ),
    Case(
        "turn a NaN point into a number",
        lambda u, h: [f"UPDATE metrics SET value = 0 WHERE run_id = '{h.run}' AND step = 2"],
        "metrics",
    ),
    Case(
        "delete a metric point",
        lambda u, h: [f"DELETE FROM metrics WHERE id = {_metric_ids(u, h)[1]}"],
        "metrics",
        lambda h: "step=",
    ),
    Case(
        "insert a metric point",
        lambda u, h: [
            f"INSERT INTO metrics (run_id, key, step, value, ts) VALUES ('{h.run}', "
            "'sharpe', 7, 3.0, 0)"
        ],
        "metrics",
        lambda h: "id=",
    ),
    Case(
        "reorder metric points",
        lambda u, h: _swap("metrics", "id", *_metric_ids(u, h)[:2]),
        "metrics",
    ),
    Case(
        "edit a latest metric",
        lambda u, h: [
            f"UPDATE latest_metrics SET value = 3.5 WHERE run_id = '{h.run}' AND key = 'sharpe'"
        ],
        "latest_metrics",
        lambda h: "sharpe",
    ),
    Case(
        "delete a latest metric",
        lambda u, h: [f"DELETE FROM latest_metrics WHERE run_id = '{h.trial}'"],
        "latest_metrics",
        lambda h: h.trial,
    ),
    Case(
        "insert a latest metric",
        lambda u, h: [
            f"INSERT INTO latest_metrics (run_id, key, step, value, ts) VALUES "
            f"('{h.repro}', 'sharpe', 0, 4.0, 0)"
        ],
        "latest_metrics",
        lambda h: h.repro,
    ),
    # -- data -----------------------------------------------------------------------------------
    Case(
        "edit an input's digest",
        lambda u, h: [
            f"UPDATE run_io SET digest = '{h.dataset_v1}' WHERE run_id = '{h.run}' "
            "AND role = 'input'"
        ],
        "run_io",
        lambda h: "input",
    ),
    Case(
        "delete an output",
        lambda u, h: [f"DELETE FROM run_io WHERE run_id = '{h.sweep}'"],
        "run_io",
        lambda h: "plots/sweep.svg",
    ),
    Case(
        "insert an input",
        lambda u, h: [
            "INSERT INTO run_io (run_id, role, path, digest, size, kind, declared, "
            f"modified) VALUES ('{h.trial}', 'input', 'data/leak.csv', "
            f"'{h.dataset_v1}', 1, 'file', {'1' if u.startswith('sqlite') else 'true'}, "
            f"{'0' if u.startswith('sqlite') else 'false'})"
        ],
        "run_io",
        lambda h: "data/leak.csv",
    ),
    Case(
        "edit a dataset version's digest",
        lambda u, h: [f"UPDATE datasets SET digest = '{h.dataset_v1}' WHERE version = 2"],
        "datasets",
        lambda h: "prices",
    ),
    Case(
        "delete a dataset version",
        lambda u, h: ["DELETE FROM datasets WHERE version = 1"],
        "datasets",
        lambda h: "version=1",
    ),
    Case(
        "insert a dataset version",
        lambda u, h: [
            "INSERT INTO datasets (name, version, digest, kind, size, file_count, "
            f"created_at) VALUES ('prices', 3, '{h.dataset_v1}', 'dir', 1, 1, 0)"
        ],
        "datasets",
        lambda h: "version=3",
    ),
    Case(
        "edit a file of a manifest",
        lambda u, h: [
            f"UPDATE tree_entries SET size = 1 WHERE tree_digest = '{h.dataset_v2}' "
            "AND path = '2024.csv'"
        ],
        "tree_entries",
        lambda h: "2024.csv",
    ),
    Case(
        "delete a file of a manifest",
        lambda u, h: [f"DELETE FROM tree_entries WHERE tree_digest = '{h.dataset_v1}'"],
        "tree_entries",
    ),
    Case(
        "edit an environment",
        lambda u, h: [
            f"UPDATE environments SET python = '3.9.0' WHERE digest = 'blake3:{'e' * 64}'"
        ],
        "environments",
    ),
    Case(
        "delete an environment",
        lambda u, h: [f"DELETE FROM environments WHERE digest = 'blake3:{'e' * 64}'"],
        "environments",
    ),
    # -- run-to-run edges (recomputed from run_io, tree_entries, datasets, reproductions) --------
    Case(
        "delete a run-to-run edge",
        lambda u, h: [f"DELETE FROM run_edges WHERE src = '{h.run}' AND dst = '{h.repro}'"],
        "run_edges",
        lambda h: f"src={h.run!r}, dst={h.repro!r}",
    ),
    Case(
        "insert a run-to-run edge",
        lambda u, h: [f"INSERT INTO run_edges (src, dst) VALUES ('{h.sweep}', '{h.run}')"],
        "run_edges",
        lambda h: f"src={h.sweep!r}, dst={h.run!r}",
    ),
    Case(
        "redirect a run-to-run edge",
        lambda u, h: [f"UPDATE run_edges SET dst = '{h.trial}' WHERE src = '{h.run}'"],
        "run_edges",
        lambda h: f"dst={h.trial!r}",
    ),
    # -- reviews, reproductions, sweeps ---------------------------------------------------------
    Case(
        "turn a rejection into an approval",
        lambda u, h: ["UPDATE approvals SET decision = 'approved' WHERE decision = 'rejected'"],
        "approvals",
    ),
    Case(
        "delete an approval",
        lambda u, h: [f"DELETE FROM approvals WHERE target = '{h.run}'"],
        "approvals",
    ),
    Case(
        "insert an approval",
        lambda u, h: [
            "INSERT INTO approvals (id, target_type, target, decision, actor, at) "
            f"VALUES ('forged', 'run', '{h.trial}', 'approved', 'boss', 0)"
        ],
        "approvals",
        lambda h: "forged",
    ),
    Case(
        "edit a reproduction's verdict",
        lambda u, h: [f"UPDATE reproductions SET verdict = 'diverged' WHERE run_id = '{h.repro}'"],
        "reproductions",
        lambda h: h.repro,
    ),
    Case("delete a reproduction", lambda u, h: ["DELETE FROM reproductions"], "reproductions"),
    Case(
        "edit a sweep's spec",
        lambda u, h: ["UPDATE sweeps SET spec = '{}'"],
        "sweeps",
        lambda h: h.sweep,
    ),
]


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_change_behind_pedigrees_back_is_caught(
    golden: Golden, scratch: str, case: Case, processes: int
) -> None:
    tamper(scratch, *case.change(scratch, golden.history))
    report = check(scratch, processes)
    assert not report.ok
    found = [
        p for p in report.problems if p.table == case.table and case.key(golden.history) in p.key
    ]
    assert found, [str(p) for p in report.problems]
    assert report.problem_count >= len(report.problems) >= 1


@pytest.mark.parametrize("processes", [2, 3])
def test_worker_processes_report_what_they_find(
    golden: Golden, scratch: str, processes: int
) -> None:
    h = golden.history
    tamper(
        scratch,
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
        f"UPDATE params SET value = '50' WHERE run_id = '{h.run}' AND key = 'window'",
        f"DELETE FROM latest_metrics WHERE run_id = '{h.trial}'",
        f"UPDATE runs SET status = 'failed' WHERE id = '{h.repro}'",
        "DELETE FROM approvals WHERE decision = 'rejected'",
    )
    report = check(scratch, processes, spawn=True)
    assert report.processes == processes
    assert sorted({p.table for p in report.problems}) == [
        "approvals",
        "audit_events",
        "latest_metrics",
        "params",
        "runs",
    ]
    assert report.problems[0].key == "seq 2"


def test_the_first_problem_is_the_first_bad_event(golden: Golden, scratch: str) -> None:
    tamper(
        scratch,
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 9",
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 4",
    )
    report = check(scratch, 1)
    assert [str(p) for p in report.problems] == [
        "audit_events seq 4: its content does not match its digest: the event was edited",
        "audit_events seq 9: its content does not match its digest: the event was edited",
    ]


def test_a_well_formed_event_appended_without_its_rows_is_caught(
    golden: Golden, scratch: str
) -> None:
    # Someone computes a valid digest for a forged approval and moves the head, but cannot
    # make the tables agree without also writing the row: the table check names it.
    seq, digest = query(scratch, "SELECT seq, digest FROM audit_head")[0]
    payload = json.dumps(
        {
            "actor": "boss",
            "at": 0.0,
            "decision": "approved",
            "id": "forged",
            "note": None,
            "target": golden.history.trial,
            "target_type": "run",
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    forged = event_digest(
        prev=digest,
        seq=seq + 1,
        at=0.0,
        actor="boss",
        kind="approval.recorded",
        run_id=None,
        payload=payload,
    )
    tamper(
        scratch,
        "INSERT INTO audit_events (seq, at, actor, kind, run_id, payload, prev, digest) VALUES "
        f"({seq + 1}, 0, 'boss', 'approval.recorded', NULL, '{payload}', '{digest}', '{forged}')",
        f"UPDATE audit_head SET seq = {seq + 1}, digest = '{forged}'",
    )
    report = check(scratch, 1)
    assert [str(p) for p in report.problems] == [
        f"approvals (id='forged'): the row written by event seq {seq + 1} is missing (deleted)"
    ]


def _rewrite_chain(uri: str, from_seq: int) -> None:
    """What someone with write access and this source code can do: recompute every digest."""
    rows = query(
        uri, "SELECT seq, at, actor, kind, run_id, payload, identity FROM audit_events ORDER BY seq"
    )
    prev = GENESIS
    statements = []
    for seq, at, actor, kind, run_id, payload, identity in rows:
        digest = event_digest(
            prev=prev,
            seq=seq,
            at=at,
            actor=actor,
            kind=kind,
            run_id=run_id,
            payload=payload,
            identity=identity,
        )
        if seq >= from_seq:
            statements.append(
                f"UPDATE audit_events SET prev = '{prev}', digest = '{digest}' WHERE seq = {seq}"
            )
        prev = digest
    statements.append(f"UPDATE audit_head SET digest = '{prev}'")
    tamper(uri, *statements)


def test_an_anchor_catches_a_rewritten_history_that_verifies_on_its_own(
    golden: Golden, scratch: str
) -> None:
    anchor = check(scratch, 1).head_digest
    # Change a parameter in the table AND in its event, then rebuild the chain from there.
    seq = query(
        scratch,
        "SELECT MIN(seq) FROM audit_events WHERE kind = 'run.params' "
        f"AND run_id = '{golden.history.run}'",
    )[0][0]
    tamper(
        scratch,
        f"UPDATE audit_events SET payload = replace(payload, '\"window\":20', '\"window\":50') "
        f"WHERE seq = {seq}",
        f"UPDATE params SET value = '50', num = 50 WHERE run_id = '{golden.history.run}' "
        "AND key = 'window'",
    )
    # The later event logging window=20.0 again would now conflict: remove it from its event.
    later = query(
        scratch,
        f"SELECT seq, payload FROM audit_events WHERE kind = 'run.params' AND seq > {seq} "
        f"AND run_id = '{golden.history.run}'",
    )
    for s, payload in later:
        p = json.loads(payload)
        p["params"].pop("window", None)
        text = json.dumps(p, sort_keys=True, separators=(",", ":"))
        tamper(scratch, f"UPDATE audit_events SET payload = '{text}' WHERE seq = {s}")
    _rewrite_chain(scratch, seq)

    alone = check(scratch, 1)
    assert alone.ok  # what the chain cannot prove on its own: see docs/audit.md
    anchored = check(scratch, 1, anchor=anchor)
    assert not anchored.ok
    assert anchored.anchor == {"digest": anchor, "seq": None, "extends": False}
    assert [p.table for p in anchored.problems] == ["anchor"]


@pytest.mark.parametrize("processes", [1, 2])
def test_an_anchor_the_log_still_extends(golden: Golden, processes: int) -> None:
    store = open_store(golden.uri)
    with store.read() as reader:
        seq, digest = reader.conn.exec_driver_sql(
            "SELECT seq, digest FROM audit_events WHERE seq = 5"
        ).one()
    store.close()
    report = check(golden.uri, processes, spawn=True, anchor=digest.removeprefix("blake3:").upper())
    assert report.ok
    assert report.anchor == {"digest": digest, "seq": seq, "extends": True}


def test_an_anchor_that_is_not_a_digest_is_refused(golden: Golden) -> None:
    with pytest.raises(InvalidInput, match="not an anchor"):
        check(golden.uri, 1, anchor="blake3:1234")


def test_verify_while_pedigree_writes(golden: Golden, scratch: str) -> None:
    # Writes landing during the check are not changes behind Pedigree's back: whichever
    # snapshot each process reads, the report must be clean.
    writer = open_store(scratch)
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            rid = new_id()
            writer.append(
                [
                    RunCreated(id=rid, experiment="busy", started_at=time.time()),
                    RunMetrics(run_id=rid, points=[["m", 0, 1.0, 0.0]]),
                ],
                actor="busy",
            )

    thread = threading.Thread(target=write)
    thread.start()
    try:
        reports = [check(scratch, 2, spawn=True) for _ in range(3)]
    finally:
        stop.set()
        thread.join()
        writer.close()
    for report in reports:
        assert report.ok, [str(p) for p in report.problems]
    assert check(scratch, 1).ok


@pytest.mark.parametrize(("processes", "spawn"), [(1, False), (2, False), (2, True)])
def test_an_event_rewritten_with_a_valid_digest_breaks_the_next_link(
    golden: Golden, scratch: str, processes: int, spawn: bool
) -> None:
    seq, at, kind, run_id, payload, prev, identity = query(
        scratch,
        "SELECT seq, at, kind, run_id, payload, prev, identity FROM audit_events WHERE seq = 6",
    )[0]
    digest = event_digest(
        prev=prev,
        seq=seq,
        at=at,
        actor="mallory",
        kind=kind,
        run_id=run_id,
        payload=payload,
        identity=identity,
    )
    tamper(scratch, f"UPDATE audit_events SET actor = 'mallory', digest = '{digest}' WHERE seq = 6")
    report = check(scratch, processes, spawn=spawn)
    assert [str(p) for p in report.problems][:1] == [
        f"audit_events seq 7: does not link to the event before it (its prev is "
        f"{query(scratch, 'SELECT prev FROM audit_events WHERE seq = 7')[0][0][:19]}…, seq 6 "
        f"has digest {digest[:19]}…): events were removed, inserted or reordered"
    ]


def test_a_link_that_differs_only_at_the_end_is_shown_in_full(golden: Golden, scratch: str) -> None:
    prev = query(scratch, "SELECT prev FROM audit_events WHERE seq = 7")[0][0]
    changed = prev[:-1] + ("0" if prev[-1] != "0" else "1")
    tamper(scratch, f"UPDATE audit_events SET prev = '{changed}' WHERE seq = 7")
    problems = [str(p) for p in check(scratch, 1).problems]
    assert (
        f"audit_events seq 7: does not link to the event before it (its prev is {changed}, "
        f"seq 6 has digest {prev}): events were removed, inserted or reordered"
    ) in problems


# -- metric points, packed in their events ------------------------------------------------------


def _metrics_event(uri: str, run: str) -> tuple[int, dict[str, Any]]:
    seq, payload = query(
        uri,
        "SELECT seq, payload FROM audit_events WHERE kind = 'run.metrics' "
        f"AND run_id = '{run}' ORDER BY seq LIMIT 1",
    )[0]
    return int(seq), json.loads(payload)


def _set_payload(uri: str, seq: int, payload: dict[str, Any]) -> None:
    text = canonical_json(payload).replace("'", "''")
    tamper(uri, f"UPDATE audit_events SET payload = '{text}' WHERE seq = {seq}")


def test_an_edited_packed_point_breaks_its_digest(golden: Golden, scratch: str) -> None:
    seq, payload = _metrics_event(scratch, golden.history.run)
    data = payload["points"]["data"]
    payload["points"]["data"] = ("B" if data[0] != "B" else "C") + data[1:]
    _set_payload(scratch, seq, payload)
    report = check(scratch, 1)
    assert [str(p) for p in report.problems][:1] == [
        f"audit_events seq {seq}: its content does not match its digest: the event was edited"
    ]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_packed_point_rewritten_with_the_chain_disagrees_with_the_table(
    golden: Golden, scratch: str, processes: int
) -> None:
    # Someone rewrites a logged point and every digest after it: the chain holds on its own,
    # but the metrics table no longer matches the log, and the row is named.
    seq, payload = _metrics_event(scratch, golden.history.run)
    keys, steps, values, times = unpack_points(payload["points"])
    first = keys.index("pnl")
    assert (steps[first], values[first]) == (0, 0.5)
    changed = [list(p) for p in zip(keys, steps, values, times, strict=True)]
    changed[first][2] = 0.75
    _set_payload(scratch, seq, {**payload, "points": pack_points(changed)})
    _rewrite_chain(scratch, seq)
    report = check(scratch, processes)
    assert not report.ok
    (problem,) = report.problems
    assert problem.table == "metrics"
    assert problem.key == f"(id={_metric_ids(scratch, golden.history)[first]})"
    assert problem.message == f"value is 0.5 but the log says 0.75 (event seq {seq})"


def test_a_malformed_packed_payload_is_reported(golden: Golden, scratch: str) -> None:
    seq, payload = _metrics_event(scratch, golden.history.run)
    payload["points"]["data"] = payload["points"]["data"][:-8]  # a point cut short
    _set_payload(scratch, seq, payload)
    _rewrite_chain(scratch, seq)
    report = check(scratch, 1)
    assert f"audit_events seq {seq}: malformed payload: points.data does not hold whole points" in [
        str(p) for p in report.problems
    ]


def test_a_row_moved_but_unchanged_still_verifies(golden: Golden, scratch: str) -> None:
    # Deleting a row and inserting it again changes where a table scan finds it (as an UPDATE
    # does on PostgreSQL), not what the table holds: the check compares by key where the
    # order differs, and finds nothing wrong.
    h = golden.history
    row = query(scratch, f"SELECT * FROM params WHERE run_id = '{h.run}' AND key = 'fee_bps'")[0]
    values = ", ".join("NULL" if v is None else repr(v) for v in row)
    tamper(
        scratch,
        f"DELETE FROM params WHERE run_id = '{h.run}' AND key = 'fee_bps'",
        f"INSERT INTO params VALUES ({values})",
    )
    for processes in (1, 2):
        report = check(scratch, processes)
        assert report.ok, [str(p) for p in report.problems]
