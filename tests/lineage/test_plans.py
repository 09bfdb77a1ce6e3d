"""SQLite's plans for the lineage statements: index lookups only, with or without statistics.

SQLite plans a recursive step as if the CTE held a million rows. Against tables with statistics
(``ANALYZE``, or ``PRAGMA optimize`` in a long-lived store) it then prefers a Bloom filter, which
is a full scan of the table, at every query; and with statistics that say "most dataset
versions have no run" it scans ``datasets`` for each run. The statements pin their join order
and correct the estimate; this holds them to it on a store large enough for the difference to
show.
"""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import Project

from pedigree.lineage import NodeRef, reach, walk
from pedigree.store import edges
from pedigree.store import schema as t
from pedigree.store.events import event

# Tables (and the aliases the lineage statements give them) that are only ever searched by
# index. Resolving a path target does scan ``datasets`` by path, a small table with no such index.
_SEARCHED = {"run_io", "tree_entries", "runs", "latest_metrics", "i", "o", "io", "te", "r", "m"}
_SEARCHED |= {"ds", "rp"}  # datasets and reproductions, in the walks
_SEARCHED |= {"run_edges", "e"}  # the impact closure's steps


def _populate(project: Project, runs: int = 2000) -> tuple[list[str], list[str], str]:
    """Projects of 50 runs, each reading outputs of the runs before it and files of datasets."""
    rng = random.Random(3)
    ids = [f"{i:08x}-0000-7000-8000-000000000000" for i in range(runs)]
    trees = [f"blake3:d{k:063x}" for k in range(20)]
    entries = [
        {"tree_digest": tr, "path": f"f{j}.csv", "digest": f"blake3:f{k * 100 + j:063x}", "size": 1}
        for k, tr in enumerate(trees)
        for j in range(20)
    ]
    io: list[dict[str, Any]] = []
    recent: list[str] = []
    for i, rid in enumerate(ids):
        if i % 50 == 0:
            recent = []
        reads = {f"in/{d[-6:]}": d for d in rng.sample(recent, min(len(recent), 2))}
        k, j = rng.randrange(20), rng.randrange(20)
        reads[f"data/raw/ds{k}/f{j}.csv"] = f"blake3:f{k * 100 + j:063x}"
        for path, d in reads.items():
            io.append(_io(rid, "input", path, d))
        for o in range(4):
            d = f"blake3:a{i * 4 + o:063x}"
            io.append(_io(rid, "output", f"out/{i}/{o}.bin", d))
            recent.append(d)
    datasets = [
        {
            "name": f"ds{k}",
            "version": 1,
            "digest": tr,
            "kind": "dir",
            "size": 20,
            "file_count": 20,
            "path": f"data/raw/ds{k}",
            "created_at": 0.0,
            "user": "t",
            "run_id": None,  # as most are: added by hand, not produced by a run
        }
        for k, tr in enumerate(trees)
    ]
    run_rows = [
        {
            "id": rid,
            "experiment": f"p{i // 50}",
            "name": f"r{i}",
            "kind": "run",
            "status": "finished",
            "started_at": float(i),
        }
        for i, rid in enumerate(ids)
    ]
    metrics = [{"run_id": rid, "key": "sharpe", "step": 0, "value": 1.0, "ts": 0.0} for rid in ids]
    store = project.tracker().store
    with store.engine.begin() as conn:
        for table, rows in (
            (t.runs, run_rows),
            (t.run_io, io),
            (t.tree_entries, entries),
            (t.datasets, datasets),
            (t.latest_metrics, metrics),
        ):
            conn.execute(table.insert(), rows)
        conn.execute(
            t.reproductions.insert(),
            [
                {"run_id": ids[i + 1], "original_id": ids[i], "verdict": "identical", "details": ""}
                for i in range(runs - 400, runs, 2)
            ],
        )
        edges.rebuild(conn)  # loaded past the projectors
    return ids, [f"blake3:a{i:063x}" for i in range(0, runs * 4, 97)], trees[0]


def _io(run_id: str, role: str, path: str, digest: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "role": role,
        "path": path,
        "digest": digest,
        "size": 1,
        "kind": "file",
        "declared": False,
        "modified": False,
    }


@contextlib.contextmanager
def _traced(project: Project) -> Iterator[list[str]]:
    """Every statement run on the store meanwhile, with its parameters in place (the reads go
    through the store's sqlite3 read pool, the writes through SQLAlchemy's engine)."""
    store = project.tracker().store
    engine = store.engine
    statements: list[str] = []
    assert store.read_pool is not None
    store.read_pool.trace = statements.append

    def trace(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        dbapi_conn.set_trace_callback(statements.append)

    def untrace(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_trace_callback(None)

    sa.event.listen(engine, "checkout", trace)
    sa.event.listen(engine, "checkin", untrace)
    try:
        yield statements
    finally:
        store.read_pool.trace = None
        sa.event.remove(engine, "checkout", trace)
        sa.event.remove(engine, "checkin", untrace)


def _exercise(project: Project, ids: list[str], outputs: list[str], tree: str) -> list[str]:
    tracker = project.tracker()
    with _traced(project) as statements:
        with tracker.store.read() as conn:
            for direction in ("up", "down"):
                walk(conn, [NodeRef("run", ids[120])], direction=direction, depth=10)
                walk(conn, [NodeRef("artifact", outputs[3])], direction=direction)
                reach(conn, [NodeRef("artifact", tree)], direction=direction)
            conn.affected([NodeRef("artifact", tree), NodeRef("run", ids[0])])
            conn.affected([NodeRef("artifact", tree)])
            conn.affected([NodeRef("run", ids[5])])
            conn.downstream_runs([NodeRef("artifact", tree)])
            conn.downstream_runs([NodeRef("run", ids[5])])
        tracker.lineage.graph(ids[120], direction="up", depth=10)
        tracker.lineage.graph("ds0@v1", direction="down", depth=4)
        tracker.lineage.impact("ds1@v1")
    return [s for s in statements if re.match(r"\s*(WITH|SELECT)\b", s, re.I)]


def _bad_steps(project: Project, statements: list[str]) -> list[str]:
    """Bloom filters anywhere; in the recursive statements, any scan of a table (it would run
    once per row of the walk). A lookup by many keys may scan a small table once: that is the
    planner's right call."""
    store = project.tracker().store
    bad = []
    with store.engine.connect() as conn:
        for sql in statements:
            recursive = "RECURSIVE" in sql.upper()
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all():
                detail = str(row[-1])
                scan = re.match(r"SCAN (\w+)", detail)
                if "BLOOM FILTER" in detail or (recursive and scan and scan.group(1) in _SEARCHED):
                    bad.append(f"{detail}  <-  {sql[:160]}")
    return bad


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-statistics", "analyzed"])
def test_sqlite_plans_only_look_things_up(project: Project, analyzed: bool) -> None:
    ids, outputs, tree = _populate(project)
    if analyzed:
        with project.tracker().store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar()
    statements = _exercise(project, ids, outputs, tree)
    recursive = [s for s in statements if "RECURSIVE" in s.upper()]
    assert len(recursive) >= 10
    assert _bad_steps(project, statements) == []


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-statistics", "analyzed"])
def test_sqlite_plans_of_the_edge_upkeep_only_look_things_up(
    project: Project, analyzed: bool
) -> None:
    """The statements the projectors add run-to-run edges with (``store.edges``) run for every
    run recorded: on a large store they must look up the new rows' neighbours, never scan."""
    ids, outputs, tree = _populate(project)
    if analyzed:
        with project.tracker().store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    tracker = project.tracker()
    with _traced(project) as statements:
        run = tracker.create_run(experiment="p0", name="new")
        item = {"size": 1, "kind": "file", "declared": False, "modified": False}
        reads = [
            {**item, "role": "input", "path": "in/x.bin", "digest": outputs[3]},
            {
                **item,
                "role": "input",
                "path": "data/raw/ds0/f1.csv",
                "digest": "blake3:f" + "0" * 62 + "1",
            },
            {**item, "role": "output", "path": "out/new.bin", "digest": "blake3:" + "e" * 64},
        ]
        tracker.ctx.append([event("run.io", {"run_id": run, "items": reads})])
        # recorded again: the run's edges are recomputed
        tracker.ctx.append([event("run.io", {"run_id": run, "items": reads[:1]})])
        tracker.end_run(run, "finished", exit_code=0)
        tracker.ctx.append(
            [
                event("run.attached", {"run_id": run, "items": [{**reads[2], "path": "o2"}]}),
                event(
                    "tree.recorded",
                    {"digest": "blake3:" + "c" * 64, "entries": [["a.csv", outputs[5], 1]]},
                ),
                event(
                    "dataset.versioned",
                    {
                        "name": "made",
                        "version": 1,
                        "digest": tree,
                        "kind": "dir",
                        "size": 20,
                        "file_count": 20,
                        "path": "data/made",
                        "created_at": 0.0,
                        "user": "t",
                        "run_id": run,
                    },
                ),
                event(
                    "reproduction.recorded",
                    {"run_id": ids[7], "original_id": run, "verdict": "identical", "details": {}},
                ),
            ]
        )
    upkeep = [s for s in statements if "run_edges" in s]
    assert len(upkeep) >= 6
    store = tracker.store
    bad = []
    with store.engine.connect() as conn:
        for sql in upkeep:
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all():
                detail = str(row[-1])
                scan = re.match(r"SCAN (\w+)", detail)
                if "BLOOM FILTER" in detail or (scan and scan.group(1) != "json_each"):
                    bad.append(f"{detail}  <-  {sql[:160]}")
    assert bad == []
