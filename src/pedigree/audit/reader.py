"""Reading a store for ``audit verify``: raw driver cursors in one read-only transaction.

The driver's own cursors are used rather than SQLAlchemy rows: at millions of rows the per-row
cost of a result wrapper would exceed the check itself. On PostgreSQL the cursors are named
(server-side), so a large table streams in chunks instead of landing in memory.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from pedigree.errors import StoreError

__all__ = ["Reader", "quote", "run_bounds", "share", "translate_errors"]

# Rows fetched at a time. Small on SQLite, where fetching costs no round trip: the check compares
# rows while they are still in the CPU's caches, which with 100 rows instead of 5,000 made it a
# third faster. PostgreSQL's server-side cursor costs a round trip per fetch.
_CHUNK = {"sqlite": 100, "postgresql": 2_000}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Reader:
    """Raw DB-API cursors inside one read-only transaction (SQLite or PostgreSQL)."""

    def __init__(self, dbapi_conn: Any, dialect: str) -> None:
        self._conn = dbapi_conn
        self.dialect = dialect
        self.chunk = _CHUNK[dialect]
        self._names = itertools.count(1)

    def stream(self, sql: str, chunk: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
        chunk = chunk or self.chunk
        if self.dialect == "postgresql":
            cur = self._conn.cursor(name=f"pedigree_audit_{next(self._names)}", binary=True)
        else:
            cur = self._conn.cursor()
        try:
            cur.execute(sql)
            while rows := cur.fetchmany(chunk):
                yield rows
        finally:
            cur.close()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.dialect == "postgresql" and params:
            sql = sql.replace("%", "%%").replace("?", "%s")
        cur = self._conn.cursor()
        try:
            cur.execute(sql, tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()

    def scan(self, table: str) -> str:
        """A table in a FROM clause, read in its own order: on SQLite, never through an index
        (a condition on the run id could otherwise make it read in run-id order)."""
        return f"{quote(table)} NOT INDEXED" if self.dialect == "sqlite" else quote(table)

    def literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def in_share(self, column: str, bounds: Sequence[str], index: int) -> str:
        """SQL that holds for the rows whose run id is in share ``index`` (see :func:`share`).

        Total on purpose: every value falls in exactly one share, NULL in share 0 and (on
        SQLite, where a column may hold any type) numbers in share 0, blobs in the last.
        """
        col = quote(column)
        if self.dialect == "postgresql":
            col += ' COLLATE "C"'  # code point order, as Python compares strings
        parts = []
        if index > 0:
            parts.append(f"{col} >= {self.literal(bounds[index - 1])}")
        if index < len(bounds):
            parts.append(f"{col} < {self.literal(bounds[index])}")
        if not parts:
            return "TRUE" if self.dialect == "postgresql" else "1"
        cond = " AND ".join(parts)
        return f"({quote(column)} IS NULL OR {cond})" if index == 0 else f"({cond})"


def run_bounds(reader: Reader, count: int) -> tuple[str, ...]:
    """Run ids that cut the runs into ``count`` shares of about as many runs each."""
    if count < 2:
        return ()
    order = ' COLLATE "C"' if reader.dialect == "postgresql" else ""
    runs = int(reader.all('SELECT COUNT(*) FROM "runs"')[0][0])
    bounds = []
    for i in range(1, count):
        found = reader.all(
            f'SELECT "id" FROM "runs" ORDER BY "id"{order} LIMIT 1 OFFSET {runs * i // count}'
        )
        if found and isinstance(found[0][0], str):
            bounds.append(found[0][0])
    # Sorted and distinct, so that the shares are ranges (a tampered table may say anything).
    bounds = sorted(set(bounds))
    return tuple(bounds) + ("\U0010ffff",) * (count - 1 - len(bounds))


def share(run_id: object, bounds: Sequence[str]) -> int:
    """The share of a run id, as :meth:`Reader.in_share` selects it in SQL: the shares are
    ranges of run ids cut at ``bounds``; None (and anything not a string) is in share 0."""
    return bisect.bisect_right(bounds, run_id) if type(run_id) is str else 0


@contextlib.contextmanager
def translate_errors(dbapi_error: type[BaseException]) -> Iterator[None]:
    try:
        yield
    except dbapi_error as exc:
        text = str(exc).strip()
        detail = text.splitlines()[0] if text else type(exc).__name__
        raise StoreError(f"the store failed during the audit check: {detail}") from exc
