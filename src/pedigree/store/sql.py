"""The SQLAlchemy implementation of the metadata store, for SQLite and PostgreSQL.

SQLAlchemy (and the table definitions) are imported on first use, not with this module: on the
embedded store, reads go through ``sqlite3`` (``store.lite``) and a command that only reads
never imports them (issue 18): ``sa``, ``sa_event``, ``sa_exc`` and ``t`` below are those
modules, loaded when an attribute is first looked up (``store.db.lazy_module``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput, PedigreeError, StaleRead, StoreError
from pedigree.store.chain import IDENTITIES, event_digest
from pedigree.store.db import SQLiteDb, lazy_module
from pedigree.store.lite import ReadPool, readonly_uri, sqlite_path
from pedigree.store.migrations import HEAD_REVISION
from pedigree.store.reader import Reader

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy import event as sa_event
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import Connection, Engine

    from pedigree.store import schema as t
    from pedigree.store.events import Event
else:
    sa, sa_event = lazy_module("sqlalchemy"), lazy_module("sqlalchemy.event")
    sa_exc, t = lazy_module("sqlalchemy.exc"), lazy_module("pedigree.store.schema")

__all__ = ["SQLStore", "open_store"]

_BUSY_TIMEOUT_MS = 60_000


def _normalise_url(uri: str) -> str:
    if uri.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    if uri.startswith(("sqlite:", "postgresql+psycopg:")):
        return uri
    raise InvalidInput(
        f"unsupported store URI {uri!r}: use sqlite:///path/to/file.db or postgresql://…"
    )


def _redact(uri: str) -> str:
    if "@" not in uri:
        return uri  # no credentials to hide (and no SQLAlchemy to import on a read's error)
    try:
        return sa.engine.make_url(uri).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return uri


def _prepare(event: Event) -> tuple[str, dict[str, Any]]:
    # Imported on first write: the event classes cost a read-only command 20 ms of imports.
    from pedigree.store.events import prepare

    return prepare(event)


def _apply(conn: Connection, kind: str, payload: Any) -> None:
    from pedigree.store.projections import apply

    apply(conn, kind, payload)


class _ChainSQL:
    """The statements that append to the audit log, in the driver's parameter style."""

    def __init__(self, dialect: str) -> None:
        mark = "?" if dialect == "sqlite" else "%s"
        columns = ("seq", "at", "actor", "kind", "run_id", "payload", "prev", "digest", "identity")
        names = ", ".join(f'"{c}"' for c in columns)
        self.insert_events = (
            f'INSERT INTO "audit_events" ({names}) VALUES ({", ".join([mark] * len(columns))})'
        )
        self.update_head = (
            f'UPDATE "audit_head" SET "seq" = {mark}, "digest" = {mark} WHERE "id" = 1'
        )
        # SQLite's BEGIN IMMEDIATE already holds the database's write lock; PostgreSQL locks the
        # head row, which serialises writers there.
        lock = " FOR UPDATE" if dialect == "postgresql" else ""
        self.select_head = f'SELECT "seq", "digest" FROM "audit_head" WHERE "id" = 1{lock}'


class SQLStore:
    """One metadata store. Create with :func:`open_store`."""

    def __init__(self, uri: str, *, migrate: bool = True) -> None:
        self.uri = uri
        url = _normalise_url(uri)
        self.dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
        self._url = url
        # The embedded store's file: its reads go through sqlite3, and SQLAlchemy's engine is
        # made only when something writes or migrates.
        path = sqlite_path(url)
        self.read_pool = None if path is None else ReadPool(path, busy_timeout_ms=_BUSY_TIMEOUT_MS)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            _ = self.engine
        self._sql = _ChainSQL(self.dialect)
        if migrate:
            self.ensure_schema()

    @cached_property
    def engine(self) -> Engine:
        try:
            return self._make_engine(self._url)
        except (sa_exc.ArgumentError, ModuleNotFoundError) as exc:
            raise StoreError(f"cannot open the store {_redact(self.uri)}: {exc}") from exc

    def _errors(self) -> tuple[type[BaseException], ...]:
        """What the database can raise: sqlite3's errors, and SQLAlchemy's and its driver's once
        they are in use."""
        errors: list[type[BaseException]] = [sqlite3.Error]
        if "sqlalchemy.exc" in sys.modules:
            errors.append(sa_exc.SQLAlchemyError)
        if "engine" in self.__dict__:
            errors.append(self.engine.dialect.dbapi.Error)  # type: ignore[union-attr]
        return tuple(errors)

    def _make_engine(self, url: str) -> Engine:
        if self.dialect == "postgresql":
            return sa.create_engine(url, pool_pre_ping=True)
        memory = url in ("sqlite://", "sqlite:///:memory:")
        database = sa.engine.make_url(url).database or ""
        readonly = None if memory else readonly_uri(database)
        if not memory and readonly is None:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 60}}
        if memory:
            kwargs["poolclass"] = sa.pool.StaticPool
        if readonly is not None:
            # On a read-only mount: reads work (audit verify of an archive); a write fails.
            kwargs["creator"] = lambda: sqlite3.connect(
                readonly, uri=True, check_same_thread=False, timeout=60
            )
        engine = sa.create_engine(url, **kwargs)

        @sa_event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # We issue BEGIN ourselves, so that writers can take the lock up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory and readonly is None:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            cur.close()

        @sa_event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # BEGIN IMMEDIATE takes the write lock at once: a deferred transaction that later
            # tries to write fails with "database is locked" instead of waiting its turn.
            write = conn.get_execution_options().get("pedigree_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    # -- schema -------------------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        if self.read_pool is not None:
            with self._translate("read"):
                return self.read_pool.schema_revision()
        with self._translate("read"), self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def ensure_schema(self) -> None:
        """Bring the schema up to date; cheap when it already is."""
        if self.schema_revision() == HEAD_REVISION:
            return
        with self._migration_lock():
            if self.schema_revision() == HEAD_REVISION:
                return
            from pedigree.store.migrations.runner import upgrade

            with self._translate("migrate"), self.engine.begin() as conn:
                upgrade(conn)

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.dialect == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(7720190)"))
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(7720190)"))
                    conn.commit()
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(database + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- transactions --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        try:
            yield
        except PedigreeError:
            raise
        except Exception as exc:
            if not isinstance(exc, self._errors()):
                raise
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            where = _redact(self.uri)
            raise StoreError(f"the store at {where} failed to {what}: {detail}") from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Reader]:
        if self.read_pool is not None:
            with (
                self._translate("read"),
                self.read_pool.snapshot() as raw,
                contextlib.ExitStack() as stack,
            ):

                def fallback() -> Connection:
                    # For statements still built with SQLAlchemy: a connection of its own.
                    conn = stack.enter_context(self.engine.connect())
                    stack.enter_context(conn.begin())
                    return conn

                yield Reader(SQLiteDb(raw), fallback=fallback)
            return
        with self._translate("read"), self.engine.connect() as conn, conn.begin():
            yield Reader(conn)

    @contextlib.contextmanager
    def _write_conn(self) -> Iterator[Connection]:
        with (
            self._translate("write"),
            self.engine.connect().execution_options(pedigree_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    def write(
        self,
        build: Callable[[Reader], Sequence[Event]],
        *,
        actor: str,
        identity: str | None = "self-declared",
        at: float | None = None,
    ) -> int:
        """Run ``build`` in a write transaction, then chain and apply the events it returns.

        ``build`` reads through the reader it is given: what it sees cannot change before its
        events are applied. ``identity`` says whether ``actor`` was proven (``authenticated``,
        the team server) or taken on trust (``self-declared``); every event records it and its
        digest covers it. ``None`` writes events as stores did before identities were recorded
        (tests of old stores use it).

        Returns the sequence number of the last event appended (0 when there were none).
        """
        if identity is not None and identity not in IDENTITIES:
            raise InvalidInput(f"an identity is one of {', '.join(IDENTITIES)}, not {identity!r}")
        with self._write_conn() as conn:
            # The chain's three statements go straight to the driver's cursor, in the
            # transaction SQLAlchemy began: they run on every write, and SQLAlchemy's handling of
            # a statement costs more than the database's work for them.
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with contextlib.closing(raw.cursor()) as cursor:
                sql = self._sql
                cursor.execute(sql.select_head)
                head = cursor.fetchone()
                if head is None:
                    raise StoreError(
                        "the store has no audit head row; run `pedigree audit verify` to see "
                        "what changed"
                    )
                seq, prev = head
                events = build(Reader(conn))
                if not events:
                    return int(seq)
                when = time.time() if at is None else at
                rows = []
                for event in events:
                    seq += 1
                    kind, run_id = event.KIND, event.scope
                    logged, payload = _prepare(event)
                    digest = event_digest(
                        prev=prev,
                        seq=seq,
                        at=when,
                        actor=actor,
                        kind=kind,
                        run_id=run_id,
                        payload=logged,
                        identity=identity,
                    )
                    rows.append((seq, when, actor, kind, run_id, logged, prev, digest, identity))
                    prev = digest
                    _apply(conn, kind, payload)
                if len(rows) == 1:
                    cursor.execute(sql.insert_events, rows[0])
                else:
                    cursor.executemany(sql.insert_events, rows)
                cursor.execute(sql.update_head, (seq, prev))
                return int(seq)

    def append(
        self,
        events: Sequence[Event],
        *,
        actor: str,
        identity: str | None = "self-declared",
        at: float | None = None,
    ) -> int:
        return self.write(lambda _conn: events, actor=actor, identity=identity, at=at)

    def append_batch(
        self,
        events: Sequence[Event],
        *,
        batch: str,
        expect_head: int | None = None,
        check: Callable[[Reader, Sequence[Event]], None] | None = None,
        **who: Any,
    ) -> int:
        """:meth:`append` for the team server: at most once per ``batch`` id, and (with
        ``expect_head``) only if no event was appended since the client read at that head.

        A batch id seen before returns the sequence number its first delivery returned and
        appends nothing, so that a client retrying a batch whose answer it lost (a timeout, a
        server restart) does not record it twice. A head that moved raises ``StaleRead``: the
        client built its events from a read that is no longer current, and reads again.
        ``check`` vets the events against the store inside the write transaction (the server's
        four-eyes check of approvals) and raises to refuse them. ``who`` is what :meth:`write`
        takes to name the actor.
        """
        replayed: list[int] = []

        def build(reader: Reader) -> Sequence[Event]:
            conn = reader.conn
            done = conn.execute(
                sa.select(t.server_batches.c.seq).where(t.server_batches.c.id == batch)
            ).scalar()
            if done is not None:
                replayed.append(int(done))
                return ()
            head = int(conn.execute(sa.select(t.audit_head.c.seq)).scalar() or 0)
            if expect_head is not None and head != expect_head:
                raise StaleRead(
                    f"the record moved on since it was read (head {head}, read at "
                    f"{expect_head}): read again"
                )
            if check is not None:
                check(reader, events)
            if events:
                actor = who.get("actor")
                conn.execute(
                    t.server_batches.insert().values(
                        id=batch,
                        seq=head + len(events),
                        actor=str(getattr(actor, "name", actor)),
                        at=time.time(),
                    )
                )
            return events

        seq = self.write(build, **who)
        return replayed[0] if replayed else seq

    # -- operational state (not audited) -------------------------------------------------------

    def heartbeat(self, run_id: str, *, host: str, pid: int) -> None:
        now = time.time()
        with self._write_conn() as conn:
            updated = conn.execute(
                t.run_liveness.update()
                .where(t.run_liveness.c.run_id == run_id)
                .values(heartbeat_at=now, host=host, pid=pid)
            ).rowcount
            if not updated:
                status = conn.execute(
                    sa.select(t.runs.c.status).where(t.runs.c.id == run_id)
                ).scalar()
                if status == "running":
                    conn.execute(
                        t.run_liveness.insert().values(
                            run_id=run_id, host=host, pid=pid, heartbeat_at=now
                        )
                    )

    def close(self) -> None:
        if self.read_pool is not None:
            self.read_pool.close()
        if "engine" in self.__dict__:
            self.engine.dispose()


def open_store(uri: str, *, migrate: bool = True) -> SQLStore:
    """Open (and migrate) the metadata store a URI names.

    >>> store = open_store("sqlite://")   # an in-memory store, for tests
    >>> store.dialect
    'sqlite'
    """
    return SQLStore(uri, migrate=migrate)


def sqlite_uri(path: str | os.PathLike[str]) -> str:
    return f"sqlite:///{Path(path).resolve()}"
