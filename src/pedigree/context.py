"""The context every domain function takes: the project, its two stores, and who is acting.

The domain (capture, tracking, data, lineage, audit, sweep, reproduce, export, report) never
reaches for the facade (:class:`pedigree.api.Tracker`): it is handed a :class:`Context`, the way
dvc-data's verbs are handed the object database they need. A write is a list of typed events
given to :meth:`Context.append` (or built inside :meth:`Context.write` from a consistent read);
a read is a :class:`~pedigree.store.reader.Reader` from :meth:`Context.read`.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.store.events import RunCreated
>>> project, _ = init_project(tempfile.mkdtemp())
>>> ctx = Context(project)
>>> ctx.actor.identity
'self-declared'
>>> seq = ctx.append([RunCreated(id="0190e0a0-0000-7000-8000-000000000001", experiment="e")])
>>> with ctx.read() as reader:
...     reader.resolve_run("last")
'0190e0a0-0000-7000-8000-000000000001'
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from pedigree.config import Project

if TYPE_CHECKING:
    from pedigree.objects.base import ObjectStore
    from pedigree.store.events import Event
    from pedigree.store.reader import Reader
    from pedigree.store.remote import RemoteStore
    from pedigree.store.sql import SQLStore

__all__ = ["Actor", "Context", "close_all", "shared_store"]


@dataclass(frozen=True)
class Actor:
    """Who performs the writes: a name, and whether anything proved it.

    On the embedded store the name is whatever the user says (``PEDIGREE_USER``, the config, the
    OS user): the record calls it ``self-declared``. Through the team server it is the token's
    user: ``authenticated``.
    """

    name: str
    authenticated: bool = False

    @property
    def identity(self) -> str:
        return "authenticated" if self.authenticated else "self-declared"


class Context:
    """One project's metadata store, object store and acting identity, opened lazily."""

    def __init__(
        self,
        project: Project,
        *,
        store: SQLStore | RemoteStore | None = None,
        objects: ObjectStore | None = None,
        actor: Actor | None = None,
    ) -> None:
        self.project = project
        if store is not None:
            self.__dict__["store"] = store
        if objects is not None:
            self.__dict__["objects"] = objects
        if actor is not None:
            self.__dict__["actor"] = actor

    @cached_property
    def store(self) -> SQLStore | RemoteStore:
        return shared_store(self.project.uri)

    @property
    def remote(self) -> RemoteStore | None:
        """The team server, when the store is one (``PEDIGREE_URI=http(s)://...`` or
        ``pedigree login``); None for an embedded or database store."""
        from pedigree.credentials import is_remote

        if not is_remote(self.project.uri):
            return None
        from pedigree.store.remote import RemoteStore

        store = self.store
        return store if isinstance(store, RemoteStore) else None

    @cached_property
    def objects(self) -> ObjectStore:
        from pedigree.objects import open_object_store

        return open_object_store(self.project.objects_location)

    @cached_property
    def actor(self) -> Actor:
        remote = self.remote
        if remote is not None:
            # The token's user, proven by the server; PEDIGREE_USER and the config are ignored.
            return Actor(str(remote.principal["user"]), authenticated=True)
        return Actor(self.project.user)

    @property
    def user(self) -> str:
        """The acting identity's name, as the record holds it."""
        return self.actor.name

    def append(self, events: Sequence[Event]) -> int:
        """Chain the events into the audit log and apply them to the tables, all or nothing.

        Returns the sequence number of the last event (the head's, when there were none).
        """
        return self.store.append(events, actor=self.actor.name, identity=self.actor.identity)

    def write(self, build: Callable[[Reader], Sequence[Event]]) -> int:
        """Like :meth:`append`, for events that depend on what the store holds: ``build`` reads
        through the reader it is given, inside the write transaction, and returns the events."""
        return self.store.write(build, actor=self.actor.name, identity=self.actor.identity)

    @contextlib.contextmanager
    def read(self) -> Iterator[Reader]:
        """A consistent snapshot to query; reads never write."""
        with self.store.read() as reader:
            yield reader


_stores: dict[str, SQLStore | RemoteStore] = {}
_stores_lock = threading.Lock()


def shared_store(uri: str) -> SQLStore | RemoteStore:
    """One open store per URI per process: its connection pool and schema check are reused by
    every run the process records. An ``http(s)://`` URI is a team server."""
    with _stores_lock:
        store = _stores.get(uri)
        if store is None:
            from pedigree.credentials import is_remote

            if is_remote(uri):
                from pedigree.credentials import token_for
                from pedigree.store.remote import open_remote_store

                store = _stores[uri] = open_remote_store(uri, token_for(uri))
            else:
                from pedigree.store.sql import open_store

                store = _stores[uri] = open_store(uri)
            if len(_stores) == 1:
                atexit.register(close_all)
        return store


def close_all() -> None:
    """Close every store this process opened (tests call it between cases)."""
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()
