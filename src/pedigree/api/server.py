"""What the team server does for its clients: ``ServerAPI`` (the facade of ``pedigree.server``).

The server is one more face of the Tracker. Most of what a client does through it is the store
interface itself (reads, appends of typed events, objects by digest), so this namespace is that
interface served to a remote client, with the checks a client cannot be trusted to make:

- a read names a public :class:`~pedigree.store.reader.Reader` method (``READ_METHODS``), and
  answers with the head of the log it read at;
- events arrive as (kind, payload as the log holds it) and are rebuilt as typed events, checked
  as any event is when built; metric points packed by the client are unpacked and packed again
  (so a malformed column is refused here, not met by the projector), and an event that names its
  actor (an approval, a model registration) must name the token's user;
- a batch is appended once per batch id, and refused (``StaleRead``) when the client's reads
  were made at an older head than the log's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pedigree.context import Context
from pedigree.errors import InvalidInput, InvalidValue, NotFound
from pedigree.identity import Forbidden
from pedigree.store.codec import MalformedPoints, unpack_points
from pedigree.store.events import ApprovalRecorded, Event, RunMetrics, event
from pedigree.store.remote import ADMIN_READS, READ_METHODS

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["ADMIN_READS", "READ_METHODS", "ServerAPI"]

MAX_EVENTS = 10_000


class ServerAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def head(self) -> int:
        from pedigree.audit.log import head_seq

        with self._ctx.read() as reader:
            return head_seq(reader)

    def read(self, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[int, Any]:
        """Call ``Reader.<method>(*args, **kwargs)`` in one snapshot; (head seq, answer)."""
        from pedigree.audit.log import head_seq

        if method not in READ_METHODS:
            raise NotFound(f"no read named {method!r}")
        with self._ctx.read() as reader:
            seq = head_seq(reader)
            try:
                value = getattr(reader, method)(*args, **kwargs)
            except TypeError as exc:  # wrong arguments for the method
                raise InvalidInput(f"{method}: {exc}") from None
        return seq, value

    def events(self, wire: Sequence[Mapping[str, Any]]) -> list[Event]:
        """The typed events of a batch as the client sent them (kind, payload text), checked."""
        if len(wire) > MAX_EVENTS:
            raise InvalidInput(f"a batch holds at most {MAX_EVENTS:,} events")
        actor = self._ctx.actor.name
        out: list[Event] = []
        for item in wire:
            kind, text = item["kind"], item["payload"]
            try:
                payload = json.loads(text)
            except (TypeError, ValueError):
                raise InvalidInput(f"the payload of a {kind} event is not JSON") from None
            if not isinstance(payload, dict):
                raise InvalidInput(f"the payload of a {kind} event is not an object")
            if kind == RunMetrics.KIND and not isinstance(payload.get("points"), list):
                try:
                    payload["points"] = unpack_points(payload.get("points"))
                except MalformedPoints as exc:
                    raise InvalidValue(f"run.metrics: {exc}") from None
            ev = event(kind, payload)
            named = payload.get("actor")
            if named is not None and named != actor:
                raise Forbidden(
                    f"a {kind} event names {named!r} as its actor; through the team server "
                    f"events are recorded as the token's user ({actor!r})"
                )
            out.append(ev)
        return out

    def append(self, events: Sequence[Event], *, batch: str, expect_head: int | None) -> int:
        """Append as the context's (authenticated) actor, once per ``batch``."""
        from pedigree.identity.policy import check_events, effective_policy
        from pedigree.store.sql import SQLStore

        store = self._ctx.store
        if not isinstance(store, SQLStore):
            raise InvalidInput("the team server's store must be a database, not another server")
        actor = self._ctx.actor
        # Only a batch that holds an approval needs the policy (one read less for the rest).
        policy = (
            effective_policy(self._ctx)
            if any(isinstance(e, ApprovalRecorded) for e in events)
            else None
        )

        def four_eyes(reader: Reader, batch_events: Sequence[Event]) -> None:
            # Here, in the write's transaction: a client cannot skip it by sending the
            # approval itself, nor race it with the lineage it checks.
            if policy is not None:
                check_events(reader, batch_events, actor=actor.name, policy=policy)

        return store.append_batch(
            events,
            batch=batch,
            expect_head=expect_head,
            check=four_eyes,
            actor=actor.name,
            identity=actor.identity,
        )

    def heartbeat(self, run_id: str, *, host: str, pid: int) -> None:
        self._ctx.store.heartbeat(run_id, host=host, pid=pid)

    # -- identities (pedigree.identity) -----------------------------------------------------------

    def authenticate(self, token: str) -> Any:
        """The :class:`~pedigree.identity.Principal` a token proves (``AuthError`` otherwise)."""
        from pedigree.identity import authenticate

        with self._ctx.read() as reader:
            return authenticate(reader, token)
