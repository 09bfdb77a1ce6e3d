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

from sqlalchemy.engine import Connection

from pedigree.store.reads.data import DataReads
from pedigree.store.reads.imports import ImportReads
from pedigree.store.reads.lineage import LineageReads
from pedigree.store.reads.models import ModelReads
from pedigree.store.reads.reviews import ReviewReads
from pedigree.store.reads.runs import RunReads

__all__ = ["Reader"]


class Reader(RunReads, DataReads, LineageReads, ReviewReads, ModelReads, ImportReads):
    """Queries over one connection, inside one transaction (a consistent snapshot)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name
