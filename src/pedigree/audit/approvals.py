"""Reviews: approving or rejecting a run or an artifact version, recorded in the audit log.

A review names its target the way ``lineage`` does: a run (a full id, a unique prefix or
``last``), a dataset version ``NAME@vN``, or an artifact version by its digest. The actor is the
context's identity (``PEDIGREE_USER``, the project's ``[user] name``, or the OS user). The target
is resolved inside the write transaction, so an unknown target writes nothing.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Actor, Context
>>> from pedigree.tracking.recording import create_run
>>> project, _ = init_project(tempfile.mkdtemp())
>>> ctx = Context(project, actor=Actor("maria"))
>>> run_id = create_run(ctx, experiment="ma-crossover")
>>> approval = review(ctx, "last", "approved", note="out-of-sample Sharpe holds")
>>> approval["target"] == run_id, approval["actor"], approval["decision"]
(True, 'maria', 'approved')
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput, InvalidValue
from pedigree.ids import new_id
from pedigree.store.events import ApprovalRecorded, Event
from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.store.reader import Reader
    from pedigree.store.reads.reviews import Approval

__all__ = ["DECISIONS", "approvals_by_node", "enrich_records", "review"]

DECISIONS = ("approved", "rejected")
MAX_NOTE = 10_000


def review(ctx: Context, target: str, decision: str, *, note: str | None = None) -> dict[str, Any]:
    """Record ``decision`` on ``target``; returns the approval as stored."""
    from pedigree.lineage.target import resolve_target

    if decision not in DECISIONS:
        raise InvalidInput(f"a review decision is one of {', '.join(DECISIONS)}, not {decision!r}")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidValue(f"the note is {len(note):,} characters; the limit is {MAX_NOTE:,}")
    approval: dict[str, Any] = {}

    def build(reader: Reader) -> list[Event]:
        found = resolve_target(reader, target, root=ctx.project.root)
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
            actor=ctx.user,
            at=time.time(),
        )
        # A run's review is filed under the run (ApprovalRecorded.scope), so that
        # `audit log --run` lists it with the run.
        return [ApprovalRecorded(**approval)]

    ctx.write(build)
    return {**approval, "at": iso(approval["at"])}


def _as_json(a: Approval) -> dict[str, Any]:
    return {"decision": a.decision, "note": a.note, "actor": a.actor, "at": iso(a.at)}


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
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
            reviewed = approvals_by_node(reader, [], digests)
            for item in items:
                if ("artifact", item.get("digest")) in reviewed:
                    item["approvals"] = reviewed[("artifact", item["digest"])]
    found: dict[str, list[dict[str, Any]]] = {r["id"]: [] for r in records}
    for a in reader.run_approvals(list(found)):
        found[a.target].append(_as_json(a))
    for rec in records:
        rec["approvals"] = found[rec["id"]]


def approvals_by_node(
    reader: Reader, run_ids: Sequence[str], digests: Sequence[str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Reviews of lineage nodes: ``("run", id)`` and ``("artifact", digest)`` keys.

    A dataset version's reviews belong to the artifact its digest names.
    """
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in reader.run_approvals(run_ids):
        out.setdefault(("run", a.target), []).append(_as_json(a))
    for a in reader.artifact_approvals(digests):
        out.setdefault(("artifact", a.target), []).append(_as_json(a))
    return out
