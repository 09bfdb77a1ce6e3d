"""Reads over datasets, trees, a run's inputs and outputs: one part of the store's read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

__all__ = ["DataReads"]


class DataReads:
    conn: Connection
