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

>>> from pedigree.store.codec import pack_points
>>> sink = CollectSink()
>>> m = Model(sink)
>>> m.apply(1, "run.created", {"id": "r1", "experiment": "e", "started_at": 1.0})
>>> m.apply(2, "run.metrics", {"run_id": "r1", "points": pack_points([["loss", 0, 0.5, 2.0]])})
[('r1', 'loss', 0, 0.5, 2.0)]
>>> sink.rows["latest_metrics"][("r1", "loss")]
(('r1', 'loss', 0, 0.5, 2.0), 2)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from itertools import repeat
from json.encoder import encode_basestring
from typing import Any, Protocol

from pedigree.jsonutil import canonical_json
from pedigree.store import events as ev
from pedigree.store.codec import unpack_points
from pedigree.store.events import REGISTRY

__all__ = [
    "GLOBAL_KINDS",
    "HELD",
    "KEYED_TABLES",
    "MUTABLE_TABLES",
    "PARTITION_COLUMN",
    "RUN_KINDS",
    "TABLES",
    "CollectSink",
    "Model",
    "ModelError",
    "Sink",
    "canonical",
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
            "capture_files",
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
    "model_versions": (
        ("name", "version"),
        ("digest", "kind", "size", "run_id", "path", "note", "actor", "at", "selection"),
    ),
    "model_aliases": (("name", "alias", "number"), ("version", "previous", "actor", "at")),
    "users": (
        ("name",),
        ("role", "disabled", "created_at", "created_by", "updated_at", "password_hash"),
    ),
    "tokens": (
        ("id",),
        (
            "user",
            "hash",
            "created_at",
            "created_by",
            "expires_at",
            "revoked_at",
            "revoked_by",
            "note",
        ),
    ),
    "policies": (("number",), ("policy", "actor", "at")),
    "imports": (("source",), ("target_type", "target", "details", "actor", "at")),
    "run_tags": (("run_id", "key", "number"), ("value", "actor", "at")),
}
KEYED_TABLES = tuple(name for name in TABLES if name != "metrics")
# Tables whose rows change after they are written (until their run ends); the others' rows are
# final once written.
MUTABLE_TABLES = frozenset({"runs", "latest_metrics", "run_io", "users", "tokens"})
# The "run" that the rows of users and tokens belong to: one that never ends, so that a role
# change or a revocation years later can still change its row (``compare.Tables`` holds it
# running). They are few; their rows are compared at the end.
HELD = "\x00identities"

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
# Kinds whose rows are all in those per-run tables, keyed by the run the payload names; the
# others are global. Both come from the one registry of event kinds.
RUN_KINDS = frozenset(kind for kind, cls in REGISTRY.items() if cls.RUN_SCOPED)
GLOBAL_KINDS = frozenset(REGISTRY) - RUN_KINDS

_RUN_COLUMNS = TABLES["runs"][1]
_RUN = {name: i + 1 for i, name in enumerate(_RUN_COLUMNS)}  # position in the full row
_STATUS = _RUN["status"]
_ENDED = _RUN["ended_at"]  # then exit_code, error
_CODE = _RUN["code_commit"]  # then the rest of the code, environment_digest, invocation
_STDOUT = _RUN["stdout_digest"]  # then stderr_digest
_NONES = [None] * (len(_RUN_COLUMNS) - _RUN["started_at"])  # the columns after started_at
_CAPTURE_FILES = _RUN["capture_files"]  # the file-capture mark of the invocation

Key = tuple[Any, ...]
Row = tuple[Any, ...]
MetricRow = tuple[Any, ...]


class ModelError(Exception):
    """An event that the projectors would have refused: the log is not a possible history."""


Put = Callable[[Key, Any, int, "str | None"], None]
Add = Callable[[list[Row], int], None]


class Sink(Protocol):
    """Where the model's rows go, in the order the projectors write them.

    ``adder(table)`` takes ``(rows, seq)``: the rows one event writes to a table whose rows
    never change once written (every table but :data:`MUTABLE_TABLES`). For the others,
    ``putter(table)`` writes a row or replaces the row with that key in place (an UPDATE, an
    upsert) and ``mover(table)`` deletes the row with that key and writes the new one after every
    other (a DELETE and INSERT); both take ``(key, row, seq, run)``, and a row may change until
    ``ended(run)``, not after. A runs row is passed as a list that the model keeps changing until
    the run ends.
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

        def add(new: list[Row], seq: int) -> None:
            for row in new:
                rows[row[:npk]] = (row, seq)

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


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _canonical_encoder() -> Callable[[Any], str]:
    """:func:`canonical_json` through one prebuilt C encoder: ``json.dumps`` builds a new
    encoder on every call, which costs as much as encoding the small values folded here.
    ``tests/audit/test_model.py`` holds the two equal."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the plain definition
        return canonical_json
    # Canonical JSON's options: sorted keys, no spaces, non-ASCII kept, NaN and Infinity allowed.
    encode = make(None, _not_json, encode_basestring, None, ":", ",", True, False, True)

    def canonical(value: Any) -> str:
        return "".join(encode(value, 0))

    return canonical


canonical = _canonical_encoder()


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
        return float.__repr__(value) if math.isfinite(value) else canonical(value)
    fast = _SCALAR_JSON.get(kind)
    return fast(value) if fast is not None else canonical(value)


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
        self._add_params = self._add["params"]
        self._put_run = sink.putter("runs")
        self._put_latest = sink.putter("latest_metrics")
        self._move_io = sink.mover("run_io")
        self._put_user = sink.putter("users")
        self._put_token = sink.putter("tokens")
        self._users: dict[str, list[Any]] = {}
        self._tokens: dict[str, list[Any]] = {}
        self._running: dict[str, _Running] = {}
        self._ended: set[str] = set()
        self._seen: dict[str, set[Key]] = {
            "environments": set(),
            "datasets": set(),
            "reproductions": set(),
            "approvals": set(),
            "sweeps": set(),
            "model_versions": set(),
            "model_aliases": set(),
            "policies": set(),
            "imports": set(),
            "run_tags": set(),
        }
        self._trees_with_rows: set[str] = set()
        # By kind, as the log names them: the check looks one up per event it reads.
        self.folds: dict[str, Callable[[int, dict[str, Any]], list[MetricRow] | None]]
        self.folds = {cls.KIND: getattr(self, name) for cls, name in FOLDS.items()}

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
        get = p.get
        command = get("command")
        # In the order of TABLES["runs"]: the columns set later are None until then.
        cols: list[Any] = [
            run_id,
            p["experiment"],
            get("name"),
            get("kind", "run"),
            get("parent_id"),
            "running",
            None if command is None else canonical(command),
            get("cwd"),
            get("user"),
            get("host"),
            get("pid"),
            get("seed"),
            p["started_at"],
        ]
        cols += _NONES
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
        get = code.get
        extra = get("extra")
        invocation = p.get("invocation")
        cols[_CODE : _CODE + 8] = (
            get("commit"),
            get("branch"),
            get("remote"),
            get("dirty"),
            get("patch_digest"),
            None if extra is None else canonical(extra),
            p.get("environment_digest"),
            canonical(invocation) if invocation else None,
        )
        # Derived from the invocation, as its projection derives it (runs.capture_files).
        mark = invocation.get("capture") if isinstance(invocation, dict) else None
        files = mark.get("files") if isinstance(mark, dict) else None
        cols[_CAPTURE_FILES] = files[:16] if isinstance(files, str) else None
        self._put_run((run_id,), cols, seq, run_id)

    def _run_ended(self, seq: int, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        cols = self._run(run_id, "run.ended").cols
        get = p.get
        cols[_STATUS] = p["status"]
        cols[_ENDED : _ENDED + 3] = (p["ended_at"], get("exit_code"), get("error"))
        cols[_STDOUT : _STDOUT + 2] = (get("stdout_digest"), get("stderr_digest"))
        self._put_run((run_id,), cols, seq, run_id)
        del self._running[run_id]
        self._ended.add(run_id)
        self.sink.ended(run_id)

    # -- per-run tables -------------------------------------------------------------------------

    def _run_params(self, seq: int, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        known = self._run(run_id, "run.params").params
        rows: list[Row] = []
        append = rows.append
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
            append(row)
        if rows:
            # In key order, as the projector inserts them: the canonical payload's order.
            self._add_params(rows, seq)

    def _run_metrics(self, seq: int, p: dict[str, Any]) -> list[MetricRow]:
        run_id = p["run_id"]
        latest = self._run(run_id, "run.metrics").latest
        cols = unpack_points(p["points"])
        rows: list[MetricRow] = list(zip(repeat(run_id), *cols))
        # This write's latest point per key, as the projector finds it: the highest step, the
        # last logged on a tie. Two shapes are common and need no loop: one point per key (a
        # summary), and one key whose steps never go down (a curve).
        distinct = len(p["points"]["keys"])
        if distinct == len(rows):
            newest: list[MetricRow] = rows
        elif distinct == 1 and list(cols.steps) == sorted(cols.steps):
            newest = rows[-1:]
        else:
            last: dict[str, MetricRow] = {}
            get = last.get
            for row in rows:
                old = get(row[1])
                if old is None or row[2] >= old[2]:
                    last[row[1]] = row
            newest = list(last.values())
        put = self._put_latest
        for row in newest:
            key = row[1]
            step = latest.get(key)
            if step is None or row[2] >= step:
                latest[key] = row[2]
                put((run_id, key), row, seq, run_id)
        return rows

    def _io_items(self, seq: int, run_id: str, items: list[dict[str, Any]], attached: bool) -> None:
        move = self._move_io
        for i in items:
            if attached:
                key = (run_id, "output", i["path"])
                row = (*key, i["digest"], i["size"], i["kind"], True, False)
            else:
                get = i.get
                key = (run_id, i["role"], i["path"])
                declared, modified = bool(get("declared", False)), bool(get("modified", False))
                row = (*key, i["digest"], i["size"], i["kind"], declared, modified)
            # The projector deletes and inserts: the row moves after every other.
            move(key, row, seq, run_id)

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
        self._add[table]([row], seq)

    def _reproduction(self, seq: int, p: dict[str, Any]) -> None:
        row = (p["run_id"], p["original_id"], p["verdict"], canonical(p["details"]))
        self._insert("reproductions", row, seq)

    def _sweep(self, seq: int, p: dict[str, Any]) -> None:
        self._insert("sweeps", (p["run_id"], canonical(p["spec"])), seq)

    def _environment(self, seq: int, p: dict[str, Any]) -> None:
        key = (p["digest"],)
        if key not in self._seen["environments"]:  # the first description of it stays
            row = (
                p["digest"],
                p.get("python"),
                p.get("platform"),
                p.get("packages_digest"),
                canonical(p["data"]),
            )
            self._insert("environments", row, seq)

    def _tree(self, seq: int, p: dict[str, Any]) -> None:
        digest = p["digest"]
        entries = p["entries"]
        if digest in self._trees_with_rows or not entries:
            return
        self._trees_with_rows.add(digest)
        rows = [(digest, path, file_digest, size) for path, file_digest, size in entries]
        self._add["tree_entries"](rows, seq)

    def _dataset(self, seq: int, p: dict[str, Any]) -> None:
        row = tuple(p.get(k) for k in ("name", "version", *TABLES["datasets"][1]))
        self._insert("datasets", row, seq)

    def _approval(self, seq: int, p: dict[str, Any]) -> None:
        row = tuple(p.get(k) for k in ("id", *TABLES["approvals"][1]))
        self._insert("approvals", row, seq)

    def _model_registered(self, seq: int, p: dict[str, Any]) -> None:
        selection = p.get("selection")
        row = tuple(p.get(k) for k in ("name", "version", *TABLES["model_versions"][1][:-1]))
        self._insert(
            "model_versions", (*row, None if selection is None else canonical(selection)), seq
        )

    def _model_alias_moved(self, seq: int, p: dict[str, Any]) -> None:
        row = tuple(p.get(k) for k in ("name", "alias", "number", *TABLES["model_aliases"][1]))
        self._insert("model_aliases", row, seq)

    # -- identities -----------------------------------------------------------------------------

    def _user(self, name: str, kind: str) -> list[Any]:
        row = self._users.get(name)
        if row is None:
            raise ModelError(f"{kind} for user {name!r}, whom the log never added")
        return row

    def _user_added(self, seq: int, p: dict[str, Any]) -> None:
        name = p["name"]
        if name in self._users:
            raise ModelError(f"user {name!r} added twice")
        at = p.get("at", 0.0)
        row = self._users[name] = [name, p["role"], False, at, p.get("actor"), at, None]
        self._put_user((name,), tuple(row), seq, HELD)

    def _user_role_changed(self, seq: int, p: dict[str, Any]) -> None:
        row = self._user(p["name"], "user.role_changed")
        row[1], row[5] = p["role"], p.get("at", 0.0)
        self._put_user((row[0],), tuple(row), seq, HELD)

    def _user_disabled(self, seq: int, p: dict[str, Any]) -> None:
        row = self._user(p["name"], "user.disabled")
        row[2], row[5] = True, p.get("at", 0.0)
        self._put_user((row[0],), tuple(row), seq, HELD)

    def _user_password_set(self, seq: int, p: dict[str, Any]) -> None:
        row = self._user(p["name"], "user.password_set")
        row[6], row[5] = p["hash"], p.get("at", 0.0)
        self._put_user((row[0],), tuple(row), seq, HELD)

    def _token_created(self, seq: int, p: dict[str, Any]) -> None:
        token_id = p["id"]
        self._user(p["user"], "token.created")
        if token_id in self._tokens:
            raise ModelError(f"token {token_id} created twice")
        get = p.get
        row = [token_id, p["user"], p["hash"], get("at", 0.0), get("actor"), get("expires_at")]
        row += [None, None, get("note")]
        self._tokens[token_id] = row
        self._put_token((token_id,), tuple(row), seq, HELD)

    def _token_revoked(self, seq: int, p: dict[str, Any]) -> None:
        row = self._tokens.get(p["id"])
        if row is None:
            raise ModelError(f"token.revoked for token {p['id']}, which the log never created")
        if row[6] is not None:
            raise ModelError(f"token {p['id']} revoked twice")
        row[6], row[7] = p.get("at", 0.0), p.get("actor")
        self._put_token((row[0],), tuple(row), seq, HELD)

    def _policy_changed(self, seq: int, p: dict[str, Any]) -> None:
        row = (p["number"], canonical(p["policy"]), p.get("actor"), p.get("at", 0.0))
        self._insert("policies", row, seq)

    def _import_recorded(self, seq: int, p: dict[str, Any]) -> None:
        # A global kind, folded apart from the runs (as approvals are): the store refused one
        # naming a run it did not hold.
        details = p.get("details")
        row = (
            p["source"],
            p["target_type"],
            p["target"],
            None if details is None else canonical(details),
            p.get("actor"),
            p.get("at", 0.0),
        )
        self._insert("imports", row, seq)

    def _run_tagged(self, seq: int, p: dict[str, Any]) -> None:
        row = tuple(p.get(k) for k in ("run_id", "key", "number", "value", "actor", "at"))
        self._insert("run_tags", row, seq)

    def _run_untagged(self, seq: int, p: dict[str, Any]) -> None:
        row = (p["run_id"], p["key"], p["number"], None, p.get("actor"), p.get("at"))
        self._insert("run_tags", row, seq)


# The fold of each event kind (a method of :class:`Model`), as ``store.projections`` has a
# projector for each: a kind the registry knows must have both.
FOLDS: dict[type[ev.Event], str] = {
    ev.RunCreated: "_run_created",
    ev.RunUpdated: "_run_updated",
    ev.RunParams: "_run_params",
    ev.RunMetrics: "_run_metrics",
    ev.RunCaptured: "_run_captured",
    ev.RunIO: "_run_io",
    ev.RunAttached: "_run_attached",
    ev.RunEnded: "_run_ended",
    ev.EnvironmentRecorded: "_environment",
    ev.TreeRecorded: "_tree",
    ev.DatasetVersioned: "_dataset",
    ev.ReproductionRecorded: "_reproduction",
    ev.ApprovalRecorded: "_approval",
    ev.SweepCreated: "_sweep",
    ev.ModelRegistered: "_model_registered",
    ev.ModelAliasMoved: "_model_alias_moved",
    ev.UserAdded: "_user_added",
    ev.UserRoleChanged: "_user_role_changed",
    ev.UserDisabled: "_user_disabled",
    ev.UserPasswordSet: "_user_password_set",
    ev.TokenCreated: "_token_created",
    ev.TokenRevoked: "_token_revoked",
    ev.PolicyChanged: "_policy_changed",
    ev.ImportRecorded: "_import_recorded",
    ev.RunTagged: "_run_tagged",
    ev.RunUntagged: "_run_untagged",
}
