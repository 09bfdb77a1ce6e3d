"""SQL text on either connection the store reads through: one set of statements, two drivers.

Every read query (``store.reads``) is SQL text with ``:name`` parameters, which both the standard
library's ``sqlite3`` and SQLAlchemy's ``text()`` understand. It runs through a :class:`Db`:

- :class:`SQLiteDb` over a ``sqlite3`` connection: the embedded store's reads, so that a command
  that only reads never imports SQLAlchemy (about 0.2 s of a CLI command's 0.3 s of start-up,
  issue 18);
- :class:`SADb` over a SQLAlchemy ``Connection``: PostgreSQL, the in-memory SQLite of the tests,
  and the reads a write makes inside its transaction.

Both hand back the driver's tuples (no per-row objects: a lineage walk or a metric history
returns tens of thousands of rows). Dialect differences stay in small explicit branches where a
statement is written (``db.dialect``); lists of values go through :func:`in_list`.

>>> import sqlite3
>>> db = SQLiteDb(sqlite3.connect(":memory:"))
>>> db.scalar("SELECT :a + :b", {"a": 1, "b": 2})
3
>>> in_list("r.id", ["x", "y"], "k")
('r.id IN (:k0, :k1)', {'k0': 'x', 'k1': 'y'})
>>> in_list("r.id", [], "k")
('1 = 0', {})
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.engine import Connection

__all__ = ["Db", "Dialect", "SADb", "SQLiteDb", "in_list", "lazy_module"]

Dialect = Literal["sqlite", "postgresql"]
Params = Mapping[str, Any]

_PARAM = re.compile(r"(?<![:\w]):(\w+)")
_NO_PARAMS: dict[str, Any] = {}


class _Lazy(ModuleType):
    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attr)


def lazy_module(name: str) -> Any:
    """The module ``name``, imported when one of its attributes is first looked up.

    For the code that still builds SQLAlchemy statements (writes, migrations, a read part not
    yet written as SQL text): ``sa = lazy_module("sqlalchemy")`` at module level, with the real
    import under ``TYPE_CHECKING`` for the type checker, keeps SQLAlchemy out of a process that
    never runs that code.
    """
    return _Lazy(name)


def in_list(column: str, values: Iterable[Any], prefix: str) -> tuple[str, dict[str, Any]]:
    """``column IN (...)`` over ``values``, as SQL text and its parameters (``prefix0``, ...).

    The same text on both backends. No values is a condition that is never true, as SQLAlchemy's
    empty ``IN`` is. Callers keep lists below 500 values (``store.reads.chunked``): SQLite allows
    a limited number of variables per statement.
    """
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    if not params:
        return "1 = 0", {}
    return f"{column} IN ({', '.join(':' + name for name in params)})", params


class Db:
    """One connection in one transaction, running SQL text; rows are the driver's tuples."""

    dialect: Dialect

    def _execute(self, sql: str, params: Params) -> Any:  # a DB-API cursor
        raise NotImplementedError

    def rows(self, sql: str, params: Params = _NO_PARAMS) -> list[tuple[Any, ...]]:
        """Every row of ``sql``."""
        cursor = self._execute(sql, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def first(self, sql: str, params: Params = _NO_PARAMS) -> tuple[Any, ...] | None:
        """The first row of ``sql``, or None."""
        cursor = self._execute(sql, params)
        try:
            row = cursor.fetchone()
            return None if row is None else tuple(row)
        finally:
            cursor.close()

    def scalar(self, sql: str, params: Params = _NO_PARAMS) -> Any:
        """The first column of the first row, or None when there is no row."""
        row = self.first(sql, params)
        return None if row is None else row[0]

    def scalars(self, sql: str, params: Params = _NO_PARAMS) -> list[Any]:
        """The first column of every row."""
        return [r[0] for r in self.rows(sql, params)]

    def execute(self, sql: str, params: Params = _NO_PARAMS) -> None:
        """Run a statement that returns nothing to read (``SET LOCAL ...``)."""
        self._execute(sql, params).close()


class SQLiteDb(Db):
    """The standard library's ``sqlite3``: ``:name`` is its own parameter style."""

    dialect: Dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def _execute(self, sql: str, params: Params) -> Any:
        return self.raw.execute(sql, params)


@functools.lru_cache(maxsize=1024)
def _pyformat(sql: str) -> str:
    # psycopg's style: a literal % doubles, :name becomes %(name)s.
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


class SADb(Db):
    """A SQLAlchemy ``Connection``: the statement goes to the driver's cursor in SQLAlchemy's
    transaction; driver errors are wrapped as SQLAlchemy wraps them, so that the store reports
    them as it reports every other failure."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"

    def _execute(self, sql: str, params: Params) -> Any:
        from sqlalchemy import exc as sa_exc

        text = sql if self.dialect == "sqlite" else _pyformat(sql)
        dbapi = self.conn.dialect.loaded_dbapi
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(text, dict(params))
        except dbapi.Error as exc:
            cursor.close()
            raise sa_exc.DBAPIError.instance(text, dict(params), exc, dbapi.Error) from exc
        return cursor
