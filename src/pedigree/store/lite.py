"""The embedded store's reads through the standard library's ``sqlite3``, without SQLAlchemy.

A command that only reads (``show``, ``runs``, ``lineage``, ``data ls``...) spends most of its
life importing SQLAlchemy and building its table objects, about 0.3 s of a command that has
10 ms of work (issue 18). On the embedded SQLite store the reads need neither: every read
statement is SQL text (``store.db``), so :class:`ReadPool` hands out plain ``sqlite3``
connections for them. Writes, migrations and PostgreSQL keep SQLAlchemy (``store.sql``).

A read connection is opened with ``query_only``: reads never write, and here SQLite enforces
it. Each read is one transaction (``BEGIN`` ... ``ROLLBACK``), so a reader sees one consistent
snapshot while writers go on (the store is in WAL mode, which the writer's connection sets).

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "s.db")
>>> pool = ReadPool(path)
>>> pool.schema_revision() is None
True
>>> sqlite_path("sqlite:////tmp/x/store.db"), sqlite_path("sqlite://"), sqlite_path("postgresql://h/d")
('/tmp/x/store.db', None, None)
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterator

__all__ = ["ReadPool", "readonly_uri", "sqlite_path"]


def readonly_uri(path: str) -> str | None:
    """An ``immutable`` URI for a database file whose folder cannot be written (a read-only
    mount: an archive an auditor reads), None otherwise.

    SQLite cannot make the WAL's shared-memory file next to such a database, and would refuse to
    open it; opened immutable, it reads the file as it is (nothing can change it there).
    Only when no WAL file is beside it: a WAL file means a writer may be at work.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if os.access(folder, os.W_OK) or not os.path.isdir(folder):
        return None
    if os.path.exists(path + "-wal") or os.path.exists(path + "-shm"):
        # A writer may be at work (a folder shared read-only with this user, say): immutable
        # reads would not see its locks, so SQLite opens it the ordinary way.
        return None
    return f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro&immutable=1"


def sqlite_path(url: str) -> str | None:
    """The file a ``sqlite:///PATH`` URL names, when its reads can use ``sqlite3`` directly:
    not an in-memory database (one connection that SQLAlchemy holds) and no URL options."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url[len("sqlite:///") :]
    return None if path in ("", ":memory:") else path


class ReadPool:
    """Read-only ``sqlite3`` connections to one database file, reused across reads and threads
    (one thread at a time each); a forked child starts a pool of its own."""

    def __init__(self, path: str, *, busy_timeout_ms: int = 60_000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        # Connections inherited over fork: never used or closed in the child (SQLite's rule).
        self._inherited: list[sqlite3.Connection] = []
        # Called with each statement a read runs, when set (tests of the query plans use it).
        self.trace: Callable[[str], object] | None = None

    def _connect(self) -> sqlite3.Connection:
        readonly = readonly_uri(self.path)
        raw = sqlite3.connect(
            readonly or self.path,
            uri=readonly is not None,
            timeout=self.busy_timeout_ms / 1000,
            isolation_level=None,  # transactions are ours: BEGIN ... ROLLBACK
            check_same_thread=False,
            cached_statements=256,
        )
        raw.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        raw.execute("PRAGMA query_only=ON")
        return raw

    def _take(self) -> sqlite3.Connection:
        with self._lock:
            if self._pid != os.getpid():
                self._inherited += self._idle
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give(self, raw: sqlite3.Connection) -> None:
        with self._lock:
            if self._pid == os.getpid():
                self._idle.append(raw)
                return
        raw.close()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one read transaction, for the duration of the block."""
        raw = self._take()
        raw.set_trace_callback(self.trace)
        try:
            raw.execute("BEGIN")
            yield raw
        finally:
            try:
                raw.execute("ROLLBACK")  # nothing was written: there is nothing to keep
            except sqlite3.Error:
                raw.close()
            else:
                self._give(raw)

    def schema_revision(self) -> str | None:
        """The schema's migration revision (``alembic_version``), None for a new database."""
        with self.snapshot() as raw:
            found = raw.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            if found is None:
                return None
            row = raw.execute("SELECT version_num FROM alembic_version").fetchone()
            return None if row is None else str(row[0])

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()
