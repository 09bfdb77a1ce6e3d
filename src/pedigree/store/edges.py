"""Run-to-run edges (``run_edges``): run ``dst`` read something run ``src`` made.

An edge is one of the ways data flows from run to run that lineage follows downstream, composed
from the artifact-level rows (``run_io``, ``tree_entries``, ``datasets``, ``reproductions``):

1. an output of ``src``, read as such by ``dst`` (same digest);
2. a folder output of ``src``, a file of which ``dst`` read (its path ends with the file's
   path in the folder);
3. a folder holding a file ``src`` wrote (at a path ending with the file's path in it), read by
   ``dst`` as a whole;
4. a dataset version ``src`` produced, read by ``dst`` as a whole;
5. a dataset version ``src`` produced, a file of which ``dst`` read (path suffix, as in 2);
6. ``dst`` is a reproduction of ``src``.

These are exactly the steps of the impact closure (``store.reads._closure``), which walks this
table instead of composing them per row. The table is a projection like the others: the projectors
(``store.projections``) add the edges an event makes possible, in the event's transaction,
from whichever side is recorded second (a reader recorded before its producer, a folder
manifest or dataset version recorded after the runs, all get their edges). The only rows that
ever change or go are ``run_io`` rows that a later ``run.io`` event replaces; then the run's
edges are recomputed. :func:`full_select` computes the whole set from the other tables: the
migration that created the table filled it with it, bulk loaders (the lineage benchmark, tests)
call :func:`rebuild`, and ``audit verify`` compares the table with it
(:func:`difference_select`).

The statements are plain SQL text (no SQLAlchemy here: ``audit verify`` uses them through the
driver). Each kind's joins are written in a fixed order from the rows the statement starts at
(``CROSS JOIN``, which fixes SQLite's order; PostgreSQL plans them freely), every step an index
lookup.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "TABLE",
    "difference_select",
    "ends_with",
    "full_select",
    "insert_sql",
    "rebuild",
    "recompute_run",
    "record_dataset",
    "record_io",
    "record_reproduction",
    "record_tree",
]

Dialect = Literal["sqlite", "postgresql"]
TABLE = "run_edges"
# A restriction: alias -> a condition on it (the new rows an event wrote).
Scope = Mapping[str, str]


def ends_with(full: str, tail: str) -> str:
    """``full`` is ``tail`` or ends with ``/`` + ``tail`` (no LIKE: ``_`` is common in names)."""
    return (
        f"({full} = {tail} OR (length({full}) > length({tail})"
        f" AND substr({full}, length({full}) - length({tail})) = '/' || {tail}))"
    )


@dataclass(frozen=True)
class _Kind:
    tables: dict[str, str]  # alias -> table
    conditions: tuple[str, ...]
    src: str
    dst: str
    full: tuple[str, ...]  # the join order of the full recomputation
    chain: tuple[str, ...]  # the aliases as a path of joins (any alias can start it)

    def order(self, start: str) -> tuple[str, ...]:
        chain = self.chain
        if start == chain[0]:
            return chain
        if start == chain[-1]:
            return chain[::-1]
        return (start, *(a for a in chain if a != start))

    def select(self, order: Sequence[str], extra: Sequence[str] = ()) -> str:
        joins = " CROSS JOIN ".join(f"{self.tables[a]} {a}" for a in order)
        where = " AND ".join((*self.conditions, *extra))
        return f"SELECT {self.src}, {self.dst} FROM {joins}" + (f" WHERE {where}" if where else "")


_KINDS = (
    # 1. an output, read as such
    _Kind(
        {"o": "run_io", "i": "run_io"},
        ("o.role = 'output'", "i.digest = o.digest", "i.role = 'input'"),
        "o.run_id",
        "i.run_id",
        full=("i", "o"),
        chain=("o", "i"),
    ),
    # 2. a folder output, a file of which is read
    _Kind(
        {"o": "run_io", "te": "tree_entries", "i": "run_io"},
        (
            "o.role = 'output'",
            "te.tree_digest = o.digest",
            "i.digest = te.digest",
            "i.role = 'input'",
            ends_with("i.path", "te.path"),
        ),
        "o.run_id",
        "i.run_id",
        full=("te", "o", "i"),
        chain=("o", "te", "i"),
    ),
    # 3. a folder holding a file the run wrote, read as a whole
    _Kind(
        {"o": "run_io", "te": "tree_entries", "i": "run_io"},
        (
            "o.role = 'output'",
            "te.digest = o.digest",
            ends_with("o.path", "te.path"),
            "i.digest = te.tree_digest",
            "i.role = 'input'",
        ),
        "o.run_id",
        "i.run_id",
        full=("te", "i", "o"),
        chain=("o", "te", "i"),
    ),
    # 4. a dataset version the run produced, read as a whole
    _Kind(
        {"ds": "datasets", "i": "run_io"},
        ("ds.run_id IS NOT NULL", "i.digest = ds.digest", "i.role = 'input'"),
        "ds.run_id",
        "i.run_id",
        full=("ds", "i"),
        chain=("ds", "i"),
    ),
    # 5. a dataset version the run produced, a file of which is read
    _Kind(
        {"ds": "datasets", "te": "tree_entries", "i": "run_io"},
        (
            "ds.run_id IS NOT NULL",
            "te.tree_digest = ds.digest",
            "i.digest = te.digest",
            "i.role = 'input'",
            ends_with("i.path", "te.path"),
        ),
        "ds.run_id",
        "i.run_id",
        full=("ds", "te", "i"),
        chain=("ds", "te", "i"),
    ),
    # 6. a reproduction of the run
    _Kind({"rp": "reproductions"}, (), "rp.original_id", "rp.run_id", full=("rp",), chain=("rp",)),
)


def full_select() -> str:
    """Every edge the other tables make, as ``SELECT src, dst`` (without duplicates)."""
    return " UNION ".join(kind.select(kind.full) for kind in _KINDS)


def scoped_select(scopes: Sequence[Scope]) -> str:
    """The edges that involve the rows each scope selects (its conditions on some aliases):
    every kind that joins all of a scope's aliases, starting from the first of them."""
    selects = []
    for scope in scopes:
        start = next(iter(scope))
        for kind in _KINDS:
            if all(a in kind.tables for a in scope):
                selects.append(kind.select(kind.order(start), tuple(scope.values())))
    return " UNION ".join(selects)


def difference_select() -> str:
    """``(what, src, dst)``: the edges the other tables make that the table lacks
    (``'missing'``), and the table's edges they do not make (``'extra'``)."""
    return (
        f"WITH x(src, dst) AS MATERIALIZED ({full_select()})"
        " SELECT 'missing', src, dst FROM"
        f" (SELECT src, dst FROM x EXCEPT SELECT src, dst FROM {TABLE}) AS m"
        " UNION ALL SELECT 'extra', src, dst FROM"
        f" (SELECT src, dst FROM {TABLE} EXCEPT SELECT src, dst FROM x) AS e"
    )


def insert_sql(dialect: Dialect, select: str) -> str:
    """``select``'s edges added to the table, those already there left alone."""
    if dialect == "postgresql":
        return f"INSERT INTO {TABLE} (src, dst) {select} ON CONFLICT DO NOTHING"
    return f"INSERT OR IGNORE INTO {TABLE} (src, dst) {select}"


# -- kept by the projectors -----------------------------------------------------------------------


def _dialect(conn: Connection) -> Dialect:
    return "postgresql" if conn.dialect.name == "postgresql" else "sqlite"


def _in(dialect: Dialect, column: str, param: str) -> str:
    if dialect == "postgresql":
        return f"{column} = ANY(CAST(:{param} AS TEXT[]))"
    return f"{column} IN (SELECT value FROM json_each(:{param}))"


def _list(dialect: Dialect, values: list[str]) -> Any:
    return values if dialect == "postgresql" else json.dumps(values)


def _execute(conn: Connection, sql: str, params: dict[str, Any]) -> None:
    from sqlalchemy import text

    conn.execute(text(sql), params)


@functools.lru_cache(maxsize=32)
def _statement(dialect: Dialect, what: str) -> str:
    """The upkeep statements (built once each): ``what`` names the new rows."""
    scopes: list[Scope] = []
    if what in ("io", "inputs"):
        scopes.append({"i": f"i.run_id = :run AND {_in(dialect, 'i.path', 'inputs')}"})
    if what in ("io", "outputs"):
        scopes.append({"o": f"o.run_id = :run AND {_in(dialect, 'o.path', 'outputs')}"})
    if what == "tree":
        scopes.append({"te": "te.tree_digest = :tree"})
    if what == "dataset":
        scopes.append({"ds": "ds.name = :name AND ds.version = :version"})
    if what == "reproduction":
        scopes.append({"rp": "rp.run_id = :run"})
    if what == "run":  # every edge from or to a run
        scopes += [
            {"i": "i.run_id = :run"},
            {"o": "o.run_id = :run"},
            {"ds": "ds.run_id = :run"},
            {"rp": "rp.run_id = :run"},
            {"rp": "rp.original_id = :run"},
        ]
    return insert_sql(dialect, scoped_select(scopes))


def record_io(conn: Connection, run_id: str, inputs: list[str], outputs: list[str]) -> None:
    """The edges made by new ``run_io`` rows of ``run_id``: its inputs at ``inputs`` (to the
    runs that made what they read) and its outputs at ``outputs`` (to the runs that read them)."""
    if not inputs and not outputs:
        return
    name = _dialect(conn)
    params: dict[str, Any] = {"run": run_id}
    if inputs:
        params["inputs"] = _list(name, inputs)
    if outputs:
        params["outputs"] = _list(name, outputs)
    what = "io" if inputs and outputs else "inputs" if inputs else "outputs"
    _execute(conn, _statement(name, what), params)


def record_tree(conn: Connection, tree: str) -> None:
    """The edges through the files of the folder manifest ``tree``, just recorded."""
    _execute(conn, _statement(_dialect(conn), "tree"), {"tree": tree})


def record_dataset(conn: Connection, name: str, version: int) -> None:
    """The edges from the run that produced the dataset version just recorded (if any)."""
    _execute(conn, _statement(_dialect(conn), "dataset"), {"name": name, "version": version})


def record_reproduction(conn: Connection, run_id: str) -> None:
    """The edge from the original to its reproduction ``run_id``, just recorded."""
    _execute(conn, _statement(_dialect(conn), "reproduction"), {"run": run_id})


def recompute_run(conn: Connection, run_id: str) -> None:
    """Every edge from or to ``run_id`` again, after some of its ``run_io`` rows were replaced
    (an edge may have rested on the rows that went)."""
    _execute(conn, f"DELETE FROM {TABLE} WHERE src = :run OR dst = :run", {"run": run_id})
    _execute(conn, _statement(_dialect(conn), "run"), {"run": run_id})


def rebuild(conn: Connection) -> int:
    """The whole table again from the other tables (after a bulk load that bypassed the
    projectors, or to repair it); returns the number of edges."""
    conn.exec_driver_sql(f"DELETE FROM {TABLE}")
    conn.exec_driver_sql(insert_sql(_dialect(conn), full_select()))
    count = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {TABLE}").scalar()
    return int(count or 0)
