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

from pedigree.errors import AuditError, InvalidInput
from pedigree.store.chain import GENESIS
from pedigree.times import iso, parse_time

if TYPE_CHECKING:
    from pedigree.store.reader import Reader
    from pedigree.store.remote import RemoteReader

__all__ = ["events", "head", "head_seq", "parse_since"]


def parse_since(text: str) -> float:
    """``2026-11-01`` or ``2026-11-01T09:30`` (UTC unless it names a zone) as epoch seconds."""
    try:
        return parse_time(text)
    except ValueError:
        raise InvalidInput(
            f"--since needs a date like 2026-11-01 or 2026-11-01T09:30, not {text!r}"
        ) from None


def _remote(reader: Reader) -> RemoteReader | None:
    """The reader, when the team server answers it: the log is read where the database is."""
    from pedigree.store.remote import RemoteReader

    return reader if isinstance(reader, RemoteReader) else None


def head(reader: Reader) -> dict[str, Any]:
    """The last event's seq and digest: what ``audit anchor`` prints.

    Raises :class:`AuditError` when the head row and the last event disagree, since an anchor
    taken from a broken log would vouch for the breakage.
    """
    remote = _remote(reader)
    if remote is not None:
        return remote.audit_anchor()
    db = reader.db
    row = db.first("SELECT seq, digest FROM audit_head")
    last = db.first("SELECT seq, digest, at FROM audit_events ORDER BY seq DESC LIMIT 1")
    last_seq, last_digest, at = last if last else (0, GENESIS, None)
    if row is None or (row[0], row[1]) != (last_seq, last_digest):
        raise AuditError(
            "the audit head does not match the last event of the log; "
            "run `pedigree audit verify` to see what changed"
        )
    return {"seq": int(last_seq), "digest": str(last_digest), "at": iso(at)}


def head_seq(reader: Reader) -> int:
    """The sequence number of the last event, from the head row alone (one indexed read: the
    team server reports it with every read, for writes that depend on what they read)."""
    return int(reader.db.scalar("SELECT seq FROM audit_head") or 0)


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
    remote = _remote(reader)
    if remote is not None:
        query = {"run": run_id, "actor": actor, "since": since, "limit": limit}
        return remote.audit_log(**query, payload=payload)
    columns = "seq, at, actor, kind, run_id, prev, digest" + (", payload" if payload else "")
    conds: list[str] = []
    params: dict[str, Any] = {}
    for column, value, op in (("run_id", run_id, "="), ("actor", actor, "="), ("at", since, ">=")):
        if value is not None:
            conds.append(f"{column} {op} :{column}")
            params[column] = value
    q = f"SELECT {columns} FROM audit_events" + (f" WHERE {' AND '.join(conds)}" if conds else "")
    if limit is not None:
        if limit < 1:
            raise InvalidInput("--limit must be at least 1")
        params["limit"] = limit
        rows = list(reversed(reader.db.rows(q + " ORDER BY seq DESC LIMIT :limit", params)))
    else:
        rows = reader.db.rows(q + " ORDER BY seq", params)
    out = []
    for r in rows:
        item: dict[str, Any] = {
            "seq": r[0],
            "at": iso(r[1]),
            "actor": r[2],
            "kind": r[3],
            "run_id": r[4],
            "prev": r[5],
            "digest": r[6],
        }
        if payload:
            try:
                item["payload"] = json.loads(r[7])
            except ValueError:
                item["payload"] = r[7]
        out.append(item)
    return out
