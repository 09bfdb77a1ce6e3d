"""The metadata store: SQLAlchemy Core over SQLite (embedded default) or PostgreSQL.

The contract, for every backend:

- ``write(build)`` runs ``build(conn)`` in one serialised write transaction; the events it returns
  are chained into the audit log and applied to the tables, all or nothing. ``append(events)`` is
  the same for events that need no read first.
- ``read()`` gives a :class:`~pedigree.store.reader.Reader` (typed rows); reads never block
  writers, and never write.
- Concurrent writers (threads or processes) never fail with "database is locked".
- Schema changes come only from migrations (``store/migrations``), applied on open.
- Driver errors surface as ``pedigree.errors.StoreError``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SQLStore", "open_store"]


def __getattr__(name: str) -> Any:
    # SQLAlchemy is imported only by what opens a store, not by what builds events.
    if name in __all__:
        from pedigree.store import sql

        return getattr(sql, name)
    raise AttributeError(f"module 'pedigree.store' has no attribute {name!r}")
