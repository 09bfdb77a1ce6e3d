"""Reads over lineage walks, impact, run-to-run edges, diffs: one part of the store's read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

__all__ = ["LineageReads"]


class LineageReads:
    conn: Connection
