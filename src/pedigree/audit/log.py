"""Reading the audit log: the events, filtered, and its head (the anchor).

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run, end_run, log_params
>>> project, _ = init_project(tempfile.mkdtemp())
>>> ctx = Context(project)
>>> run_id = create_run(ctx, experiment="ma-crossover", params={"window": 50})
>>> end_run(ctx, run_id, "finished")
>>> with ctx.read() as reader:
...     h = head(reader)
...     kinds = [e["kind"] for e in events(reader, run_id=run_id)]
>>> h["seq"], h["digest"].startswith("blake3:")
(3, True)
>>> kinds
['run.created', 'run.params', 'run.ended']
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pedigree.errors import AuditError, InvalidInput
from pedigree.store import schema as t
from pedigree.store.chain import GENESIS
from pedigree.times import iso, parse_time

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["events", "head", "head_seq", "parse_since"]


def parse_since(text: str) -> float:
    """``2026-11-01`` or ``2026-11-01T09:30`` (UTC unless it names a zone) as epoch seconds."""
    try:
        return parse_time(text)
    except ValueError:
        raise InvalidInput(
            f"--since needs a date like 2026-11-01 or 2026-11-01T09:30, not {text!r}"
        ) from None


def head(reader: Reader) -> dict[str, Any]:
    """The last event's seq and digest: what ``audit anchor`` prints.

    Raises :class:`AuditError` when the head row and the last event disagree, since an anchor
    taken from a broken log would vouch for the breakage.
    """
    conn = reader.conn
    e = t.audit_events.c
    row = conn.execute(sa.select(t.audit_head.c.seq, t.audit_head.c.digest)).first()
    last = conn.execute(sa.select(e.seq, e.digest, e.at).order_by(e.seq.desc()).limit(1)).first()
    last_seq, last_digest, at = (last.seq, last.digest, last.at) if last else (0, GENESIS, None)
    if row is None or (row.seq, row.digest) != (last_seq, last_digest):
        raise AuditError(
            "the audit head does not match the last event of the log; "
            "run `pedigree audit verify` to see what changed"
        )
    return {"seq": int(last_seq), "digest": str(last_digest), "at": iso(at)}


def head_seq(reader: Reader) -> int:
    """The sequence number of the last event, from the head row alone (one indexed read: the
    team server reports it with every read, for writes that depend on what they read)."""
    return int(reader.conn.execute(sa.select(t.audit_head.c.seq)).scalar() or 0)


def events(
    reader: Reader,
    *,
    run_id: str | None = None,
    actor: str | None = None,
    since: float | None = None,
    limit: int | None = None,
    payload: bool = False,
) -> list[dict[str, Any]]:
    """Events in log order; ``limit`` keeps the last N. ``payload`` adds the decoded payloads.

    ``run_id`` selects the events that concern a run: its own, the approvals of it, and the
    dataset versions it produced (they all carry its id).
    """
    conn = reader.conn
    e = t.audit_events.c
    columns = [e.seq, e.at, e.actor, e.kind, e.run_id, e.prev, e.digest]
    if payload:
        columns.append(e.payload)
    q = sa.select(*columns)
    if run_id is not None:
        q = q.where(e.run_id == run_id)
    if actor is not None:
        q = q.where(e.actor == actor)
    if since is not None:
        q = q.where(e.at >= since)
    if limit is not None:
        if limit < 1:
            raise InvalidInput("--limit must be at least 1")
        q = q.order_by(e.seq.desc()).limit(limit)
        rows = list(reversed(conn.execute(q).all()))
    else:
        rows = list(conn.execute(q.order_by(e.seq)))
    out = []
    for r in rows:
        item: dict[str, Any] = {
            "seq": r.seq,
            "at": iso(r.at),
            "actor": r.actor,
            "kind": r.kind,
            "run_id": r.run_id,
            "prev": r.prev,
            "digest": r.digest,
        }
        if payload:
            try:
                item["payload"] = json.loads(r.payload)
            except ValueError:
                item["payload"] = r.payload
        out.append(item)
    return out
