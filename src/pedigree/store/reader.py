"""The metadata store's read interface: every query any part of Pedigree makes.

No module outside ``store/`` (and ``audit/``, which replays the log against the tables) names a
table or writes SQL: it asks a :class:`Reader` for typed rows. The SQL implementation serves
SQLite and PostgreSQL; another backend (an HTTP client of the team server) implements the same
methods.

>>> from pedigree.store.sql import open_store
>>> with open_store("sqlite://").read() as reader:
...     reader.select_runs(limit=5)
[]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pedigree.store.db import Db, SADb
from pedigree.store.reads.data import DataReads
from pedigree.store.reads.identity import IdentityReads
from pedigree.store.reads.imports import ImportReads
from pedigree.store.reads.lineage import LineageReads
from pedigree.store.reads.models import ModelReads
from pedigree.store.reads.reviews import ReviewReads
from pedigree.store.reads.runs import RunReads

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["Reader"]


class Reader(
    RunReads, DataReads, LineageReads, ReviewReads, ModelReads, ImportReads, IdentityReads
):
    """Queries over one connection, inside one transaction (a consistent snapshot).

    ``conn`` is a :class:`~pedigree.store.db.Db` (the embedded store's ``sqlite3`` read path) or
    a SQLAlchemy ``Connection`` (PostgreSQL, and the reads a write makes in its transaction).
    ``fallback`` opens a SQLAlchemy connection for code that still builds SQLAlchemy statements
    (:attr:`conn`), on the light path only when such code runs.
    """

    def __init__(
        self, conn: Connection | Db, *, fallback: Callable[[], Connection] | None = None
    ) -> None:
        if isinstance(conn, Db):
            self.db = conn
            self._conn = conn.conn if isinstance(conn, SADb) else None
        else:
            self.db = SADb(conn)
            self._conn = conn
        self._fallback = fallback

    @property
    def conn(self) -> Connection:
        """A SQLAlchemy connection: the reader's own, or (on the light path) one opened on first
        use, in a transaction of its own, for statements not written as SQL text."""
        if self._conn is None:
            if self._fallback is None:
                raise RuntimeError("this reader has no SQLAlchemy connection")
            self._conn = self._fallback()
        return self._conn

    @conn.setter
    def conn(self, value: Connection) -> None:
        self._conn = value

    @property
    def dialect(self) -> str:
        return self.db.dialect
