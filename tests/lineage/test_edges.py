"""``run_edges`` as the projections keep it, recorded in any order, on both backends.

Random graphs (those of ``test_queries``: files and folders read and written at matching and
non-matching paths, dataset versions with and without a producing run, reproductions, cycles)
are recorded through the real store, event by event, in a random order: readers before the runs
that made what they read, folder manifests, dataset versions and reproductions before or after
the runs (some after every run ended), outputs attached to runs that ended, and paths recorded
twice (the second ``run.io`` replaces the first, whose edges must go). Then the table must be
the full recomputation from the other tables, and the edges composed by the reference walk;
the impact closure must be the reference walk's; and ``audit verify`` must pass.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from tests.conftest import Project
from tests.lineage.test_queries import Rows, check_closure, random_graph, start_groups

from pedigree.audit.verify import verify
from pedigree.lineage import NodeRef
from pedigree.store import edges
from pedigree.store.events import Event, event

Edge = tuple[str, str]


def _io_item(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("role", "path", "digest", "size", "kind", "declared", "modified")}


def _remap(g: Rows, ids: dict[str, str]) -> None:
    """The graph's run ids replaced by the ids the store gave the runs."""
    g.runs = [ids[r] for r in g.runs]
    for r in g.io:
        r["run_id"] = ids[r["run_id"]]
    for ds in g.datasets:
        if ds["run_id"] is not None:
            ds["run_id"] = ids[ds["run_id"]]
    for rp in g.reproductions:
        rp["run_id"], rp["original_id"] = ids[rp["run_id"]], ids[rp["original_id"]]


def record(project: Project, g: Rows, rng: random.Random) -> Any:
    """Record ``g`` through the store's events in a random order; returns the store."""
    tracker = project.tracker()
    ids = {r: tracker.create_run(experiment="e", name=f"r{i}") for i, r in enumerate(g.runs)}
    _remap(g, ids)
    running: list[list[Event]] = []  # while every run is running
    ended: list[list[Event]] = []  # after every run ended
    for run in g.runs:
        items = [r for r in g.io if r["run_id"] == run]
        attach = rng.random() < 0.3  # its outputs attached after it ended
        if attach:
            outs = [i for i in items if i["role"] == "output"]
            items = [i for i in items if i["role"] == "input"]
            if outs:
                payload = {"run_id": run, "items": [_io_item(i) for i in outs]}
                ended.append([event("run.attached", payload)])
        rng.shuffle(items)
        cut = rng.randint(0, len(items))
        chunks = [c for c in (items[:cut], items[cut:]) if c]
        events = [
            event("run.io", {"run_id": run, "items": [_io_item(i) for i in c]}) for c in chunks
        ]
        if items and rng.random() < 0.4:
            # A path recorded first with other bytes, then again (replaced) with its own.
            first = dict(_io_item(rng.choice(items)))
            first["digest"] = rng.choice(g.digests())
            events.insert(0, event("run.io", {"run_id": run, "items": [first]}))
        # The run's own events keep their order; the rest of the world interleaves.
        running.append(events)
    others: list[Event] = []
    trees: dict[str, list[list[Any]]] = {}
    for e in g.entries:
        trees.setdefault(e["tree_digest"], []).append([e["path"], e["digest"], e["size"]])
    others += [event("tree.recorded", {"digest": d, "entries": v}) for d, v in trees.items()]
    others += [event("dataset.versioned", dict(ds)) for ds in g.datasets]
    others += [event("reproduction.recorded", {**rp, "details": {}}) for rp in g.reproductions]
    for one in others:
        (running if rng.random() < 0.6 else ended).append([one])
    for phase in (running, ended):
        queues = [list(q) for q in phase if q]
        while queues:
            queue = rng.choice(queues)
            tracker.ctx.append([queue.pop(0)])
            if not queue:
                queues.remove(queue)
        if phase is running:
            for run in g.runs:
                tracker.end_run(run, "finished", exit_code=0)
    return tracker.store


def reference_edges(g: Rows) -> set[Edge]:
    """Run to run, composed from the reference walk's steps: a run, then an artifact (or a
    reproduction), then a run."""
    found: set[Edge] = set()
    for run in g.runs:
        for state, _ in g.steps((NodeRef("run", run), False), "down"):
            if state[0].kind == "run":
                found.add((run, state[0].key))
                continue
            for (node, _part), _edge in g.steps(state, "down"):
                if node.kind == "run":
                    found.add((run, node.key))
    return found


@pytest.mark.parametrize("seed", range(1, 7))
def test_edges_recorded_in_any_order_are_the_recomputation(any_project: Project, seed: int) -> None:
    g = random_graph(seed)
    store = record(any_project, g, random.Random(seed * 7919))
    with store.read() as reader:
        conn = reader.conn
        table = {tuple(r) for r in conn.exec_driver_sql("SELECT src, dst FROM run_edges")}
        recomputed = {tuple(r) for r in conn.exec_driver_sql(edges.full_select())}
        assert table == recomputed
        assert table == reference_edges(g)
        assert not list(conn.exec_driver_sql(edges.difference_select()))

        for group in start_groups(g):
            check_closure(reader, g, group)
    report = verify(store, in_process=True)
    assert report.ok, [str(p) for p in report.problems]
    assert report.rows["run_edges"] == len(table)


def test_a_rebuild_gives_the_same_table(any_project: Project) -> None:
    g = random_graph(9)
    store = record(any_project, g, random.Random(3))
    with store.engine.begin() as conn:
        before = {tuple(r) for r in conn.exec_driver_sql("SELECT src, dst FROM run_edges")}
        assert edges.rebuild(conn) == len(before)
        after = {tuple(r) for r in conn.exec_driver_sql("SELECT src, dst FROM run_edges")}
    assert before == after
    assert before
