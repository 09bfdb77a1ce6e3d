"""Running the lineage SQL: per-dialect text, driver rows, key lists, planner settings.

The lineage statements are SQL text rather than SQLAlchemy expressions because each backend
wants its own shape and hints that Core cannot spell (SQLite's ``CROSS JOIN`` order and
``likelihood()``), and their results are read as the driver's tuples: a walk or an impact can
return tens of thousands of rows, and building a ``Row`` for each costs more than the query.

Statements are written with ``:name`` parameters (SQLite's style) and turned into ``%(name)s``
for psycopg. Driver errors are wrapped the way SQLAlchemy wraps them, so the store turns them
into a ``StoreError`` as it does for every other query.

>>> list(keys_in("sqlite", "r.id", ["a", "b"]))
[('r.id IN (:k0, :k1)', {'k0': 'a', 'k1': 'b'})]
>>> list(keys_in("postgresql", "r.id", ["a", "b"]))
[('r.id = ANY(:k)', {'k': ['a', 'b']})]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from pedigree.store.edges import ends_with
from pedigree.store.reads import chunked

__all__ = ["Dialect", "dialect", "ends_with", "fetch", "keys_in", "likely_one", "prepare"]

Dialect = Literal["sqlite", "postgresql"]

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


def dialect(conn: Connection) -> Dialect:
    return "postgresql" if conn.dialect.name == "postgresql" else "sqlite"


def prepare(conn: Connection, *, work_mem: str | None = None) -> Dialect:
    """Ready ``conn``'s transaction for lineage statements, and say which dialect it speaks.

    On PostgreSQL this turns JIT compilation off for the rest of the transaction (``SET
    LOCAL``): the recursive statements are estimated as expensive, so PostgreSQL compiles them
    with LLVM, which takes 50 ms to half a second; the statements themselves take milliseconds.
    ``work_mem`` raises the memory a statement may use before it spills to temporary files (the
    default, 4 MB, is less than a closure of 50,000 nodes needs), also for the transaction.
    """
    name = dialect(conn)
    if name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")
        if work_mem is not None:
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{work_mem}'")
    return name


@functools.lru_cache(maxsize=512)
def _driver_text(name: Dialect, sql: str) -> str:
    return sql if name == "sqlite" else _PARAM.sub(r"%(\1)s", sql)


def fetch(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of ``sql`` as the driver's tuples (no per-row SQLAlchemy objects)."""
    text = _driver_text(dialect(conn), sql)
    dbapi = conn.dialect.loaded_dbapi
    try:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(text, dict(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()
    except dbapi.Error as exc:
        raise sa_exc.DBAPIError.instance(text, dict(params), exc, dbapi.Error) from exc


def keys_in(
    name: Dialect, column: str, keys: Sequence[str], *, prefix: str = "k"
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``column`` among ``keys``, as (condition, params) pairs: one on PostgreSQL (an array),
    as many as needed on SQLite (``IN`` lists of at most 500 variables, which stays below the
    999 older SQLites allow)."""
    if name == "postgresql":
        yield f"{column} = ANY(:{prefix})", {prefix: list(keys)}
        return
    for chunk in chunked(keys):
        names = [f"{prefix}{i}" for i in range(len(chunk))]
        condition = f"{column} IN ({', '.join(':' + n for n in names)})"
        yield condition, dict(zip(names, chunk, strict=True))


def likely_one(name: Dialect, condition: str) -> str:
    """``condition`` on the row of a recursive CTE a SQLite step reads, hinted as nearly never true.

    SQLite runs each recursive SELECT once per row taken from the queue, but plans it as if the
    CTE held a million rows (its default estimate). Against a table of fewer rows than that it
    then builds a Bloom filter first, which is a full scan of the table, every time the
    statement runs. ``likelihood()`` brings the estimate down to the one row each step sees;
    the join order is fixed by ``CROSS JOIN`` in any case.
    """
    if name == "sqlite":
        return f"likelihood({condition}, 0.000001)"
    return condition
