"""Reads over runs: one part of the store's read interface (``store.reader.Reader``)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from pedigree.errors import Ambiguous, RunNotFound
from pedigree.store.db import Db, in_list
from pedigree.store.reads import chunked
from pedigree.store.reads._where import Query, current_tags
from pedigree.store.where import Expr, OrderKey

__all__ = ["RunReads", "RunRow"]

_ID_PREFIX = re.compile(r"^[0-9a-f-]{4,36}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    """One run as the ``runs`` table holds it (JSON columns still as text), with its recorder's
    last heartbeat while it is running (``heartbeat_at``, ``live_host``, ``live_pid``: ``None``
    once it has ended)."""

    id: str
    experiment: str
    name: str | None
    kind: str
    parent_id: str | None
    status: str
    command: str | None
    cwd: str | None
    user: str | None
    host: str | None
    pid: int | None
    seed: int | None
    started_at: float
    ended_at: float | None
    exit_code: int | None
    error: str | None
    code_commit: str | None
    code_branch: str | None
    code_remote: str | None
    code_dirty: bool | None
    code_patch_digest: str | None
    code_extra: str | None
    environment_digest: str | None
    invocation: str | None
    stdout_digest: str | None
    stderr_digest: str | None
    heartbeat_at: float | None = None
    live_host: str | None = None
    live_pid: int | None = None


def _run_columns() -> str:
    # The runs table's columns, in RunRow's order ("user" quoted: a keyword on PostgreSQL),
    # then the liveness row's.
    names = [f.name for f in fields(RunRow)][:-3]
    cols = ", ".join("r." + (f'"{n}"' if n == "user" else n) for n in names)
    return f"{cols}, l.heartbeat_at, l.host, l.pid"


_RUN_SELECT = (
    f"SELECT {_run_columns()} FROM runs r LEFT OUTER JOIN run_liveness l ON l.run_id = r.id"
)
_FIELDS = [f.name for f in fields(RunRow)]
_DIRTY = _FIELDS.index("code_dirty")


def _run_row(row: tuple[Any, ...]) -> RunRow:
    values = list(row)
    if values[_DIRTY] is not None:
        values[_DIRTY] = bool(values[_DIRTY])  # SQLite holds 0 and 1
    return RunRow(**dict(zip(_FIELDS, values, strict=True)))


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class RunReads:
    """Reads over runs: their rows, params, metrics, environments, and ``--where`` search."""

    db: Db

    def resolve_run(self, ref: str) -> str:
        """A full run id from a full id, a unique prefix (at least 4 characters) or ``last``."""
        ref = ref.strip()
        if ref == "last":
            rid = self.db.scalar("SELECT id FROM runs ORDER BY id DESC LIMIT 1")
            if rid is None:
                raise RunNotFound("there are no runs yet")
            return str(rid)
        if not _ID_PREFIX.match(ref.lower()):
            raise RunNotFound(
                f"no run {ref!r}: a run is a full id, a unique prefix of 4+ characters or `last`"
            )
        ref = ref.lower()
        if len(ref) == 36:
            if self.db.scalar("SELECT id FROM runs WHERE id = :id", {"id": ref}) is None:
                raise RunNotFound(f"no run {ref}")
            return ref
        matches = self.db.scalars(
            "SELECT id FROM runs WHERE id >= :lo AND id < :hi ORDER BY id LIMIT 6",
            {"lo": ref, "hi": ref + "~"},
        )
        if not matches:
            raise RunNotFound(f"no run with an id starting {ref!r}")
        if len(matches) > 1:
            shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
            raise Ambiguous(f"{ref!r} matches several runs ({shown}); give more characters")
        return str(matches[0])

    def run_rows(self, ids: Sequence[str]) -> dict[str, RunRow]:
        """The runs with these ids, by id (ids with no run are left out)."""
        out: dict[str, RunRow] = {}
        for chunk in chunked(ids):
            condition, params = in_list("r.id", chunk, "r")
            for row in self.db.rows(f"{_RUN_SELECT} WHERE {condition}", params):
                run = _run_row(row)
                out[run.id] = run
        return out

    def experiment_names(self) -> list[str]:
        """Every experiment name a run carries, sorted (the (experiment, id) index answers it;
        the MLflow endpoint derives experiment ids from these)."""
        return [str(n) for n in self.db.scalars("SELECT DISTINCT experiment FROM runs ORDER BY 1")]

    def params(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {i: {} for i in ids}
        for chunk in chunked(ids):
            condition, params = in_list("run_id", chunk, "r")
            for run_id, key, value in self.db.rows(
                f"SELECT run_id, key, value FROM params WHERE {condition} ORDER BY key", params
            ):
                out[run_id][key] = json.loads(value)
        return out

    def tags(self, ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The current tags of these runs, by run id, then key."""
        out: dict[str, dict[str, str]] = {i: {} for i in ids}
        for chunk in chunked(ids):
            condition, params = in_list("g.run_id", chunk, "r")
            for run_id, key, value in self.db.rows(
                f"SELECT g.run_id, g.key, g.value FROM {current_tags('t')} g"
                f" WHERE {condition} ORDER BY g.key",
                params,
            ):
                out[run_id][key] = value
        return out

    def tag_numbers(self, run_id: str) -> dict[str, int]:
        """How many times each tag key of a run has changed (the next change is one more)."""
        rows = self.db.rows(
            "SELECT key, max(number) FROM run_tags WHERE run_id = :id GROUP BY key", {"id": run_id}
        )
        return {key: int(n) for key, n in rows}

    def tag_history(self, run_id: str) -> list[dict[str, Any]]:
        """Every set and removal of a tag of a run, oldest first (value None: removed)."""
        rows = self.db.rows(
            "SELECT key, number, value, actor, at FROM run_tags WHERE run_id = :id"
            " ORDER BY at, key, number",
            {"id": run_id},
        )
        names = ("key", "number", "value", "actor", "at")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def latest_metrics(self, ids: Sequence[str]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {i: {} for i in ids}
        nan = float("nan")
        for chunk in chunked(ids):
            condition, params = in_list("run_id", chunk, "r")
            for run_id, key, value in self.db.rows(
                f"SELECT run_id, key, value FROM latest_metrics WHERE {condition} ORDER BY key",
                params,
            ):
                out[run_id][key] = nan if value is None else value
        return out

    def metric_history(
        self, run_id: str, key: str | None = None
    ) -> list[tuple[str, int, float, float]]:
        """(key, step, value, ts) points in logging order; NaN comes back as NaN."""
        q = "SELECT key, step, value, ts FROM metrics WHERE run_id = :id"
        params: dict[str, Any] = {"id": run_id}
        if key is not None:
            q += " AND key = :k"
            params["k"] = key
        rows = self.db.rows(q + " ORDER BY key, step, id", params)
        nan = float("nan")
        return [(k, step, nan if v is None else v, ts) for k, step, v, ts in rows]

    def metric_series(
        self, run_ids: Sequence[str], key: str
    ) -> dict[str, tuple[list[int], list[float]]]:
        """Each run's history of one metric as (steps, values), by step; NaN comes back as NaN.

        A step logged twice keeps its last value. Runs without the metric are left out.
        ``sweep assess`` reads 200 series of 5,000 points this way.
        """
        out: dict[str, tuple[list[int], list[float]]] = {}
        nan = float("nan")
        q = "SELECT step, value FROM metrics WHERE run_id = :id AND key = :k ORDER BY step, id"
        for run_id in dict.fromkeys(run_ids):
            # The driver's rows as they are (ints, floats, None): building an object per point
            # was half of the time on 200 x 5,000 points.
            rows = self.db.rows(q, {"id": run_id, "k": key})
            if not rows:
                continue
            steps = [r[0] for r in rows]
            values = [r[1] for r in rows]  # floats from both drivers; NULL is NaN
            if None in values:
                values = [nan if v is None else v for v in values]
            if len(set(steps)) != len(steps):
                last = dict(zip(steps, values, strict=True))  # later points win
                steps, values = list(last), list(last.values())
            out[run_id] = (steps, values)
        return out

    def environment(self, digest: str) -> dict[str, Any] | None:
        data = self.db.scalar("SELECT data FROM environments WHERE digest = :d", {"d": digest})
        return json.loads(data) if data else None

    def incomplete_capture(self) -> list[str]:
        """The ids of the runs whose file capture was ``partial`` or ``off`` (the mark of
        ``pedigree.capture.files``, indexed in ``runs.capture_files``), oldest first."""
        return list(
            self.db.scalars(
                "SELECT id FROM runs WHERE capture_files IN ('partial', 'off') ORDER BY id"
            )
        )

    def capture_marks(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The file-capture mark of these runs (``{"files", "reasons", "trace"}``), by id;
        runs without one (recorded before it existed, or still running) are left out."""
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunked(ids):
            condition, params = in_list("id", chunk, "r")
            for rid, invocation in self.db.rows(
                f"SELECT id, invocation FROM runs WHERE {condition}", params
            ):
                mark = json.loads(invocation).get("capture") if invocation else None
                if isinstance(mark, dict):
                    out[rid] = mark
        return out

    def running_runs(self) -> list[RunRow]:
        """The runs recorded as running (whether or not their recorder still is), oldest first."""
        rows = self.db.rows(f"{_RUN_SELECT} WHERE r.status = 'running' ORDER BY r.id")
        return [_run_row(row) for row in rows]

    def abbreviations(self, ids: Sequence[str], *, minimum: int = 8) -> dict[str, str]:
        """Prefixes of the ids that no other run shares (git-style), all of one length so that they
        line up: the length the most crowded id needs, at least ``minimum``.

        Ids are time-ordered, so runs started in the same second share their first 10 or more
        characters; a fixed-length prefix would not tell them apart.
        """
        length = minimum
        for rid in dict.fromkeys(ids):
            before = self.db.scalar("SELECT max(id) FROM runs WHERE id < :id", {"id": rid})
            after = self.db.scalar("SELECT min(id) FROM runs WHERE id > :id", {"id": rid})
            common = max(_common_prefix(rid, before or ""), _common_prefix(rid, after or ""))
            length = max(length, common + 1)
        return {rid: rid[:length] for rid in ids}

    def select_runs(
        self,
        *,
        experiment: str | None = None,
        where: Expr | None = None,
        order_by: Sequence[OrderKey] = (),
        limit: int | None = None,
        kinds: Sequence[str] | None = None,
        parent: str | None = None,
    ) -> list[str]:
        """Ids of the runs that match, in order (newest first unless ``order_by`` says otherwise).

        Ordering by a metric is served by the (key, value) index: the runs that have the metric come
        first, straight from the index, and the runs without it are only looked for when fewer than
        ``limit`` runs have it. The statements are SQL text (``store.reads._where``).
        """
        q = Query()
        filters: list[str] = []
        if experiment is not None:
            filters.append(f"r.experiment = {q.bind(experiment)}")
        if kinds:
            filters.append(q.op("r.kind", "in", tuple(kinds)))
        if parent is not None:
            filters.append(f"r.parent_id = {q.bind(parent)}")

        def where_sql(conds: list[str]) -> str:
            return f" WHERE {' AND '.join(conds)}" if conds else ""

        def limited(n: int | None) -> str:
            return "" if n is None else f" LIMIT {q.bind(n)}"

        first = order_by[0] if order_by else None
        if first is not None and first.field.namespace == "metrics":
            conds = [f"o.key = {q.bind(first.field.key)}", "o.value IS NOT NULL", *filters]
            if where is not None:
                conds.append(q.cond(where, (first.field.key, "o.value")))
            joins, rest = q.order(order_by[1:])
            value_order = "o.value DESC" if first.descending else "o.value ASC"
            sql = (
                "SELECT r.id FROM latest_metrics o JOIN runs r ON r.id = o.run_id"
                f" {' '.join(joins)}{where_sql(conds)}"
                f" ORDER BY {', '.join([value_order, *rest, 'r.id DESC'])}{limited(limit)}"
            )
            ids = self.db.scalars(sql, q.params)
            if limit is not None and len(ids) >= limit:
                return ids
            q2 = Query()
            lacking = (
                "NOT EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_id = r.id"
                f" AND m.key = {q2.bind(first.field.key)} AND m.value IS NOT NULL)"
            )
            conds2 = [lacking]
            if experiment is not None:
                conds2.append(f"r.experiment = {q2.bind(experiment)}")
            if kinds:
                conds2.append(q2.op("r.kind", "in", tuple(kinds)))
            if parent is not None:
                conds2.append(f"r.parent_id = {q2.bind(parent)}")
            if where is not None:
                conds2.append(q2.cond(where))
            joins2, rest2 = q2.order(order_by[1:])
            more = None if limit is None else limit - len(ids)
            tail = "" if more is None else f" LIMIT {q2.bind(more)}"
            sql2 = (
                f"SELECT r.id FROM runs r {' '.join(joins2)}{where_sql(conds2)}"
                f" ORDER BY {', '.join([*rest2, 'r.id DESC'])}{tail}"
            )
            return ids + self.db.scalars(sql2, q2.params)

        conds = list(filters)
        if where is not None:
            conds.append(q.cond(where))
        joins, terms = q.order(order_by)
        sql = (
            f"SELECT r.id FROM runs r {' '.join(joins)}{where_sql(conds)}"
            f" ORDER BY {', '.join([*terms, 'r.id DESC'])}{limited(limit)}"
        )
        return list(self.db.scalars(sql, q.params))
