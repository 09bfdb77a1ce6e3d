"""Reading a store for ``audit verify``: raw driver cursors in one read-only transaction.

The driver's own cursors are used rather than SQLAlchemy rows: at millions of rows the per-row
cost of a result wrapper would exceed the check itself. On PostgreSQL the cursors are named
(server-side), so a large table streams in chunks instead of landing in memory.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from pedigree.errors import StoreError

__all__ = ["Reader", "quote", "share", "translate_errors"]

_CHUNK = 5_000


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Reader:
    """Raw DB-API cursors inside one read-only transaction (SQLite or PostgreSQL)."""

    def __init__(self, dbapi_conn: Any, dialect: str) -> None:
        self._conn = dbapi_conn
        self.dialect = dialect
        self._names = itertools.count(1)

    def stream(self, sql: str, chunk: int = _CHUNK) -> Iterator[list[tuple[Any, ...]]]:
        if self.dialect == "postgresql":
            cur = self._conn.cursor(name=f"pedigree_audit_{next(self._names)}")
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

    def share_of(self, column: str, count: int) -> str:
        """SQL for the share of a run id: the code of its last character modulo ``count``.

        Total on purpose: an empty or NULL id falls in share 0 rather than in none.
        """
        col = quote(column)
        if self.dialect == "postgresql":
            return f"(COALESCE(ascii(right({col}, 1)), 0) % {count})"
        return f"(COALESCE(unicode(substr({col}, -1)), 0) % {count})"


def share(run_id: str | None, count: int) -> int:
    """The share of a run id, as :meth:`Reader.share_of` computes it in SQL."""
    return (ord(run_id[-1]) if run_id else 0) % count


@contextlib.contextmanager
def translate_errors(dbapi_error: type[BaseException]) -> Iterator[None]:
    try:
        yield
    except dbapi_error as exc:
        text = str(exc).strip()
        detail = text.splitlines()[0] if text else type(exc).__name__
        raise StoreError(f"the store failed during the audit check: {detail}") from exc
