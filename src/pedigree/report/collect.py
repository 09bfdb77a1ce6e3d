"""Everything a compliance report states about a run, gathered into one JSON-ready dict.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> run_id = create_run(ctx, experiment="ma-crossover")
>>> sorted(collect(ctx, "last"))  # doctest: +NORMALIZE_WHITESPACE
['audit', 'generated', 'lineage', 'model', 'patch', 'reproductions', 'reviews', 'run',
 'selection', 'series']
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pedigree._version import __version__
from pedigree.errors import AuditError, PedigreeError
from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.audit.check import ProgressFn
    from pedigree.context import Context

__all__ = ["LINEAGE_DEPTH", "MAX_PATCH_BYTES", "collect"]

LINEAGE_DEPTH = 8
MAX_PATCH_BYTES = 2 * 1024 * 1024


def _patch(ctx: Context, digest: str | None) -> dict[str, Any]:
    if not digest:
        return {"digest": None, "text": None, "note": None}
    from pedigree.digest import Digest

    try:
        data = ctx.objects.get_bytes(Digest.parse(digest))
    except PedigreeError as exc:
        return {"digest": digest, "text": None, "note": f"the patch could not be read: {exc}"}
    note = None
    if len(data) > MAX_PATCH_BYTES:
        note = f"the patch is {len(data):,} bytes; the first {MAX_PATCH_BYTES:,} are shown"
        data = data[:MAX_PATCH_BYTES]
    return {"digest": digest, "text": data.decode("utf-8", errors="replace"), "note": note}


def _selection(ctx: Context, rec: dict[str, Any]) -> dict[str, Any] | None:
    """How the run was selected: its context (a sweep trial; else None) and, for the sweep's
    winner when the trials logged a ``returns`` history, ``pedigree sweep assess``'s numbers."""
    context = rec.get("selection")
    if not context:
        return None
    from pedigree.selection.context import sentence

    out: dict[str, Any] = {
        "context": context,
        "sentence": sentence(context),
        "assessment": None,
        "note": None,
    }
    if not context["selected"]:
        out["note"] = (
            "This run was not the sweep's pick; the Deflated Sharpe Ratio and the Probability of "
            f"Backtest Overfitting are the winner's: pedigree sweep assess {context['sweep']}"
        )
        return out
    from pedigree.sweep.assess import assess_sweep

    try:
        out["assessment"] = assess_sweep(ctx, context["sweep"])
    except PedigreeError as exc:  # InvalidInput: no returns logged, too few of them, ...
        out["note"] = f"No Deflated Sharpe Ratio or PBO: {exc}"
    except ImportError:  # numpy: the `demo` / `dev` extras
        out["note"] = "No Deflated Sharpe Ratio or PBO: they need numpy (pip install numpy)"
    return out


def _model(ctx: Context, ref: str) -> dict[str, Any] | None:
    """``model:NAME@ALIAS`` / ``model:NAME/N`` as ``model show --json`` describes the version
    (the alias read as it points now), or None for a run reference."""
    if not ref.strip().lower().startswith("model:"):
        return None
    from pedigree.errors import InvalidInput
    from pedigree.models.registry import show

    model = show(ctx, ref).to_json()
    if model["run_id"] is None:
        raise InvalidInput(
            f"model {model['ref']} was registered from stored content no recorded run produced: "
            "a report covers a run (see `pedigree model show`)"
        )
    model["asked"] = ref.strip()
    return model


def collect(
    ctx: Context,
    ref: str,
    *,
    verify: bool = True,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """The facts of the report on run ``ref``, or on a registered model version
    (``model:NAME@ALIAS``, ``model:NAME/N``): the report on the run that produced it, with the
    version, its aliases and reviews (``model``; None for a run).

    With ``verify`` the whole audit log is checked first, and a store that fails the check gets
    no report (:class:`AuditError`): a report must not vouch for a record that was changed.
    """
    from pedigree.audit.approvals import approvals_by_node
    from pedigree.audit.log import events, head
    from pedigree.identity.records import annotate_events
    from pedigree.lineage.report import lineage_report
    from pedigree.tracking.records import load_records

    verification: dict[str, Any] | None = None
    if verify:
        from pedigree.audit.verify import verify as run_verify

        report = run_verify(ctx.store, progress=progress)
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
    model = _model(ctx, ref)
    if model is not None:
        ref = model["run_id"]
    with ctx.read() as reader:
        run_id = reader.resolve_run(ref)
        (rec,) = load_records(reader, [run_id], detail=True)
    lineage = lineage_report(ctx, run_id, direction="up", depth=LINEAGE_DEPTH)
    with ctx.read() as reader:
        history = reader.metric_history(run_id)
        log_head = head(reader)
        trail = annotate_events(reader, events(reader, run_id=run_id))
        details = reader.reproduction_details(run_id)
        run_ids = [n["id"] for n in lineage["nodes"] if n["kind"] == "run"]
        digests = [n["id"] for n in lineage["nodes"] if n["kind"] == "artifact"]
        digests += [o["digest"] for o in rec.get("outputs") or []]
        reviews = approvals_by_node(reader, run_ids, digests)
    series: dict[str, list[float | None]] = {}
    for key, _step, value, _ts in history:
        series.setdefault(key, []).append(None if value != value else value)
    return {
        "generated": {
            "at": iso(time.time()),
            "by": ctx.user,
            "pedigree": __version__,
            "project": ctx.project.root.name,
        },
        "run": rec,
        "model": model,
        "patch": _patch(ctx, rec["code"].get("patch_digest")),
        "selection": _selection(ctx, rec),
        "series": series,
        "lineage": lineage,
        "reviews": {f"{k[0]}:{k[1]}": v for k, v in reviews.items()},
        "reproductions": [
            {**r, "details": details.get(r["id"])} for r in rec.get("reproductions") or []
        ],
        "audit": {"head": log_head, "events": trail, "verification": verification},
    }
