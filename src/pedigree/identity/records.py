"""Identity on the record: who recorded a run and its reviews, and whether it was proven.

``show --json`` gets ``identity`` (``authenticated`` or ``self-declared``: how the run's creator
was known), ``recorded_by`` (that creator, as the audit log names them), an ``identity`` on each
review, and ``approval``: whether the run counts as approved under the recorded policy's
``required`` (see :func:`pedigree.identity.policy.approval_status`). ``audit log`` gets an
``identity`` per event (:func:`annotate_events`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.identity.policy import approval_status, recorded_policy
from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["annotate_events", "enrich_records"]


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    """Add ``identity``, ``recorded_by`` and ``approval`` to ``show``'s record (``detail``),
    and an ``identity`` to each of its ``approvals``."""
    if not detail or not records:
        return
    authors = reader.run_authors([r["id"] for r in records])
    policy = recorded_policy(reader)
    required = policy.required if policy is not None else 1
    for rec in records:
        author = authors.get(rec["id"])
        rec["identity"] = author.identity if author is not None else "self-declared"
        rec["recorded_by"] = author.actor if author is not None else rec.get("user")
        reviews = rec.get("approvals") or []
        if reviews:
            known = {(a, iso(at)): i for a, at, i in reader.approval_identities(rec["id"])}
            for review in reviews:
                review["identity"] = known.get((review["actor"], review["at"]), "self-declared")
        rec["approval"] = approval_status(reviews, required)


def annotate_events(reader: Reader, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``identity`` (``authenticated`` or ``self-declared``) to each event of ``audit
    log``; events written before identities were recorded were all self-declared."""
    if not events:
        return events
    seqs = [int(e["seq"]) for e in events]
    proven = reader.authenticated_seqs(min(seqs), max(seqs))
    for e in events:
        e["identity"] = "authenticated" if int(e["seq"]) in proven else "self-declared"
    return events
