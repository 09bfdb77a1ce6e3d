"""One set of read queries, two drivers: every ``Reader`` method gives the same answer on the
embedded store's ``sqlite3`` read path and on PostgreSQL through SQLAlchemy (and on SQLite
through SQLAlchemy, the path a write's reads take).

The store content is made of the same events, with the same ids and times, on each backend;
each method is called with the same arguments and its answer compared after normalising what
the method does not order (sets, dicts, rows without ``ORDER BY``). A new ``Reader`` method
fails :func:`test_every_reader_method_is_compared` until it has a call below.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pedigree.store import open_store
from pedigree.store.db import SADb
from pedigree.store.events import REGISTRY, event
from pedigree.store.reader import Reader
from pedigree.store.reads.lineage import NodeRef
from pedigree.store.sql import SQLStore
from pedigree.store.where import parse_order_by, parse_where

T0 = 1_790_000_000.0
A = "0190e0a0-0000-7000-8000-00000000000a"
B = "0190e0a0-0000-7000-8000-00000000000b"
C = "0190e0a0-0000-7000-8000-00000000000c"
S = "0190e0a0-0000-7000-8000-00000000000d"
TRIALS = [f"0190e0a0-0000-7000-8000-0000000001{i:02d}" for i in range(4)]
D_IN = "blake3:" + "1" * 64
D_OUT = "blake3:" + "2" * 64
D_FILE = "blake3:" + "3" * 64
TREE = "blake3:" + "4" * 64
ENV = "blake3:" + "5" * 64


def _io(role: str, path: str, digest: str, size: int = 10, kind: str = "file") -> dict[str, Any]:
    return {
        "role": role,
        "path": path,
        "digest": digest,
        "size": size,
        "kind": kind,
        "declared": role == "input",
        "modified": False,
    }


def _run(rid: str, n: int, *, kind: str = "run", parent: str | None = None, **extra: Any) -> list:  # type: ignore[type-arg]
    started = T0 + n
    return [
        event(
            "run.created",
            {
                "id": rid,
                "experiment": "ma" if n % 2 == 0 else "mom",
                "name": f"r{n}",
                "kind": kind,
                "parent_id": parent,
                "command": ["python", "bt.py", str(n)],
                "user": "ann",
                "host": "h",
                "pid": 100 + n,
                "seed": n,
                "started_at": started,
                **extra,
            },
        ),
        event("run.params", {"run_id": rid, "params": {"window": 10 * n, "inst": f"X{n % 3}"}}),
        event(
            "run.metrics",
            {
                "run_id": rid,
                "points": [
                    ["sharpe", 0, 0.1 * n, started],
                    ["sharpe", 1, 0.2 * n, started + 1],
                    ["dd", 0, None if n == 3 else -0.1 * n, started],
                    ["returns", 0, 0.01, started],
                    ["returns", 1, -0.02 * n, started],
                ],
            },
        ),
    ]


def _content() -> list[list[Any]]:
    """Batches of events: runs, data, lineage, a reproduction, reviews, a sweep, a model."""
    batches: list[list[Any]] = [
        [
            event("environment.recorded", {"digest": ENV, "python": "3.11", "data": {"x": 1}}),
            event("tree.recorded", {"digest": TREE, "entries": [["a.csv", D_FILE, 5]]}),
            event(
                "dataset.versioned",
                {
                    "name": "prices",
                    "version": 1,
                    "digest": TREE,
                    "kind": "dir",
                    "size": 5,
                    "file_count": 1,
                    "path": "data/prices",
                    "created_at": T0,
                    "user": "ann",
                },
            ),
        ]
    ]
    for n, rid in enumerate([A, B]):
        batch = _run(rid, n + 1)
        mark = {"files": "partial" if rid == B else "complete", "reasons": [], "trace": "python"}
        batch.append(
            event(
                "run.captured",
                {"run_id": rid, "environment_digest": ENV, "invocation": {"capture": mark}},
            )
        )
        batch.append(
            event(
                "run.io",
                {
                    "run_id": rid,
                    "items": [
                        _io("input", "data/prices/a.csv", D_FILE, 5),
                        _io("input" if rid == B else "output", "out/x.bin", D_OUT),
                    ]
                    if rid == B
                    else [
                        _io("input", "data/prices/a.csv", D_FILE, 5),
                        _io("output", "out/x.bin", D_OUT),
                    ],
                },
            )
        )
        batch.append(
            event(
                "run.ended",
                {"run_id": rid, "status": "finished", "exit_code": 0, "ended_at": T0 + 50 + n},
            )
        )
        batches.append(batch)
    batches.append(
        [
            *_run(C, 5, kind="reproduction"),
            event("run.ended", {"run_id": C, "status": "finished", "ended_at": T0 + 60}),
            event(
                "reproduction.recorded",
                {"run_id": C, "original_id": A, "verdict": "identical", "details": {"ok": True}},
            ),
        ]
    )
    sweep = [*_run(S, 6, kind="sweep")]
    sweep.append(event("sweep.created", {"run_id": S, "spec": {"grid": {"window": [1, 2]}}}))
    for i, tid in enumerate(TRIALS):
        sweep += _run(tid, 7 + i, parent=S)
        if i < 3:
            sweep.append(
                event("run.ended", {"run_id": tid, "status": "finished", "ended_at": T0 + 70 + i})
            )
    batches.append(sweep)
    batches.append(
        [
            event(
                "approval.recorded",
                {
                    "id": "ap1",
                    "target_type": "run",
                    "target": A,
                    "decision": "approved",
                    "note": "ok",
                    "actor": "rev",
                    "at": T0 + 80,
                },
            ),
            event(
                "approval.recorded",
                {
                    "id": "ap2",
                    "target_type": "dataset",
                    "target": "prices@v1",
                    "decision": "rejected",
                    "actor": "rev",
                    "at": T0 + 81,
                },
            ),
            event(
                "model.registered",
                {
                    "name": "tsmom",
                    "version": 1,
                    "digest": D_OUT,
                    "kind": "file",
                    "size": 10,
                    "run_id": A,
                    "path": "out/x.bin",
                    "actor": "ann",
                    "at": T0 + 82,
                },
            ),
            event(
                "model.alias_moved",
                {"name": "tsmom", "alias": "prod", "number": 1, "version": 1, "at": T0 + 83},
            ),
            event(
                "approval.recorded",
                {
                    "id": "ap3",
                    "target_type": "model",
                    "target": "tsmom/1",
                    "decision": "approved",
                    "actor": "rev",
                    "at": T0 + 84,
                },
            ),
        ]
    )
    extra = []
    if "run.tagged" in REGISTRY:
        extra.append(
            event(
                "run.tagged",
                {"run_id": A, "key": "stage", "number": 1, "value": "candidate", "at": T0 + 85},
            )
        )
    if "import.recorded" in REGISTRY:
        extra.append(
            event(
                "import.recorded",
                {
                    "source": "mlflow:abc_1",
                    "target_type": "run",
                    "target": B,
                    "details": {"tags": {"k": "v"}},
                    "at": T0 + 86,
                },
            )
        )
    if extra:
        batches.append(extra)
    return batches


def _fill(store: SQLStore) -> None:
    for i, batch in enumerate(_content()):
        store.append(batch, actor="ann", at=T0 + 100 + i)


# What each method is called with; each answer is compared across the backends.
WHERE = parse_where("metrics.sharpe > 0.1 and params.window >= 10 or status = 'running'")
CALLS: dict[str, list[Callable[[Reader], Any]]] = {
    "resolve_run": [
        lambda r: r.resolve_run("last"),
        lambda r: r.resolve_run(A.upper()),
        lambda r: _error(lambda: r.resolve_run(A[:30])),
    ],
    "run_rows": [lambda r: r.run_rows([A, B, C, S, *TRIALS, "nope"])],
    "experiment_names": [lambda r: r.experiment_names()],
    "params": [lambda r: r.params([A, B, S])],
    "tags": [lambda r: r.tags([A, B])],
    "tag_numbers": [lambda r: r.tag_numbers(A)],
    "tag_history": [lambda r: r.tag_history(A)],
    "latest_metrics": [lambda r: r.latest_metrics([A, B, *TRIALS])],
    "metric_history": [lambda r: r.metric_history(A), lambda r: r.metric_history(B, "sharpe")],
    "metric_series": [lambda r: r.metric_series([A, B, *TRIALS], "returns")],
    "environment": [lambda r: r.environment(ENV), lambda r: r.environment("none")],
    "running_runs": [lambda r: r.running_runs()],
    "incomplete_capture": [lambda r: r.incomplete_capture()],
    "capture_marks": [lambda r: r.capture_marks([A, B])],
    "abbreviations": [lambda r: r.abbreviations([A, B, *TRIALS])],
    "select_runs": [
        lambda r: r.select_runs(limit=5),
        lambda r: r.select_runs(where=WHERE, order_by=parse_order_by("-metrics.sharpe")),
        lambda r: r.select_runs(
            where=parse_where("params.inst in ('X1', 'X2') and not metrics.dd is null"),
            order_by=parse_order_by("params.window, -started_at"),
            limit=3,
        ),
        lambda r: r.select_runs(order_by=parse_order_by("metrics.dd"), limit=20),
        lambda r: r.select_runs(experiment="ma", kinds=["run"], parent=S),
        lambda r: r.select_runs(where=parse_where("name like 'r%' and duration > 1")),
    ],
    "dataset_version": [lambda r: r.dataset_version("prices"), lambda r: r.dataset_version("x", 2)],
    "dataset_versions": [lambda r: r.dataset_versions("prices")],
    "latest_versions": [lambda r: r.latest_versions()],
    "tree_known": [lambda r: r.tree_known(TREE), lambda r: r.tree_known(D_IN)],
    "run_started_at": [lambda r: r.run_started_at(B), lambda r: r.run_started_at("no")],
    "run_io": [lambda r: r.run_io([A, B, C])],
    "referenced_digests": [lambda r: set(r.referenced_digests())],
    "walk": [
        lambda r: r.walk([NodeRef("run", B)], direction="up", depth=5),
        lambda r: r.walk([NodeRef("artifact", TREE)], direction="down", depth=5),
    ],
    "reach": [lambda r: r.reach([NodeRef("artifact", D_FILE)], direction="down")],
    "affected": [lambda r: r.affected([NodeRef("artifact", TREE)])],
    "downstream_runs": [lambda r: r.downstream_runs([NodeRef("run", A)])],
    "run_outputs": [lambda r: r.run_outputs([A, B])],
    "run_details": [lambda r: r.run_details([A, C])],
    "artifact_details": [lambda r: r.artifact_details([D_FILE, D_OUT, TREE])],
    "digest_recorded": [lambda r: r.digest_recorded(D_OUT), lambda r: r.digest_recorded(D_IN)],
    "digests_starting": [lambda r: r.digests_starting("blake3:")],
    "path_digests": [
        lambda r: r.path_digests("data/prices/a.csv"),
        lambda r: r.path_digests("out"),
    ],
    "input_reads": [lambda r: r.input_reads("data")],
    "tree_entries": [lambda r: r.tree_entries(TREE)],
    "dataset_labels": [lambda r: r.dataset_labels([TREE, D_OUT])],
    "sweep_spec": [lambda r: r.sweep_spec(S), lambda r: r.sweep_spec(A)],
    "runs_on_same_inputs": [lambda r: r.runs_on_same_inputs(TRIALS[0])],
    "run_files": [lambda r: r.run_files(B)],
    "tree_files": [lambda r: r.tree_files([TREE])],
    "reproductions": [lambda r: r.reproductions([A])],
    "reproduction_details": [lambda r: r.reproduction_details(A)],
    "run_approvals": [lambda r: r.run_approvals([A, B])],
    "artifact_approvals": [lambda r: r.artifact_approvals([TREE, D_OUT])],
    "digest_path": [lambda r: r.digest_path(D_OUT), lambda r: r.digest_path(D_FILE)],
    "digest_producers": [lambda r: r.digest_producers(D_OUT)],
    "model_version": [lambda r: r.model_version("tsmom"), lambda r: r.model_version("tsmom", 1)],
    "model_versions_of": [lambda r: r.model_versions_of([D_OUT])],
    "model_versions": [lambda r: r.model_versions("tsmom")],
    "model_names": [lambda r: r.model_names()],
    "alias_moves": [lambda r: r.alias_moves("tsmom"), lambda r: r.alias_moves("tsmom", "prod")],
    "model_aliases": [lambda r: r.model_aliases("tsmom")],
    "model_reviews": [lambda r: r.model_reviews("tsmom"), lambda r: r.model_reviews("tsmom", 1)],
    "datasets_holding": [lambda r: r.datasets_holding(D_FILE)],
    "imported": [lambda r: r.imported(["mlflow:abc_1", "mlflow:x"])],
    "imported_sources": [
        lambda r: r.imported_sources("mlflow:abc_"),
        lambda r: r.imported_sources("mlflow:abcX"),
    ],
    "imported_from": [lambda r: r.imported_from([A, B])],
    "import_details": [lambda r: r.import_details([B])],
    "users": [lambda r: r.users()],
    "user": [lambda r: r.user("ann")],
    "password_hash": [lambda r: r.password_hash("ann"), lambda r: r.password_hash("nobody")],
    "tokens": [lambda r: r.tokens(), lambda r: r.tokens("ann")],
    "token": [lambda r: r.token("0" * 16)],
    "policy": [lambda r: r.policy()],
    "run_authors": [lambda r: r.run_authors([A, B])],
    "producer_authors": [lambda r: r.producer_authors(B)],
    "approval_identities": [lambda r: r.approval_identities(A)],
    "authenticated_seqs": [lambda r: r.authenticated_seqs(1, 100)],
}


def _error(call: Callable[[], Any]) -> str:
    try:
        call()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def _normal(value: Any) -> Any:
    """A comparable form: NaN equal to NaN, dataclasses as dicts, sets and dicts sorted, the
    order of lists kept (each method orders its rows, or its caller does not rely on it)."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _normal(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return sorted((repr(_normal(k)), _normal(v)) for k, v in value.items())
    if isinstance(value, set | frozenset):
        return sorted(repr(_normal(v)) for v in value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return [_normal(v) for v in value]
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


_UNORDERED = {"walk", "tree_entries", "affected", "run_details", "artifact_details"}


def _answers(reader: Reader) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, calls in CALLS.items():
        answers = []
        for call in calls:
            got = _normal(call(reader))
            answers.append(repr(_sorted(got)) if name in _UNORDERED else got)
        out[name] = answers
    return out


def _sorted(value: Any) -> Any:
    if isinstance(value, list):
        return sorted((_sorted(v) for v in value), key=repr)
    return value


@contextlib.contextmanager
def _sa_reader(store: SQLStore) -> Iterator[Reader]:
    """A reader on the store's SQLAlchemy connection (the path a write's reads take)."""
    with store.engine.connect() as conn, conn.begin():
        yield Reader(SADb(conn))


def test_every_reader_method_is_compared() -> None:
    methods = {
        name
        for name in dir(Reader)
        if not name.startswith("_")
        and callable(getattr(Reader, name))
        and name not in ("conn", "dialect", "db")
    }
    assert sorted(methods - set(CALLS)) == [], "add a call of each new Reader method to CALLS"
    assert sorted(set(CALLS) - methods) == []


@pytest.fixture
def sqlite_answers(tmp_path: Path) -> dict[str, list[Any]]:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        _fill(store)
        assert store.read_pool is not None
        with store.read() as reader:
            assert reader._conn is None  # the sqlite3 path
            light = _answers(reader)
            assert reader._conn is None  # no statement fell back to SQLAlchemy
        with _sa_reader(store) as reader:
            assert _answers(reader) == light
        return light
    finally:
        store.close()


def test_sqlite3_and_sqlalchemy_agree(sqlite_answers: dict[str, list[Any]]) -> None:
    # Something to compare: the content is there.
    assert sqlite_answers["resolve_run"][0] == TRIALS[-1]
    assert sqlite_answers["select_runs"][1][:1] == [TRIALS[-1]]
    assert sqlite_answers["model_aliases"] == [[("'prod'", 1)]]


@pytest.mark.postgres
def test_postgresql_agrees_with_sqlite(sqlite_answers: dict[str, list[Any]], pg_uri: str) -> None:
    store = open_store(pg_uri)
    try:
        _fill(store)
        with store.read() as reader:
            pg = _answers(reader)
    finally:
        store.close()
    for name in CALLS:
        assert pg[name] == sqlite_answers[name], name
