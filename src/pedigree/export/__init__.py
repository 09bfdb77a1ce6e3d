"""Export to the standards other tools read: OpenLineage run events and W3C PROV-JSON.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> run_id = create_run(ctx, experiment="ma-crossover")
>>> [e["eventType"] for e in export(ctx, run="last", fmt="openlineage")]
['START']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput

if TYPE_CHECKING:
    from pedigree.context import Context

__all__ = ["FORMATS", "export", "records"]

FORMATS = ("openlineage", "prov")


def records(
    ctx: Context, *, run: str | None = None, experiment: str | None = None
) -> list[dict[str, Any]]:
    """Full run records (with inputs, outputs and the dataset versions they are), oldest first."""
    from pedigree.tracking.records import load_records

    if (run is None) == (experiment is None):
        raise InvalidInput("export one RUN or one --experiment")
    with ctx.read() as reader:
        if run is not None:
            ids = [reader.resolve_run(run)]
        else:
            ids = sorted(reader.select_runs(experiment=experiment))
            if not ids:
                raise InvalidInput(f"the experiment {experiment!r} has no runs")
        recs = load_records(reader, ids, detail=True)
        labels = reader.dataset_labels(
            [
                item["digest"]
                for rec in recs
                for item in (*(rec.get("inputs") or []), *(rec.get("outputs") or []))
            ]
        )
    for rec in recs:
        for item in (*(rec.get("inputs") or []), *(rec.get("outputs") or [])):
            item["datasets"] = labels.get(item["digest"], [])
    return recs


def export(
    ctx: Context,
    *,
    run: str | None = None,
    experiment: str | None = None,
    fmt: str = "openlineage",
    namespace: str | None = None,
) -> Any:
    """OpenLineage: a list of run events; PROV: one PROV-JSON document."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}: use openlineage or prov")
    recs = records(ctx, run=run, experiment=experiment)
    if fmt == "prov":
        from pedigree.export.prov import document

        return document(recs)
    from pedigree.export.openlineage import run_events

    ns = namespace or f"pedigree://{ctx.project.root.name}"
    dataset_ns = f"file://{ctx.project.root}"
    return [e for rec in recs for e in run_events(rec, namespace=ns, dataset_namespace=dataset_ns)]
