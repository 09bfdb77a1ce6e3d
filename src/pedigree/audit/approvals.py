"""Reviews: approving or rejecting a run or an artifact version, recorded in the audit log.

A review names its target the way ``lineage`` does: a run (a full id, a unique prefix or
``last``), a dataset version ``NAME@vN``, or an artifact version by its digest. The actor is the
configured identity (``PEDIGREE_USER``, the project's ``[user] name``, or the OS user). The target
is resolved inside the write transaction, so an unknown target writes nothing.

>>> review(tracker, "last", "approved", note="out-of-sample Sharpe holds")   # doctest: +SKIP
{'id': '0193…', 'target_type': 'run', 'target': '0193…', 'decision': 'approved', ...}
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pedigree.errors import InvalidInput, InvalidValue
from pedigree.ids import new_id
from pedigree.store import schema as t
from pedigree.store.events import Event
from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.api import Tracker

__all__ = ["DECISIONS", "approvals_by_node", "enrich_records", "review"]

DECISIONS = ("approved", "rejected")
MAX_NOTE = 10_000


def review(
    tracker: Tracker, target: str, decision: str, *, note: str | None = None
) -> dict[str, Any]:
    """Record ``decision`` on ``target``; returns the approval as stored."""
    from pedigree.lineage.target import resolve_target

    if decision not in DECISIONS:
        raise InvalidInput(f"a review decision is one of {', '.join(DECISIONS)}, not {decision!r}")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidValue(f"the note is {len(note):,} characters; the limit is {MAX_NOTE:,}")
    approval: dict[str, Any] = {}

    def build(conn: Connection) -> list[Event]:
        found = resolve_target(conn, target, root=tracker.project.root)
        if found.kind == "path":
            raise InvalidInput(
                f"{target} is a path, which may hold several versions: review a run, a dataset "
                "version (NAME@vN) or one version by its digest (see `pedigree lineage "
                f"{target}`)"
            )
        node = found.nodes[0]
        target_type = {"run": "run", "dataset": "dataset", "digest": "artifact"}[found.kind]
        key = found.label if found.kind == "dataset" else node.key
        approval.update(
            id=new_id(),
            target_type=target_type,
            target=key,
            decision=decision,
            note=note,
            actor=tracker.user,
            at=time.time(),
        )
        # A run's review carries the run's id, so `audit log --run` lists it with the run.
        return [Event("approval.recorded", dict(approval), key if target_type == "run" else None)]

    tracker.store.write(build, actor=tracker.user)
    return {**approval, "at": iso(approval["at"])}


def _as_json(row: Any) -> dict[str, Any]:
    return {
        "decision": row.decision,
        "note": row.note,
        "actor": row.actor,
        "at": iso(row.at),
    }


def enrich_records(conn: Connection, records: list[dict[str, Any]], detail: bool) -> None:
    """Add ``approvals`` [{decision, note, actor, at}] (oldest first) to run records.

    With ``detail`` (``show``), a reviewed input or output (its artifact version, or the dataset
    version it is) also gets ``approvals``; an item nobody reviewed has no such key.
    """
    if not records:
        return
    if detail:
        items = [i for r in records for role in ("inputs", "outputs") for i in r.get(role) or []]
        digests = sorted({i["digest"] for i in items if i.get("digest")})
        if digests:
            reviewed = approvals_by_node(conn, [], digests)
            for item in items:
                if ("artifact", item.get("digest")) in reviewed:
                    item["approvals"] = reviewed[("artifact", item["digest"])]
    a = t.approvals.c
    found: dict[str, list[dict[str, Any]]] = {r["id"]: [] for r in records}
    ids = list(found)
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(a.target, a.decision, a.note, a.actor, a.at)
            .where(a.target_type == "run", a.target.in_(ids[i : i + 500]))
            .order_by(a.at, a.id)
        )
        for row in rows:
            found[row.target].append(_as_json(row))
    for rec in records:
        rec["approvals"] = found[rec["id"]]


def approvals_by_node(
    conn: Connection, run_ids: Sequence[str], digests: Sequence[str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Reviews of lineage nodes: ``("run", id)`` and ``("artifact", digest)`` keys.

    A dataset version's reviews belong to the artifact its digest names.
    """
    a, ds = t.approvals.c, t.datasets.c
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i in range(0, len(run_ids), 500):
        for row in conn.execute(
            sa.select(a.target, a.decision, a.note, a.actor, a.at)
            .where(a.target_type == "run", a.target.in_(list(run_ids[i : i + 500])))
            .order_by(a.at, a.id)
        ):
            out.setdefault(("run", row.target), []).append(_as_json(row))
    for i in range(0, len(digests), 500):
        chunk = list(digests[i : i + 500])
        direct = sa.select(a.target.label("digest"), a.decision, a.note, a.actor, a.at, a.id).where(
            a.target_type == "artifact", a.target.in_(chunk)
        )
        label = ds.name + sa.literal("@v") + sa.cast(ds.version, sa.String)
        via_dataset = (
            sa.select(ds.digest.label("digest"), a.decision, a.note, a.actor, a.at, a.id)
            .select_from(t.approvals.join(t.datasets, a.target == label))
            .where(a.target_type == "dataset", ds.digest.in_(chunk))
        )
        union = sa.union_all(direct, via_dataset).subquery()
        for row in conn.execute(sa.select(union).order_by(union.c.at, union.c.id)):
            out.setdefault(("artifact", row.digest), []).append(_as_json(row))
    return out
