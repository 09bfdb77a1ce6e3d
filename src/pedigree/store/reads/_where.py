"""``--where`` and ``--order-by`` as SQL text: the parsed query (``store.where``) compiled to
conditions on the runs table (alias ``r``) and the joins an ordering needs, with ``:name``
parameters, the same text on SQLite and PostgreSQL (``store.db``).

>>> from pedigree.store.where import parse_where
>>> q = Query()
>>> q.cond(parse_where("metrics.sharpe > 1 and status = 'finished'"))
'(EXISTS (SELECT 1 FROM latest_metrics m1 WHERE m1.run_id = r.id AND m1.key = :w0 \
AND m1.value > :w1) AND r.status = :w2)'
>>> q.params
{'w0': 'sharpe', 'w1': 1, 'w2': 'finished'}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pedigree.errors import InvalidQuery
from pedigree.store.where import And, Compare, Expr, Field, Not, Or, OrderKey, Value
from pedigree.times import parse_time

__all__ = ["ATTR_COLUMNS", "Query", "current_tags"]

_TIME_ATTRS = {"started_at", "ended_at"}
_REVIEWS = ("approved", "rejected", "none")

# Attributes of a run, by their name in ``--where``, as SQL over the runs table ``r``.
ATTR_COLUMNS: dict[str, str] = {
    "id": "r.id",
    "experiment": "r.experiment",
    "name": "r.name",
    "kind": "r.kind",
    "status": "r.status",
    "user": 'r."user"',
    "host": "r.host",
    "exit_code": "r.exit_code",
    "seed": "r.seed",
    "started_at": "r.started_at",
    "ended_at": "r.ended_at",
    "duration": "(r.ended_at - r.started_at)",
    "parent": "r.parent_id",
    "commit": "r.code_commit",
    "branch": "r.code_branch",
    "dirty": "r.code_dirty",
    # The latest review of the run (approvals are append-only; the last one stands), else 'none'.
    "review": "coalesce((SELECT a.decision FROM approvals a WHERE a.target_type = 'run'"
    " AND a.target = r.id ORDER BY a.at DESC, a.id DESC LIMIT 1), 'none')",
}


def current_tags(alias: str) -> str:
    """The current tags of every run (the last change of each key, unless it was a removal),
    as a subquery of (run_id, key, value)."""
    return (
        f"(SELECT {alias}_g.run_id, {alias}_g.key, {alias}_g.value FROM run_tags {alias}_g"
        f" WHERE {alias}_g.value IS NOT NULL AND NOT EXISTS (SELECT 1 FROM run_tags {alias}_l"
        f" WHERE {alias}_l.run_id = {alias}_g.run_id AND {alias}_l.key = {alias}_g.key"
        f" AND {alias}_l.number > {alias}_g.number))"
    )


def _time_value(field: Field, value: Value) -> Value:
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            raise InvalidQuery(
                f"{field} needs a date like '2026-01-31' or '2026-01-31T09:00'"
            ) from None
    return value


def _numbers(field: Field, value: Value) -> Value:
    """Metrics compare as numbers; booleans count as 1 and 0."""
    values = value if isinstance(value, tuple) else (value,)
    out = []
    for v in values:
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, int | float):
            raise InvalidQuery(f"{field} is a number; compare it with a number, not {v!r}")
        out.append(v)
    return tuple(out) if isinstance(value, tuple) else out[0]


class Query:
    """One statement's conditions and joins, collecting its parameters (``w0``, ``w1``...) and
    naming each subquery's table alias afresh."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self._bound = 0
        self._aliases = 0

    def bind(self, value: Any) -> str:
        name = f"w{self._bound}"
        self._bound += 1
        self.params[name] = value
        return ":" + name

    def alias(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    def op(self, column: str, op: str, value: Value) -> str:
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return f"{column} {op} {self.bind(value)}"
        if op == "like":
            return f"{column} LIKE {self.bind(value)}"
        if op in ("in", "notin"):
            assert isinstance(value, tuple)
            names = ", ".join(self.bind(v) for v in value)
            return f"{column} {'NOT IN' if op == 'notin' else 'IN'} ({names})"
        raise InvalidQuery(f"unsupported operator {op!r}")

    # -- conditions -------------------------------------------------------------------------------

    def cond(self, expr: Expr, order_metric: tuple[str, str] | None = None) -> str:
        """``expr`` as a condition on ``r``. ``order_metric`` is (key, column) of the metric the
        statement orders by: a filter on it reads the joined row instead of a subquery."""
        if isinstance(expr, And):
            return "(" + " AND ".join(self.cond(e, order_metric) for e in expr.items) + ")"
        if isinstance(expr, Or):
            return "(" + " OR ".join(self.cond(e) for e in expr.items) + ")"
        if isinstance(expr, Not):
            return f"NOT ({self.cond(expr.item)})"
        ns = expr.field.namespace
        if ns == "metrics":
            if (
                order_metric is not None
                and order_metric[0] == expr.field.key
                and expr.op not in ("is", "isnot")
            ):
                return self._metric(expr, order_metric[1])
            return self._metric(expr)
        if ns == "params":
            return self._param(expr)
        if ns == "tags":
            return self._tag(expr)
        return self._attr(expr)

    def _metric(self, c: Compare, value_col: str | None = None) -> str:
        if c.op == "like":
            raise InvalidQuery(f"{c.field} is a number; `like` compares text")
        if c.op not in ("is", "isnot"):
            value = _numbers(c.field, c.value)
            if value_col is not None:
                return self.op(value_col, c.op, value)
        m = self.alias("m")
        base = f"{m}.run_id = r.id AND {m}.key = {self.bind(c.field.key)}"
        if c.op in ("is", "isnot"):
            present = f"EXISTS (SELECT 1 FROM latest_metrics {m} WHERE {base}"
            present += f" AND {m}.value IS NOT NULL)"
            return f"NOT {present}" if c.op == "is" else present
        return (
            f"EXISTS (SELECT 1 FROM latest_metrics {m} WHERE {base}"
            f" AND {self.op(f'{m}.value', c.op, value)})"
        )

    def _param(self, c: Compare) -> str:
        p = self.alias("p")
        base = f"{p}.run_id = r.id AND {p}.key = {self.bind(c.field.key)}"
        found = f"EXISTS (SELECT 1 FROM params {p} WHERE {base})"
        if c.op in ("is", "isnot"):
            return f"NOT {found}" if c.op == "is" else found
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        nums = tuple(float(v) for v in values if isinstance(v, bool | int | float))
        strs = tuple(v for v in values if isinstance(v, str))
        if c.op in ("in", "notin"):
            parts = []
            if nums:
                parts.append(self.op(f"{p}.num", "in", nums))
            if strs:
                parts.append(self.op(f"{p}.str", "in", strs))
            inside = f"EXISTS (SELECT 1 FROM params {p} WHERE {base} AND ({' OR '.join(parts)}))"
            return f"(NOT {inside} AND {found})" if c.op == "notin" else inside
        (v,) = values
        column = f"{p}.str" if isinstance(v, str) else f"{p}.num"
        if isinstance(v, bool):
            v = float(v)
        return f"EXISTS (SELECT 1 FROM params {p} WHERE {base} AND {self.op(column, c.op, v)})"

    def _tag(self, c: Compare) -> str:
        """Tags are text: a number compares as its text (``tags.fold = 3`` finds the tag '3')."""
        g = self.alias("g")
        base = f"{g}.run_id = r.id AND {g}.key = {self.bind(c.field.key)}"
        found = f"EXISTS (SELECT 1 FROM {current_tags(g)} {g} WHERE {base})"
        if c.op in ("is", "isnot"):
            return f"NOT {found}" if c.op == "is" else found
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        texts = tuple(
            ("true" if v else "false") if isinstance(v, bool) else str(v)
            for v in values
            if v is not None
        )
        if c.op in ("in", "notin"):
            inside = (
                f"EXISTS (SELECT 1 FROM {current_tags(g)} {g} WHERE {base}"
                f" AND {self.op(f'{g}.value', 'in', texts)})"
            )
            return f"(NOT {inside} AND {found})" if c.op == "notin" else inside
        return (
            f"EXISTS (SELECT 1 FROM {current_tags(g)} {g} WHERE {base}"
            f" AND {self.op(f'{g}.value', c.op, texts[0])})"
        )

    def _attr(self, c: Compare) -> str:
        column = ATTR_COLUMNS[c.field.key]
        if c.field.key == "review":
            values = c.value if isinstance(c.value, tuple) else (c.value,)
            wrong = [v for v in values if v not in _REVIEWS]
            if wrong or c.op in ("is", "isnot"):
                raise InvalidQuery(
                    "review is 'approved', 'rejected' or 'none' (no review yet), "
                    f"not {wrong[0] if wrong else 'null'!r}"
                )
        if c.op == "is":
            return f"{column} IS NULL"
        if c.op == "isnot":
            return f"{column} IS NOT NULL"
        value = c.value
        if c.field.key in _TIME_ATTRS:
            value = (
                tuple(_time_value(c.field, v) for v in value)
                if isinstance(value, tuple)
                else _time_value(c.field, value)
            )
        return self.op(column, c.op, value)

    # -- ordering ---------------------------------------------------------------------------------

    def order(self, keys: Sequence[OrderKey]) -> tuple[list[str], list[str]]:
        """The joins (``LEFT OUTER JOIN ...``) and ``ORDER BY`` terms of ``keys``."""
        joins: list[str] = []
        terms: list[str] = []
        for k in keys:
            direction = "DESC" if k.descending else "ASC"
            ns = k.field.namespace
            if ns == "metrics":
                o = self.alias("o")
                joins.append(
                    f"LEFT OUTER JOIN latest_metrics {o} ON {o}.run_id = r.id"
                    f" AND {o}.key = {self.bind(k.field.key)}"
                )
                # runs without the metric (or NaN) come last
                terms += [f"{o}.value IS NULL", f"{o}.value {direction}"]
            elif ns == "params":
                p = self.alias("op")
                joins.append(
                    f"LEFT OUTER JOIN params {p} ON {p}.run_id = r.id"
                    f" AND {p}.key = {self.bind(k.field.key)}"
                )
                terms += [f"{p}.run_id IS NULL", f"{p}.num {direction}", f"{p}.str {direction}"]
            elif ns == "tags":
                g = self.alias("og")
                joins.append(
                    f"LEFT OUTER JOIN {current_tags(g)} {g} ON {g}.run_id = r.id"
                    f" AND {g}.key = {self.bind(k.field.key)}"
                )
                terms += [f"{g}.run_id IS NULL", f"{g}.value {direction}"]
            else:
                terms.append(f"{ATTR_COLUMNS[k.field.key]} {direction}")
        return joins, terms
