"""Reads over the model registry and stored artifacts: one part of the store's read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`.

>>> from pedigree.store.sql import open_store
>>> with open_store("sqlite://").read() as reader:
...     reader.digest_path("blake3:" + "0" * 64)
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pedigree.store import schema as t

__all__ = ["ModelReads"]


class ModelReads:
    conn: Connection

    def digest_path(self, digest: str) -> str | None:
        """One project path where ``digest`` was recorded (written or read by a run, added as a
        dataset, held by a folder), to name the file it comes back as; None when nowhere."""
        io, ds, te = t.run_io.c, t.datasets.c, t.tree_entries.c
        for q in (
            sa.select(io.path).where(io.digest == digest).order_by(io.role.desc(), io.path),
            sa.select(ds.path).where(ds.digest == digest, ds.path.is_not(None)).order_by(ds.path),
            sa.select(te.path).where(te.digest == digest).order_by(te.path),
        ):
            found = self.conn.execute(q.limit(1)).scalar()
            if found is not None:
                return str(found)
        return None
