"""How each event kind changes the tables.

A projector is a function of a connection and an event payload. Projectors run inside the
append transaction, after the event is chained, so a refused change (``RunImmutable``) rolls back
the event too. They are also the reference for ``audit verify``: the tables must be exactly
what the projectors make of the log. The projectors of ``run_io``, ``tree_entries``,
``datasets`` and ``reproductions`` rows also add the run-to-run edges those rows make
(``store.edges``), with one statement restricted to the new rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from itertools import repeat
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pedigree.errors import Conflict, NotFound, RunImmutable, RunNotFound
from pedigree.jsonutil import canonical_json
from pedigree.store import edges
from pedigree.store import events as ev
from pedigree.store import schema as t
from pedigree.store.codec import Columns, unpack_points

__all__ = ["apply", "param_columns"]

Projector = Callable[[Connection, dict[str, Any]], None]
PROJECTORS: dict[type[ev.Event], Projector] = {}


def projector(kind: type[ev.Event]) -> Callable[[Projector], Projector]:
    def register(fn: Projector) -> Projector:
        PROJECTORS[kind] = fn
        return fn

    return register


def apply(conn: Connection, kind: str, payload: dict[str, Any]) -> None:
    """Apply one event, given as its kind and the payload ``events.prepare`` made of it."""
    try:
        cls = ev.REGISTRY[kind]
    except KeyError:
        raise ValueError(f"unknown event kind {kind!r}") from None
    if cls.WHILE_RUNNING:
        _require_running(conn, payload["run_id"], kind)
    PROJECTORS[cls](conn, payload)


def _require_running(conn: Connection, run_id: str, kind: str) -> None:
    status = conn.execute(sa.select(t.runs.c.status).where(t.runs.c.id == run_id)).scalar()
    if status is None:
        raise RunNotFound(f"no run {run_id}")
    if status != "running":
        what = kind.removeprefix("run.")
        raise RunImmutable(f"run {run_id} has ended ({status}); its {what} can no longer change")


def bulk_insert(
    conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Insert many rows through the driver's executemany: metrics arrive by the thousand, and
    SQLAlchemy's per-row parameter processing would cost more than the database does."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, rows)


def _upsert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


@projector(ev.RunCreated)
def _run_created(conn: Connection, p: dict[str, Any]) -> None:
    conn.execute(
        t.runs.insert().values(
            id=p["id"],
            experiment=p["experiment"],
            name=p.get("name"),
            kind=p.get("kind", "run"),
            parent_id=p.get("parent_id"),
            status="running",
            command=canonical_json(p["command"]) if p.get("command") is not None else None,
            cwd=p.get("cwd"),
            user=p.get("user"),
            host=p.get("host"),
            pid=p.get("pid"),
            seed=p.get("seed"),
            started_at=p["started_at"],
        )
    )
    # Liveness is operational state, not part of the record, but it is written with the run so
    # that no run ever exists without a way to tell whether its recorder stopped.
    conn.execute(
        t.run_liveness.insert().values(
            run_id=p["id"], host=p.get("host"), pid=p.get("pid"), heartbeat_at=p["started_at"]
        )
    )


@projector(ev.RunUpdated)
def _run_updated(conn: Connection, p: dict[str, Any]) -> None:
    values = {k: p[k] for k in ("experiment", "name", "seed") if k in p}
    if values:
        conn.execute(t.runs.update().where(t.runs.c.id == p["run_id"]).values(**values))


def param_columns(value: Any) -> tuple[float | None, str | None]:
    """The typed columns a parameter value is compared by."""
    if isinstance(value, bool | int | float):
        num = float(value)
        return (num if math.isfinite(num) else None), None
    if isinstance(value, str):
        return None, value
    return None, None


@projector(ev.RunParams)
def _run_params(conn: Connection, p: dict[str, Any]) -> None:
    run_id = p["run_id"]
    new: dict[str, Any] = p["params"]
    if not new:
        return
    existing = {
        row.key: row.value
        for row in conn.execute(
            sa.select(t.params.c.key, t.params.c.value).where(
                t.params.c.run_id == run_id, t.params.c.key.in_(list(new))
            )
        )
    }
    rows = []
    # In key order, as the log's canonical payload lists them: the table's natural order is then
    # the order ``audit verify`` folds them in, which it compares fastest.
    for key, value in sorted(new.items()):
        text = canonical_json(value)
        if key in existing:
            if json.loads(existing[key]) != value:
                raise Conflict(
                    f"parameter {key!r} of run {run_id} is already {existing[key]}; "
                    f"it cannot change to {text}"
                )
            continue
        num, s = param_columns(value)
        rows.append((run_id, key, text, num, s))
    bulk_insert(conn, t.params, ("run_id", "key", "value", "num", "str"), rows)


@projector(ev.RunMetrics)
def _run_metrics(conn: Connection, p: dict[str, Any]) -> None:
    run_id = p["run_id"]
    points = p["points"]
    if type(points) is Columns:  # made when the store packed a list of points for the log
        rows: list[tuple[Any, ...]] = list(zip(repeat(run_id), *points))
    elif type(points) is dict:  # packed, as the log holds them
        rows = list(zip(repeat(run_id), *unpack_points(points)))
    else:  # [[key, step, value or None, ts], ...]
        rows = [(run_id, k, step, value, ts) for k, step, value, ts in points]
    if not rows:
        return
    bulk_insert(conn, t.metrics, ("run_id", "key", "step", "value", "ts"), rows)
    # The latest value of a key is the one with the highest step (the last logged on a tie).
    latest: dict[str, tuple[Any, ...]] = {}
    get = latest.get
    for row in rows:
        prev = get(row[1])
        if prev is None or row[2] >= prev[2]:
            latest[row[1]] = row
    stmt = _upsert(conn, t.latest_metrics)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.latest_metrics.c.run_id, t.latest_metrics.c.key],
        set_={"step": stmt.excluded.step, "value": stmt.excluded.value, "ts": stmt.excluded.ts},
        where=stmt.excluded.step >= t.latest_metrics.c.step,
    )
    conn.execute(
        stmt,
        [
            {"run_id": run_id, "key": k, "step": s, "value": v, "ts": ts}
            for _r, k, s, v, ts in latest.values()
        ],
    )


@projector(ev.RunCaptured)
def _run_captured(conn: Connection, p: dict[str, Any]) -> None:
    code = p.get("code") or {}
    extra = code.get("extra")
    conn.execute(
        t.runs.update()
        .where(t.runs.c.id == p["run_id"])
        .values(
            code_commit=code.get("commit"),
            code_branch=code.get("branch"),
            code_remote=code.get("remote"),
            code_dirty=code.get("dirty"),
            code_patch_digest=code.get("patch_digest"),
            code_extra=canonical_json(extra) if extra is not None else None,
            environment_digest=p.get("environment_digest"),
            invocation=canonical_json(p["invocation"]) if p.get("invocation") else None,
            capture_files=_capture_files(p.get("invocation")),
        )
    )


def _capture_files(invocation: Any) -> str | None:
    """The file-capture mark kept in an invocation (``capture.files``), if any."""
    mark = invocation.get("capture") if isinstance(invocation, dict) else None
    files = mark.get("files") if isinstance(mark, dict) else None
    return files[:16] if isinstance(files, str) else None


@projector(ev.RunIO)
def _run_io(conn: Connection, p: dict[str, Any]) -> None:
    items = p["items"]
    if not items:
        return
    run_id = p["run_id"]
    keys = [(i["role"], i["path"]) for i in items]
    replaced = conn.execute(
        t.run_io.delete().where(
            t.run_io.c.run_id == run_id,
            sa.tuple_(t.run_io.c.role, t.run_io.c.path).in_(keys),
        )
    ).rowcount
    conn.execute(
        t.run_io.insert(),
        [
            {
                "run_id": run_id,
                "role": i["role"],
                "path": i["path"],
                "digest": i["digest"],
                "size": i["size"],
                "kind": i["kind"],
                "declared": bool(i.get("declared", False)),
                "modified": bool(i.get("modified", False)),
            }
            for i in items
        ],
    )
    if replaced:
        # Rows recorded again: an edge may have rested on what they held.
        edges.recompute_run(conn, run_id)
    else:
        inputs = [path for role, path in keys if role == "input"]
        edges.record_io(conn, run_id, inputs, [path for role, path in keys if role != "input"])


@projector(ev.RunAttached)
def _run_attached(conn: Connection, p: dict[str, Any]) -> None:
    run_id = p["run_id"]
    if conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id == run_id)).first() is None:
        raise RunNotFound(f"no run {run_id}")
    items = p["items"]
    if not items:
        return
    taken = {
        row.path
        for row in conn.execute(
            sa.select(t.run_io.c.path).where(
                t.run_io.c.run_id == run_id,
                t.run_io.c.role == "output",
                t.run_io.c.path.in_([i["path"] for i in items]),
            )
        )
    }
    if taken:
        raise Conflict(f"run {run_id} already has outputs at {', '.join(sorted(taken))}")
    conn.execute(
        t.run_io.insert(),
        [
            {
                "run_id": run_id,
                "role": "output",
                "path": i["path"],
                "digest": i["digest"],
                "size": i["size"],
                "kind": i["kind"],
                "declared": True,
                "modified": False,
            }
            for i in items
        ],
    )
    edges.record_io(conn, run_id, [], [i["path"] for i in items])


@projector(ev.RunEnded)
def _run_ended(conn: Connection, p: dict[str, Any]) -> None:
    conn.execute(
        t.runs.update()
        .where(t.runs.c.id == p["run_id"])
        .values(
            status=p["status"],
            exit_code=p.get("exit_code"),
            ended_at=p["ended_at"],
            error=p.get("error"),
            stdout_digest=p.get("stdout_digest"),
            stderr_digest=p.get("stderr_digest"),
        )
    )
    conn.execute(t.run_liveness.delete().where(t.run_liveness.c.run_id == p["run_id"]))


@projector(ev.EnvironmentRecorded)
def _environment_recorded(conn: Connection, p: dict[str, Any]) -> None:
    exists = conn.execute(
        sa.select(t.environments.c.digest).where(t.environments.c.digest == p["digest"])
    ).first()
    if exists is None:
        conn.execute(
            t.environments.insert().values(
                digest=p["digest"],
                python=p.get("python"),
                platform=p.get("platform"),
                packages_digest=p.get("packages_digest"),
                data=canonical_json(p["data"]),
            )
        )


@projector(ev.TreeRecorded)
def _tree_recorded(conn: Connection, p: dict[str, Any]) -> None:
    exists = conn.execute(
        sa.select(t.tree_entries.c.tree_digest)
        .where(t.tree_entries.c.tree_digest == p["digest"])
        .limit(1)
    ).first()
    if exists is None and p["entries"]:
        conn.execute(
            t.tree_entries.insert(),
            [
                {"tree_digest": p["digest"], "path": path, "digest": d, "size": size}
                for path, d, size in p["entries"]
            ],
        )
        edges.record_tree(conn, p["digest"])


@projector(ev.DatasetVersioned)
def _dataset_versioned(conn: Connection, p: dict[str, Any]) -> None:
    conn.execute(
        t.datasets.insert().values(
            **{
                k: p.get(k)
                for k in (
                    "name",
                    "version",
                    "digest",
                    "kind",
                    "size",
                    "file_count",
                    "path",
                    "created_at",
                    "user",
                    "run_id",
                )
            }
        )
    )
    if p.get("run_id") is not None:
        edges.record_dataset(conn, p["name"], p["version"])


@projector(ev.ReproductionRecorded)
def _reproduction_recorded(conn: Connection, p: dict[str, Any]) -> None:
    conn.execute(
        t.reproductions.insert().values(
            run_id=p["run_id"],
            original_id=p["original_id"],
            verdict=p["verdict"],
            details=canonical_json(p["details"]),
        )
    )
    edges.record_reproduction(conn, p["run_id"])


@projector(ev.ApprovalRecorded)
def _approval_recorded(conn: Connection, p: dict[str, Any]) -> None:
    conn.execute(
        t.approvals.insert().values(
            **{
                k: p.get(k)
                for k in ("id", "target_type", "target", "decision", "note", "actor", "at")
            }
        )
    )


@projector(ev.SweepCreated)
def _sweep_created(conn: Connection, p: dict[str, Any]) -> None:
    conn.execute(t.sweeps.insert().values(run_id=p["run_id"], spec=canonical_json(p["spec"])))


@projector(ev.ModelRegistered)
def _model_registered(conn: Connection, p: dict[str, Any]) -> None:
    selection = p.get("selection")
    columns = ("name", "version", "digest", "kind", "size", "run_id", "path", "note", "actor", "at")
    conn.execute(
        t.model_versions.insert().values(
            **{k: p.get(k) for k in columns},
            selection=None if selection is None else canonical_json(selection),
        )
    )


@projector(ev.ModelAliasMoved)
def _model_alias_moved(conn: Connection, p: dict[str, Any]) -> None:
    columns = ("name", "alias", "number", "version", "previous", "actor", "at")
    conn.execute(t.model_aliases.insert().values(**{k: p.get(k) for k in columns}))


# -- identities: a refused change rolls its event back (the domain checks first, for its message)


def _require_user(conn: Connection, name: str) -> None:
    if conn.execute(sa.select(t.users.c.name).where(t.users.c.name == name)).first() is None:
        raise NotFound(f"no user {name!r}")


def _update_user(conn: Connection, p: dict[str, Any], **values: Any) -> None:
    """Change an existing user's row (``NotFound`` when there is none), stamped with the event's
    time."""
    _require_user(conn, p["name"])
    conn.execute(
        t.users.update()
        .where(t.users.c.name == p["name"])
        .values(**values, updated_at=p.get("at", 0.0))
    )


@projector(ev.UserAdded)
def _user_added(conn: Connection, p: dict[str, Any]) -> None:
    if conn.execute(sa.select(t.users.c.name).where(t.users.c.name == p["name"])).first():
        raise Conflict(f"user {p['name']!r} exists already")
    at = p.get("at", 0.0)
    conn.execute(
        t.users.insert().values(
            name=p["name"],
            role=p["role"],
            disabled=False,
            created_at=at,
            created_by=p.get("actor"),
            updated_at=at,
        )
    )


@projector(ev.UserRoleChanged)
def _user_role_changed(conn: Connection, p: dict[str, Any]) -> None:
    _update_user(conn, p, role=p["role"])


@projector(ev.UserDisabled)
def _user_disabled(conn: Connection, p: dict[str, Any]) -> None:
    _update_user(conn, p, disabled=True)


@projector(ev.UserPasswordSet)
def _user_password_set(conn: Connection, p: dict[str, Any]) -> None:
    _update_user(conn, p, password_hash=p["hash"])


@projector(ev.TokenCreated)
def _token_created(conn: Connection, p: dict[str, Any]) -> None:
    _require_user(conn, p["user"])
    if conn.execute(sa.select(t.tokens.c.id).where(t.tokens.c.id == p["id"])).first():
        raise Conflict(f"token {p['id']} exists already")
    conn.execute(
        t.tokens.insert().values(
            id=p["id"],
            user=p["user"],
            hash=p["hash"],
            created_at=p.get("at", 0.0),
            created_by=p.get("actor"),
            expires_at=p.get("expires_at"),
            revoked_at=None,
            revoked_by=None,
            note=p.get("note"),
        )
    )


@projector(ev.TokenRevoked)
def _token_revoked(conn: Connection, p: dict[str, Any]) -> None:
    revoked = conn.execute(
        sa.select(t.tokens.c.id, t.tokens.c.revoked_at).where(t.tokens.c.id == p["id"])
    ).first()
    if revoked is None:
        raise NotFound(f"no token {p['id']}")
    if revoked.revoked_at is not None:
        raise Conflict(f"token {p['id']} is revoked already")
    conn.execute(
        t.tokens.update()
        .where(t.tokens.c.id == p["id"])
        .values(revoked_at=p.get("at", 0.0), revoked_by=p.get("actor"))
    )


@projector(ev.PolicyChanged)
def _policy_changed(conn: Connection, p: dict[str, Any]) -> None:
    conn.execute(
        t.policies.insert().values(
            number=p["number"],
            policy=canonical_json(p["policy"]),
            actor=p.get("actor"),
            at=p.get("at", 0.0),
        )
    )


@projector(ev.RunTagged)
def _run_tagged(conn: Connection, p: dict[str, Any]) -> None:
    columns = ("run_id", "key", "number", "value", "actor", "at")
    conn.execute(t.run_tags.insert().values(**{k: p.get(k) for k in columns}))


@projector(ev.RunUntagged)
def _run_untagged(conn: Connection, p: dict[str, Any]) -> None:
    columns = ("run_id", "key", "number", "actor", "at")
    conn.execute(t.run_tags.insert().values(**{k: p.get(k) for k in columns}, value=None))


@projector(ev.ImportRecorded)
def _import_recorded(conn: Connection, p: dict[str, Any]) -> None:
    # The record it names is made by the events before it, in the same append.
    if p["target_type"] == "run":
        found = conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id == p["target"])).first()
        if found is None:
            raise RunNotFound(f"no run {p['target']}")
    seen = conn.execute(
        sa.select(t.imports.c.target).where(t.imports.c.source == p["source"])
    ).scalar()
    if seen is not None:
        raise Conflict(f"{p['source']} was imported already (as {seen})")
    details = p.get("details")
    conn.execute(
        t.imports.insert().values(
            source=p["source"],
            target_type=p["target_type"],
            target=p["target"],
            details=None if details is None else canonical_json(details),
            actor=p.get("actor"),
            at=p.get("at", 0.0),
        )
    )
