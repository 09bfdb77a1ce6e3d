"""Everything a compliance report states about a run, gathered into one JSON-ready dict.

>>> facts = collect(tracker, "last")                                # doctest: +SKIP
>>> sorted(facts)                                                   # doctest: +SKIP
['approvals', 'audit', 'code', 'data', 'environment', 'generated', 'lineage', 'metrics', ...]
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pedigree._version import __version__
from pedigree.errors import AuditError, PedigreeError
from pedigree.store import schema as t
from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.api import Tracker
    from pedigree.audit.check import ProgressFn

__all__ = ["LINEAGE_DEPTH", "MAX_PATCH_BYTES", "collect"]

LINEAGE_DEPTH = 8
MAX_PATCH_BYTES = 2 * 1024 * 1024


def _patch(tracker: Tracker, digest: str | None) -> dict[str, Any]:
    if not digest:
        return {"digest": None, "text": None, "note": None}
    try:
        data = tracker.read_blob(digest)
    except PedigreeError as exc:
        return {"digest": digest, "text": None, "note": f"the patch could not be read: {exc}"}
    note = None
    if len(data) > MAX_PATCH_BYTES:
        note = f"the patch is {len(data):,} bytes; the first {MAX_PATCH_BYTES:,} are shown"
        data = data[:MAX_PATCH_BYTES]
    return {"digest": digest, "text": data.decode("utf-8", errors="replace"), "note": note}


def collect(
    tracker: Tracker,
    ref: str,
    *,
    verify: bool = True,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """The facts of the report on run ``ref``.

    With ``verify`` the whole audit log is checked first, and a store that fails the check gets
    no report (:class:`AuditError`): a report must not vouch for a record that was changed.
    """
    from pedigree.audit.approvals import approvals_by_node
    from pedigree.audit.log import events, head
    from pedigree.lineage.report import lineage_report
    from pedigree.store import queries

    verification: dict[str, Any] | None = None
    if verify:
        from pedigree.audit.verify import verify as run_verify

        report = run_verify(tracker.store, progress=progress)
        if not report.ok:
            raise AuditError(
                f"the record fails `pedigree audit verify` ({report.problem_count:,} problems; "
                f"the first: {report.problems[0]}); no report was written"
            )
        verification = {
            "ok": True,
            "events": report.events,
            "rows": sum(report.rows.values()),
            "seconds": round(report.seconds, 2),
        }
    rec = tracker.get_run(ref)
    run_id = rec["id"]
    lineage = lineage_report(tracker, run_id, direction="up", depth=LINEAGE_DEPTH)
    with tracker.store.read() as conn:
        history = queries.metric_history(conn, run_id)
        log_head = head(conn)
        trail = events(conn, run_id=run_id)
        rp = t.reproductions.c
        details = {
            row.run_id: json.loads(row.details)
            for row in conn.execute(
                sa.select(rp.run_id, rp.details).where(rp.original_id == run_id)
            )
        }
        run_ids = [n["id"] for n in lineage["nodes"] if n["kind"] == "run"]
        digests = [n["id"] for n in lineage["nodes"] if n["kind"] == "artifact"]
        digests += [o["digest"] for o in rec.get("outputs") or []]
        reviews = approvals_by_node(conn, run_ids, digests)
    series: dict[str, list[float | None]] = {}
    for key, _step, value, _ts in history:
        series.setdefault(key, []).append(None if value != value else value)
    return {
        "generated": {
            "at": iso(time.time()),
            "by": tracker.user,
            "pedigree": __version__,
            "project": tracker.project.root.name,
        },
        "run": rec,
        "patch": _patch(tracker, rec["code"].get("patch_digest")),
        "series": series,
        "lineage": lineage,
        "reviews": {f"{k[0]}:{k[1]}": v for k, v in reviews.items()},
        "reproductions": [
            {**r, "details": details.get(r["id"])} for r in rec.get("reproductions") or []
        ],
        "audit": {"head": log_head, "events": trail, "verification": verification},
    }
