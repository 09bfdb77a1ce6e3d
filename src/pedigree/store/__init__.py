"""The metadata store: SQLAlchemy Core over SQLite (embedded default) or PostgreSQL.

The contract, for every backend:

- ``write(build)`` runs ``build(conn)`` in one serialised write transaction; the events it returns
  are chained into the audit log and applied to the tables, all or nothing. ``append(events)`` is
  the same for events that need no read first.
- ``read()`` gives a connection for queries (``store.queries``); reads never block writers.
- Concurrent writers (threads or processes) never fail with "database is locked".
- Schema changes come only from migrations (``store/migrations``), applied on open.
- Driver errors surface as ``pedigree.errors.StoreError``.
"""

from __future__ import annotations

from pedigree.store.events import Event
from pedigree.store.sql import SQLStore, open_store

__all__ = ["Event", "SQLStore", "open_store"]
