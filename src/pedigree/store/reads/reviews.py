"""Reads over approvals, reproductions and sweeps: one part of the store's read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

__all__ = ["ReviewReads"]


class ReviewReads:
    conn: Connection
