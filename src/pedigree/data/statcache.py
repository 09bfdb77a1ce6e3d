"""The stat cache: digests of files already hashed on this machine, so they are not hashed again.

An entry maps a file's identity and state, (device, inode, size, mtime_ns, ctime_ns), to the
digest its bytes had. The ctime matters: an in-place edit whose mtime is put back (``touch -r``,
``rsync -t``, an archive extractor) keeps inode, size and mtime, but the kernel moves the ctime and
no user call can set it back, so such a file is hashed again.

It lives in ``.pedigree/cache/stat.db``, a SQLite file of its own opened with the
standard library (not the metadata store: it is machine-local and disposable; deleting it only
costs re-hashing).

Racily clean entries are handled as git handles them. Before a batch of files is stat'ed and
hashed, :meth:`StatCache.stamp` reads the file system's clock (by touching a stamp file). A file
modified after that moment gets an mtime at or after the stamp, so an entry is trusted only if the
file's mtime is strictly before the stamp stored with it; a file written within the clock's
granularity of being hashed could hide a change behind an equal mtime, so it is hashed again (and
its entry refreshed with a later stamp, after which it is trusted).

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> cache = StatCache(folder / "stat.db")
>>> cache.stamp() > 0
True
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from pedigree.digest import ALGORITHM, Digest

__all__ = ["StatCache", "StatKey"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    ino INTEGER NOT NULL,
    dev INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    digest BLOB NOT NULL,
    stamp_ns INTEGER NOT NULL,
    PRIMARY KEY (ino, dev)
) WITHOUT ROWID
"""
# A folder's fingerprint (the stats of all its files) -> its manifest digest, so an unchanged
# folder is not even re-assembled.
_TREES = """
CREATE TABLE IF NOT EXISTS trees (
    path TEXT PRIMARY KEY,
    fingerprint BLOB NOT NULL,
    digest BLOB NOT NULL,
    size INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    stamp_ns INTEGER NOT NULL
)
"""
# Bumped when an entry's key changes (2: ctime added); an older cache is dropped, not migrated.
_VERSION = 2
# SQLite allows 32766 bound parameters since 3.32; stay well below.
_BATCH = 10_000
_INT64 = (1 << 63) - 1


class StatKey(Protocol):
    """What the cache needs to know about a file (``hashing.FileInfo`` has it)."""

    @property
    def dev(self) -> int: ...
    @property
    def ino(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def mtime_ns(self) -> int: ...
    @property
    def ctime_ns(self) -> int: ...


def _int64(value: int) -> int:
    # Device numbers can exceed SQLite's signed 64 bits on some file systems.
    return value if value <= _INT64 else value - (1 << 64)


class StatCache:
    """Machine-local digests by file state. Every failure degrades to "not cached", never raises."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    @classmethod
    def for_project(cls, cache_dir: str | os.PathLike[str]) -> StatCache:
        return cls(Path(cache_dir) / "stat.db")

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None or self._broken:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # a lost entry only costs a re-hash
            if conn.execute("PRAGMA user_version").fetchone()[0] != _VERSION:
                conn.execute("DROP TABLE IF EXISTS entries")
                conn.execute("DROP TABLE IF EXISTS trees")
                conn.execute(f"PRAGMA user_version = {_VERSION}")
            conn.execute(_SCHEMA)
            conn.execute(_TREES)
        except (sqlite3.Error, OSError):
            self._broken = True
            return None
        self._conn = conn
        return conn

    def stamp(self) -> int:
        """The file system's clock now (ns), read by touching a file next to the cache."""
        stamp = self.path.with_suffix(".stamp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(stamp, "a"):
                pass
            os.utime(stamp)
            return os.stat(stamp).st_mtime_ns
        except OSError:
            import time

            return time.time_ns()

    def lookup(self, files: Sequence[StatKey]) -> list[Digest | None]:
        """The trusted digest of each file, or None; one query per 10,000 files."""
        out: list[Digest | None] = [None] * len(files)
        conn = self._connect()
        if conn is None or not files:
            return out
        try:
            rows = self._rows(conn, files)
        except sqlite3.Error:
            self._broken = True
            return out
        get = rows.get
        for i, f in enumerate(files):
            row = get((f.ino, _int64(f.dev)))
            # Trusted only if the file was last written (and its inode last changed) before the
            # hash was taken (git's rule for racily clean entries).
            if (
                row is not None
                and row[0] == f.size
                and row[1] == f.mtime_ns < row[4]
                and row[2] == f.ctime_ns < row[4]
            ):
                out[i] = Digest(ALGORITHM, row[3].hex())
        return out

    def _rows(
        self, conn: sqlite3.Connection, files: Sequence[StatKey]
    ) -> dict[tuple[int, int], tuple[int, int, int, bytes, int]]:
        select = "SELECT ino, dev, size, mtime_ns, ctime_ns, digest, stamp_ns FROM entries"
        inos = list({f.ino for f in files})
        # Reading the whole table costs less per row than looking keys up: do that when the
        # files asked about are a good part of it.
        if len(inos) > 2000:
            total = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
            if total < 4 * len(inos):
                return {(r[0], r[1]): r[2:] for r in conn.execute(select).fetchall()}
        found: dict[tuple[int, int], tuple[int, int, int, bytes, int]] = {}
        for start in range(0, len(inos), _BATCH):
            chunk = inos[start : start + _BATCH]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"{select} WHERE ino IN ({marks})", chunk).fetchall()
            found.update({(r[0], r[1]): r[2:] for r in rows})
        return found

    def record(self, items: Iterable[tuple[StatKey, Digest]], *, stamp: int) -> None:
        """Remember digests of files stat'ed after ``stamp`` was taken."""
        conn = self._connect()
        if conn is None:
            return
        rows = [
            (f.ino, _int64(f.dev), f.size, f.mtime_ns, f.ctime_ns, bytes.fromhex(d.hex), stamp)
            for f, d in items
            if d.algorithm == ALGORITHM
        ]
        if not rows:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def tree_lookup(
        self, path: str, fingerprint: bytes, newest_mtime_ns: int
    ) -> tuple[Digest, int, int] | None:
        """(manifest digest, size, file count) of a folder whose files all have the stats they
        had when it was last hashed, all written before that moment."""
        conn = self._connect()
        if conn is None:
            return None
        try:
            row = conn.execute(
                "SELECT fingerprint, digest, size, file_count, stamp_ns FROM trees WHERE path = ?",
                (path,),
            ).fetchone()
        except sqlite3.Error:
            return None
        if row is None or row[0] != fingerprint or newest_mtime_ns >= row[4]:
            return None
        return Digest(ALGORITHM, row[1].hex()), row[2], row[3]

    def tree_record(
        self, path: str, fingerprint: bytes, digest: Digest, size: int, count: int, *, stamp: int
    ) -> None:
        conn = self._connect()
        if conn is None:
            return
        with contextlib.suppress(sqlite3.Error):
            conn.execute(
                "INSERT OR REPLACE INTO trees VALUES (?, ?, ?, ?, ?, ?)",
                (path, fingerprint, bytes.fromhex(digest.hex), size, count, stamp),
            )

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
