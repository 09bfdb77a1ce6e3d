"""Running the lineage SQL: per-dialect text, key lists, planner settings.

The lineage statements are SQL text because each backend wants its own shape and hints (SQLite's
``CROSS JOIN`` order and ``likelihood()``); they run through the store's ``Db`` (``store.db``) like
every other read, and come back as the driver's tuples: a walk or an impact can return tens of
thousands of rows.

>>> list(keys_in("sqlite", "r.id", ["a", "b"]))
[('r.id IN (:k0, :k1)', {'k0': 'a', 'k1': 'b'})]
>>> list(keys_in("postgresql", "r.id", ["a", "b"]))
[('r.id = ANY(:k)', {'k': ['a', 'b']})]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pedigree.store.db import Db, Dialect
from pedigree.store.edges import ends_with
from pedigree.store.reads import chunked

__all__ = ["Dialect", "dialect", "ends_with", "fetch", "keys_in", "likely_one", "prepare"]


def dialect(db: Db) -> Dialect:
    return db.dialect


def prepare(db: Db, *, work_mem: str | None = None) -> Dialect:
    """Ready ``db``'s transaction for lineage statements, and say which dialect it speaks.

    On PostgreSQL this turns JIT compilation off for the rest of the transaction (``SET
    LOCAL``): the recursive statements are estimated as expensive, so PostgreSQL compiles them
    with LLVM, which takes 50 ms to half a second; the statements themselves take milliseconds.
    ``work_mem`` raises the memory a statement may use before it spills to temporary files (the
    default, 4 MB, is less than a closure of 50,000 nodes needs), also for the transaction.
    """
    name = db.dialect
    if name == "postgresql":
        db.execute("SET LOCAL jit = off")
        if work_mem is not None:
            db.execute(f"SET LOCAL work_mem = '{work_mem}'")
    return name


def fetch(db: Db, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of ``sql`` as the driver's tuples."""
    return db.rows(sql, params)


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
