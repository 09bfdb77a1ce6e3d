"""The metadata store through the team server: one more implementation of the store interface.

:class:`RemoteStore` offers what :class:`~pedigree.store.sql.SQLStore` offers the context
(``append``, ``write``, ``read``, ``heartbeat``, ``close``), over HTTP:

- ``read()`` gives a :class:`RemoteReader`, a :class:`~pedigree.store.reader.Reader` whose every
  public method is a ``POST /api/v1/read/{method}`` (arguments and typed rows through
  :mod:`pedigree.store.wire`). The domain cannot tell it from SQL.
- ``append(events)`` is a ``POST /api/v1/events`` of the typed events with a batch id; the
  server appends them as the token's user (the ``actor`` given here is not sent: the server
  does not take a client's word for who it is), once per batch id, so a retry after a lost
  answer records nothing twice.
- ``write(build)`` runs ``build`` against the remote reader, then sends its events with the head
  of the log that the reads saw; if anything was appended in between, the server refuses
  (``StaleRead``) and the build runs again on a fresh read: the same guarantee as the SQL store's
  write transaction (what the build read cannot change before its events are applied).
"""

from __future__ import annotations

import contextlib
import inspect
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import Any

from pedigree.errors import Conflict, ServerUnreachable, StaleRead, StoreError
from pedigree.store.events import Event, prepare
from pedigree.store.http import HTTPClient
from pedigree.store.outbox import Outbox, outbox_for
from pedigree.store.reader import Reader
from pedigree.store.wire import decode, encode

__all__ = ["ADMIN_READS", "READ_METHODS", "RemoteReader", "RemoteStore", "open_remote_store"]

# Attempts of a write whose reads the record outran before it gives up (each waits a little).
_WRITE_ATTEMPTS = 50
# What a recording asks while the server cannot be reached, answered so that it records more
# rather than less: the projections of what these guard are idempotent (an environment or a
# folder manifest recorded twice is kept once).
_RETRY_OFFLINE = 5.0
_OFFLINE_ANSWERS: dict[str, Any] = {
    "environment": None,
    "tree_known": False,
    "run_started_at": None,
    "digest_recorded": False,
}


# Reads the server answers an admin only: token rows (the hashes of the tokens' secrets), for
# `pedigree tokens ls/create/revoke` through the server.
ADMIN_READS = frozenset({"token", "tokens"})
# Reads the server answers nobody: the web UI's password hashes are checked on the server only.
SERVER_ONLY_READS = frozenset({"password_hash"})


def _read_methods() -> frozenset[str]:
    names = set()
    for name in dir(Reader):
        if name.startswith("_") or name in SERVER_ONLY_READS:
            continue
        attr = inspect.getattr_static(Reader, name)
        if isinstance(attr, property | classmethod | staticmethod):
            continue
        if callable(attr):
            names.add(name)
    return frozenset(names)


READ_METHODS = _read_methods()
"""The Reader methods the server answers (``POST /api/v1/read/{method}``): every public one."""


class RemoteReader(Reader):
    """A :class:`Reader` whose queries the team server answers.

    Each call is one request, answered from one consistent snapshot on the server along with
    the head of the log it saw (``heads``), which :meth:`RemoteStore.write` uses to detect that
    the record moved between its reads and its write.
    """

    def __init__(self, store: RemoteStore) -> None:  # no connection: the server holds it
        self._store = store
        self.heads: set[int] = set()

    @property
    def dialect(self) -> str:
        return "remote"

    def audit_anchor(self) -> dict[str, Any]:
        """The head of the log, read by the server (``audit.log.head`` of a remote reader)."""
        answer: dict[str, Any] = self._store.http.call("GET", "/api/v1/audit/anchor")
        return answer

    def audit_log(self, **query: Any) -> list[dict[str, Any]]:
        """Events of the log, read by the server (``audit.log.events`` of a remote reader)."""
        answer: list[dict[str, Any]] = self._store.http.call("POST", "/api/v1/audit/log", query)
        return answer

    def __getattr__(self, name: str) -> Any:
        if name in ("conn", "db"):
            raise StoreError(
                "this operation needs the database itself, which the team server holds: run "
                "it on the server (or through its own route)"
            )
        raise AttributeError(name)

    def _call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        store = self._store
        store.sync_once()
        try:
            answer = store.http.call(
                "POST",
                f"/api/v1/read/{method}",
                {"args": encode(list(args)), "kwargs": encode(kwargs)},
            )
        except ServerUnreachable:
            if store.offline and method in _OFFLINE_ANSWERS:
                return _OFFLINE_ANSWERS[method]
            raise
        self.heads.add(int(answer["head"]))
        return decode(answer["value"])


def _proxy(name: str) -> Callable[..., Any]:
    def call(self: RemoteReader, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, args, kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(Reader, name).__doc__
    return call


for _name in READ_METHODS:
    setattr(RemoteReader, _name, _proxy(_name))


def _wire_events(events: Sequence[Event]) -> list[dict[str, Any]]:
    # The payload as the log holds it (metric points packed): compact, and what the server
    # rebuilds the typed event from, checking it as any event is checked.
    return [{"kind": e.KIND, "payload": prepare(e)[0]} for e in events]


class RemoteStore:
    """The team server at ``uri``, as the metadata store. Create with :func:`open_remote_store`."""

    dialect = "remote"

    def __init__(self, uri: str, token: str | None) -> None:
        self.uri = uri.rstrip("/")
        self.http = HTTPClient(self.uri, token)
        self.outbox: Outbox = outbox_for(self.uri)
        # Set while appends go to the outbox; retried every _RETRY_OFFLINE seconds.
        self.offline = False
        self._retry_at = 0.0
        self._synced = False

    def sync_once(self) -> None:
        """Deliver what an earlier command left in the outbox, once per process, before this
        one's own records (which must come after them); a server still unreachable leaves it."""
        if self._synced:
            return
        self._synced = True
        if self.outbox.has_pending():
            with contextlib.suppress(ServerUnreachable):
                self.outbox.deliver(self.http)

    def sync(self) -> dict[str, int]:
        """Deliver the outbox now (``pedigree sync``): what was delivered and what still waits."""
        self._synced = True
        done = self.outbox.deliver(self.http)
        self.offline = False
        return {**done, **{f"pending_{k}": v for k, v in self.outbox.pending().items()}}

    @cached_property
    def principal(self) -> dict[str, Any]:
        """``{"user", "role"}`` of the token (``GET /api/v1/whoami``), asked once."""
        answer = self.http.call("GET", "/api/v1/whoami")
        assert isinstance(answer, dict)
        return answer

    def head(self) -> int:
        answer = self.http.call("GET", "/api/v1/head")
        return int(answer["seq"])

    @contextlib.contextmanager
    def read(self) -> Iterator[Reader]:
        yield RemoteReader(self)

    def send(
        self, events: Sequence[Event], *, batch: str | None = None, expect_head: int | None = None
    ) -> int:
        """Deliver a batch of events (once per ``batch`` id); the sequence number of its last."""
        self.sync_once()
        payload = {
            "batch": batch or uuid.uuid4().hex,
            "expect_head": expect_head,
            "events": _wire_events(events),
        }
        answer = self.http.call("POST", "/api/v1/events", payload)
        return int(answer["seq"])

    def append(self, events: Sequence[Event], **_who: Any) -> int:
        """Append as the token's user (``actor``/``identity`` given here are not sent).

        When the server cannot be reached, or earlier batches still wait for it, the batch goes
        to the outbox, behind them, and 0 is returned (no sequence number exists yet).
        """
        if not events:
            return 0 if self.offline else self.head()
        batch = uuid.uuid4().hex
        if not self.offline or time.monotonic() >= self._retry_at:
            try:
                if self.outbox.has_pending():
                    self.outbox.deliver(self.http)
                seq = self.send(events, batch=batch)
                self.offline = False
                return seq
            except ServerUnreachable:
                self._retry_at = time.monotonic() + _RETRY_OFFLINE
                if self.offline:
                    self.outbox.put_events(batch, _wire_events(events))
                    return 0
                self.offline = True
                _warn(
                    f"the team server at {self.uri} cannot be reached: records wait in "
                    f"{self.outbox.folder} (`pedigree sync` delivers them)"
                )
        self.outbox.put_events(batch, _wire_events(events))
        return 0

    def write(self, build: Callable[[Reader], Sequence[Event]], **_who: Any) -> int:
        for attempt in range(_WRITE_ATTEMPTS):
            reader = RemoteReader(self)
            events = build(reader)
            if not events:
                return max(reader.heads) if reader.heads else self.head()
            if len(reader.heads) <= 1:
                expect = next(iter(reader.heads), None)
                try:
                    return self.send(events, expect_head=expect)
                except StaleRead:
                    pass
            # The record moved while the build read it: read again, a little later.
            time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))
        raise Conflict("the record kept changing while this write read it; try again")

    def heartbeat(self, run_id: str, *, host: str, pid: int) -> None:
        if self.offline:
            return  # operational state: the run's records wait in the outbox
        try:
            body = {"run_id": run_id, "host": host, "pid": pid}
            self.http.call("POST", "/api/v1/heartbeat", body)
        except ServerUnreachable:
            pass

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        """A request to one of the server's own routes (``audit verify`` runs on the server)."""
        return self.http.call(method, path, payload)

    def close(self) -> None:
        if self.offline and self.outbox.has_pending():
            # A last attempt as the command ends; what stays waits for the next command.
            try:
                self.outbox.deliver(self.http)
            except ServerUnreachable:
                _warn(
                    f"records wait for the team server in {self.outbox.folder}: "
                    "`pedigree sync` delivers them"
                )
        self.http.close()


def open_remote_store(uri: str, token: str | None) -> RemoteStore:
    return RemoteStore(uri, token)


def _warn(message: str) -> None:
    import sys

    print(f"pedigree: {message}", file=sys.stderr, flush=True)
