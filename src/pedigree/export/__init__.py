"""Export to the standards other tools read: OpenLineage run events and W3C PROV-JSON.

>>> from pedigree.export import export                              # doctest: +SKIP
>>> events = export(tracker, run="last", fmt="openlineage")         # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput

if TYPE_CHECKING:
    from pedigree.api import Tracker

__all__ = ["FORMATS", "export", "records"]

FORMATS = ("openlineage", "prov")


def records(
    tracker: Tracker, *, run: str | None = None, experiment: str | None = None
) -> list[dict[str, Any]]:
    """Full run records (with inputs, outputs and the dataset versions they are), oldest first."""
    import sqlalchemy as sa

    from pedigree.store import schema as t

    if (run is None) == (experiment is None):
        raise InvalidInput("export one RUN or one --experiment")
    if run is not None:
        recs = [tracker.get_run(run)]
    else:
        ids = [r["id"] for r in tracker.runs(experiment=experiment)]
        if not ids:
            raise InvalidInput(f"the experiment {experiment!r} has no runs")
        recs = [tracker.get_run(i) for i in sorted(ids)]
    digests = {
        item["digest"]
        for rec in recs
        for item in (*(rec.get("inputs") or []), *(rec.get("outputs") or []))
    }
    labels: dict[str, list[str]] = {}
    if digests:
        ds = t.datasets.c
        with tracker.store.read() as conn:
            for row in conn.execute(
                sa.select(ds.name, ds.version, ds.digest)
                .where(ds.digest.in_(sorted(digests)))
                .order_by(ds.name, ds.version)
            ):
                labels.setdefault(row.digest, []).append(f"{row.name}@v{row.version}")
    for rec in recs:
        for item in (*(rec.get("inputs") or []), *(rec.get("outputs") or [])):
            item["datasets"] = labels.get(item["digest"], [])
    return recs


def export(
    tracker: Tracker,
    *,
    run: str | None = None,
    experiment: str | None = None,
    fmt: str = "openlineage",
    namespace: str | None = None,
) -> Any:
    """OpenLineage: a list of run events; PROV: one PROV-JSON document."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}: use openlineage or prov")
    recs = records(tracker, run=run, experiment=experiment)
    if fmt == "prov":
        from pedigree.export.prov import document

        return document(recs)
    from pedigree.export.openlineage import run_events

    ns = namespace or f"pedigree://{tracker.project.root.name}"
    dataset_ns = f"file://{tracker.project.root}"
    return [e for rec in recs for e in run_events(rec, namespace=ns, dataset_namespace=dataset_ns)]
