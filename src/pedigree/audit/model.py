"""The tables as the projectors make them from the log, computed in Python without a database.

``audit verify`` folds the log through :class:`Model` and compares what it says the tables hold
with the tables. Replaying through the real projectors (``store.projections``) into a scratch
database would be the simplest reference, but it costs a few SQL statements per event, far too
slow for a million events; this module restates each projector as a fold over plain Python
values instead. A conformance test feeds random histories to both and requires them to agree,
and another requires a fold here for every projector kind: a new event kind needs a fold before
it can be verified.

The model hands every row it makes to a :class:`Sink`, in the order the projector writes it,
and keeps only what later events need (the state of runs still running), so its memory does not
grow with the log. Rows are full tuples in the column order of :data:`TABLES` (primary key
first), holding what the database gives back up to Python equality: SQLite's 0/1 equal
``False``/``True``, ``5 == 5.0``. NaN is stored as NULL by SQLite and as NaN by PostgreSQL; the
model writes it as ``None``.

>>> sink = CollectSink()
>>> m = Model(sink)
>>> m.apply(1, "run.created", {"id": "r1", "experiment": "e", "started_at": 1.0})
>>> m.apply(2, "run.metrics", {"run_id": "r1", "points": [["loss", 0, 0.5, 2.0]]})
[('r1', 'loss', 0, 0.5, 2.0)]
>>> sink.rows["latest_metrics"][("r1", "loss")]
(('r1', 'loss', 0, 0.5, 2.0), 2)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any, Protocol

from pedigree.jsonutil import canonical_json

__all__ = [
    "GLOBAL_KINDS",
    "KEYED_TABLES",
    "MUTABLE_TABLES",
    "PARTITION_COLUMN",
    "RUN_KINDS",
    "TABLES",
    "CollectSink",
    "Model",
    "ModelError",
    "Sink",
    "event_run",
    "scalar_json",
]

# Every projected table and its columns, primary key first. ``metrics`` has a surrogate key
# (``id``, assigned in logging order), so it is compared in id order instead of by key.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "runs": (
        ("id",),
        (
            "experiment",
            "name",
            "kind",
            "parent_id",
            "status",
            "command",
            "cwd",
            "user",
            "host",
            "pid",
            "seed",
            "started_at",
            "ended_at",
            "exit_code",
            "error",
            "code_commit",
            "code_branch",
            "code_remote",
            "code_dirty",
            "code_patch_digest",
            "code_extra",
            "environment_digest",
            "invocation",
            "stdout_digest",
            "stderr_digest",
        ),
    ),
    "params": (("run_id", "key"), ("value", "num", "str")),
    "metrics": (("id",), ("run_id", "key", "step", "value", "ts")),
    "latest_metrics": (("run_id", "key"), ("step", "value", "ts")),
    "run_io": (
        ("run_id", "role", "path"),
        ("digest", "size", "kind", "declared", "modified"),
    ),
    "reproductions": (("run_id",), ("original_id", "verdict", "details")),
    "sweeps": (("run_id",), ("spec",)),
    "environments": (("digest",), ("python", "platform", "packages_digest", "data")),
    "tree_entries": (("tree_digest", "path"), ("digest", "size")),
    "datasets": (
        ("name", "version"),
        ("digest", "kind", "size", "file_count", "path", "created_at", "user", "run_id"),
    ),
    "approvals": (
        ("id",),
        ("target_type", "target", "decision", "note", "actor", "at"),
    ),
}
KEYED_TABLES = tuple(name for name in TABLES if name != "metrics")
# Tables whose rows change after they are written (until their run ends); the others' rows are
# final once written.
MUTABLE_TABLES = frozenset({"runs", "latest_metrics", "run_io"})

# Tables whose rows all belong to one run, and the column naming it: ``audit verify`` may split
# them across processes by run. The other tables are checked whole, by one process.
PARTITION_COLUMN = {
    "runs": "id",
    "params": "run_id",
    "metrics": "run_id",
    "latest_metrics": "run_id",
    "run_io": "run_id",
    "reproductions": "run_id",
    "sweeps": "run_id",
}
# Kinds whose rows are all in those per-run tables, keyed by the run the payload names.
RUN_KINDS = frozenset(
    {
        "run.created",
        "run.updated",
        "run.params",
        "run.metrics",
        "run.captured",
        "run.io",
        "run.attached",
        "run.ended",
        "reproduction.recorded",
        "sweep.created",
    }
)
GLOBAL_KINDS = frozenset(
    {"environment.recorded", "tree.recorded", "dataset.versioned", "approval.recorded"}
)

_RUN_COLUMNS = TABLES["runs"][1]
_RUN = {name: i + 1 for i, name in enumerate(_RUN_COLUMNS)}  # position in the full row
_STATUS = _RUN["status"]

Key = tuple[Any, ...]
Row = tuple[Any, ...]
MetricRow = tuple[Any, ...]


class ModelError(Exception):
    """An event that the projectors would have refused: the log is not a possible history."""


Put = Callable[[Key, Any, int, "str | None"], None]
Add = Callable[[tuple[Row, int]], None]


class Sink(Protocol):
    """Where the model's rows go, in the order the projectors write them.

    ``adder(table)`` takes ``(row, seq)`` for a row that never changes once written (every
    table but :data:`MUTABLE_TABLES`). For the others, ``putter(table)`` writes a row or
    replaces the row with that key in place (an UPDATE, an upsert) and ``mover(table)`` deletes
    the row with that key and writes the new one after every other (a DELETE and INSERT); both
    take ``(key, row, seq, run)``, and a row may change until ``ended(run)``, not after. A runs
    row is passed as a list that the model keeps changing until the run ends.
    """

    def adder(self, table: str) -> Add: ...
    def putter(self, table: str) -> Put: ...
    def mover(self, table: str) -> Put: ...
    def ended(self, run: str) -> None: ...


class CollectSink:
    """Every table's final rows, by key: ``rows[table][key] = (row, seq of the last write)``."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[Key, tuple[Row, int]]] = {name: {} for name in KEYED_TABLES}

    def adder(self, table: str) -> Add:
        rows, npk = self.rows[table], len(TABLES[table][0])

        def add(pair: tuple[Row, int]) -> None:
            rows[pair[0][:npk]] = pair

        return add

    def putter(self, table: str) -> Put:
        rows = self.rows[table]

        def put(key: Key, row: Any, seq: int, run: str | None) -> None:
            rows[key] = (tuple(row) if isinstance(row, list) else row, seq)

        return put

    def mover(self, table: str) -> Put:
        rows = self.rows[table]

        def move(key: Key, row: Any, seq: int, run: str | None) -> None:
            rows.pop(key, None)
            rows[key] = (row, seq)

        return move

    def ended(self, run: str) -> None:
        pass


def event_run(kind: str, payload: dict[str, Any]) -> str | None:
    """The run a per-run event concerns, from its payload."""
    if kind == "run.created":
        return payload.get("id")
    return payload.get("run_id") if kind in RUN_KINDS else None


def _json_or_none(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


_SCALAR_JSON: dict[type, Callable[[Any], str]] = {
    str: encode_basestring,
    int: int.__repr__,
    bool: lambda v: "true" if v else "false",
    type(None): lambda _v: "null",
}


def scalar_json(value: Any) -> str:
    """``canonical_json(value)``, faster for the plain scalars most parameters are."""
    kind = type(value)
    if kind is float:
        return float.__repr__(value) if math.isfinite(value) else canonical_json(value)
    fast = _SCALAR_JSON.get(kind)
    return fast(value) if fast is not None else canonical_json(value)


class _Running:
    """What later events of a running run need: its row, its parameters, its latest steps."""

    __slots__ = ("cols", "latest", "params")

    def __init__(self, cols: list[Any]) -> None:
        self.cols = cols
        self.params: dict[str, str] = {}
        self.latest: dict[str, int] = {}


class Model:
    """Folds events, in log order, into the rows the projectors write (see :class:`Sink`)."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._add = {t: sink.adder(t) for t in KEYED_TABLES if t not in MUTABLE_TABLES}
        self._put_run = sink.putter("runs")
        self._put_latest = sink.putter("latest_metrics")
        self._move_io = sink.mover("run_io")
        self._running: dict[str, _Running] = {}
        self._ended: set[str] = set()
        self._seen: dict[str, set[Key]] = {
            "environments": set(),
            "datasets": set(),
            "reproductions": set(),
            "approvals": set(),
            "sweeps": set(),
        }
        self._trees_with_rows: set[str] = set()
        self.folds: dict[str, Callable[[int, dict[str, Any]], list[MetricRow] | None]] = {
            "run.created": self._run_created,
            "run.updated": self._run_updated,
            "run.params": self._run_params,
            "run.metrics": self._run_metrics,
            "run.captured": self._run_captured,
            "run.io": self._run_io,
            "run.attached": self._run_attached,
            "run.ended": self._run_ended,
            "environment.recorded": self._environment,
            "tree.recorded": self._tree,
            "dataset.versioned": self._dataset,
            "reproduction.recorded": self._reproduction,
            "approval.recorded": self._approval,
            "sweep.created": self._sweep,
        }

    def apply(self, seq: int, kind: str, payload: dict[str, Any]) -> list[MetricRow] | None:
        """Fold one event in; returns the metric rows a ``run.metrics`` event inserts.

        Raises :class:`ModelError` for an event the store would have refused, and ``KeyError`` /
        ``TypeError`` / ``ValueError`` for a payload it could not have held.
        """
        fold = self.folds.get(kind)
        if fold is None:
            raise ModelError(f"event kind {kind!r} is unknown to this version of the verifier")
        return fold(seq, payload)

    # -- runs -----------------------------------------------------------------------------------

    def _run(self, run_id: str, kind: str) -> _Running:
        run = self._running.get(run_id)
        if run is None:
            if run_id in self._ended:
                raise ModelError(f"{kind} for run {run_id} after it ended")
            raise ModelError(f"{kind} for run {run_id}, which the log never created")
        return run

    def _run_created(self, seq: int, p: dict[str, Any]) -> None:
        run_id = p["id"]
        if run_id in self._running or run_id in self._ended:
            raise ModelError(f"run {run_id} created twice")
        cols: list[Any] = [None] * (len(_RUN_COLUMNS) + 1)
        cols[0] = run_id
        cols[_RUN["experiment"]] = p["experiment"]
        cols[_RUN["name"]] = p.get("name")
        cols[_RUN["kind"]] = p.get("kind", "run")
        cols[_RUN["parent_id"]] = p.get("parent_id")
        cols[_STATUS] = "running"
        command = p.get("command")
        cols[_RUN["command"]] = canonical_json(command) if command is not None else None
        for name in ("cwd", "user", "host", "pid", "seed"):
            cols[_RUN[name]] = p.get(name)
        cols[_RUN["started_at"]] = p["started_at"]
        self._running[run_id] = _Running(cols)
        self._put_run((run_id,), cols, seq, run_id)

    def _run_updated(self, seq: int, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        cols = self._run(run_id, "run.updated").cols
        for name in ("experiment", "name", "seed"):
            if name in p:
                cols[_RUN[name]] = p[name]
        self._put_run((run_id,), cols, seq, run_id)

    def _run_captured(self, seq: int, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        cols = self._run(run_id, "run.captured").cols
        code = p.get("code") or {}
        cols[_RUN["code_commit"]] = code.get("commit")
        cols[_RUN["code_branch"]] = code.get("branch")
        cols[_RUN["code_remote"]] = code.get("remote")
        cols[_RUN["code_dirty"]] = code.get("dirty")
        cols[_RUN["code_patch_digest"]] = code.get("patch_digest")
        cols[_RUN["code_extra"]] = _json_or_none(code.get("extra"))
        cols[_RUN["environment_digest"]] = p.get("environment_digest")
        invocation = p.get("invocation")
        cols[_RUN["invocation"]] = canonical_json(invocation) if invocation else None
        self._put_run((run_id,), cols, seq, run_id)

    def _run_ended(self, seq: int, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        cols = self._run(run_id, "run.ended").cols
        cols[_STATUS] = p["status"]
        cols[_RUN["ended_at"]] = p["ended_at"]
        cols[_RUN["exit_code"]] = p.get("exit_code")
        cols[_RUN["error"]] = p.get("error")
        cols[_RUN["stdout_digest"]] = p.get("stdout_digest")
        cols[_RUN["stderr_digest"]] = p.get("stderr_digest")
        self._put_run((run_id,), cols, seq, run_id)
        del self._running[run_id]
        self._ended.add(run_id)
        self.sink.ended(run_id)

    # -- per-run tables -------------------------------------------------------------------------

    def _run_params(self, seq: int, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        known = self._run(run_id, "run.params").params
        add = self._add["params"]
        for key, value in p["params"].items():
            kind = type(value)
            # The common scalars inline (this loop runs for every parameter of every run).
            if kind is float and math.isfinite(value):
                row = (run_id, key, float.__repr__(value), value, None)
            elif kind is str:
                row = (run_id, key, encode_basestring(value), None, value)
            elif kind is int:
                row = (run_id, key, int.__repr__(value), float(value), None)
            else:  # booleans, non-finite floats, None, lists and objects
                num = float(value) if kind is bool or kind is float else None
                if num is not None and not math.isfinite(num):
                    num = None
                row = (run_id, key, scalar_json(value), num, None)
            old = known.get(key)
            if old is not None:
                # Logging the same parameter again is allowed (1 and 1.0 are the same value).
                if old != row[2] and json.loads(old) != value:
                    raise ModelError(f"parameter {key!r} of run {run_id} changed value")
                continue
            known[key] = row[2]
            add((row, seq))

    def _run_metrics(self, seq: int, p: dict[str, Any]) -> list[MetricRow]:
        run_id = p["run_id"]
        latest = self._run(run_id, "run.metrics").latest
        rows: list[MetricRow] = []
        append = rows.append
        newest: dict[str, MetricRow] = {}  # this write's latest point per key, as the projector
        get = newest.get
        for key, step, value, ts in p["points"]:
            if value is not None and value != value:
                value = None  # NaN
            row = (run_id, key, step, value, ts)
            append(row)
            old = get(key)
            # The latest value is the one with the highest step, the last logged on a tie.
            if old is None or step >= old[2]:
                newest[key] = row
        put = self._put_latest
        for key, row in newest.items():
            step = latest.get(key)
            if step is None or row[2] >= step:
                latest[key] = row[2]
                put((run_id, key), row, seq, run_id)
        return rows

    def _io_items(self, seq: int, run_id: str, items: list[dict[str, Any]], attached: bool) -> None:
        move = self._move_io
        for i in items:
            role = "output" if attached else i["role"]
            declared = True if attached else bool(i.get("declared", False))
            modified = False if attached else bool(i.get("modified", False))
            key = (run_id, role, i["path"])
            # The projector deletes and inserts: the row moves after every other.
            move(
                key,
                (*key, i["digest"], i["size"], i["kind"], declared, modified),
                seq,
                run_id,
            )

    def _run_io(self, seq: int, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        self._run(run_id, "run.io")
        self._io_items(seq, run_id, p["items"], attached=False)

    def _run_attached(self, seq: int, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        if run_id not in self._running and run_id not in self._ended:
            raise ModelError(f"run.attached for run {run_id}, which the log never created")
        self._io_items(seq, run_id, p["items"], attached=True)

    # -- everything else ------------------------------------------------------------------------

    def _insert(self, table: str, row: Row, seq: int) -> None:
        key = row[: len(TABLES[table][0])]
        seen = self._seen[table]
        if key in seen:
            raise ModelError(f"{table} row {key} inserted twice")
        seen.add(key)
        self._add[table]((row, seq))

    def _reproduction(self, seq: int, p: dict[str, Any]) -> None:
        row = (p["run_id"], p["original_id"], p["verdict"], canonical_json(p["details"]))
        self._insert("reproductions", row, seq)

    def _sweep(self, seq: int, p: dict[str, Any]) -> None:
        self._insert("sweeps", (p["run_id"], canonical_json(p["spec"])), seq)

    def _environment(self, seq: int, p: dict[str, Any]) -> None:
        key = (p["digest"],)
        if key not in self._seen["environments"]:  # the first description of it stays
            row = (
                p["digest"],
                p.get("python"),
                p.get("platform"),
                p.get("packages_digest"),
                canonical_json(p["data"]),
            )
            self._insert("environments", row, seq)

    def _tree(self, seq: int, p: dict[str, Any]) -> None:
        digest = p["digest"]
        entries = p["entries"]
        if digest in self._trees_with_rows or not entries:
            return
        self._trees_with_rows.add(digest)
        add = self._add["tree_entries"]
        for path, file_digest, size in entries:
            add(((digest, path, file_digest, size), seq))

    def _dataset(self, seq: int, p: dict[str, Any]) -> None:
        row = tuple(p.get(k) for k in ("name", "version", *TABLES["datasets"][1]))
        self._insert("datasets", row, seq)

    def _approval(self, seq: int, p: dict[str, Any]) -> None:
        row = tuple(p.get(k) for k in ("id", *TABLES["approvals"][1]))
        self._insert("approvals", row, seq)
