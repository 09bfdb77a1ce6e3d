"""The ``imported_from`` field of the records of runs another tool's import brought in.

``pedigree show RUN --json`` of a run imported from MLflow says ``imported_from:
"mlflow:<run id>"`` (the source, as the import recorded it), and ``import``: what else the
import kept (who imported it and when, the MLflow experiment id, artifact location, status and
every tag). ``runs --json`` carries ``imported_from`` too. Runs that came from an evidence
bundle are described by :mod:`pedigree.bundle.records`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["TOOLS", "enrich_records"]

# The sources this module describes (``<tool>:...``).
TOOLS = ("mlflow:",)


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    if not records:
        return
    found = reader.imported_from([rec["id"] for rec in records])
    ours = {run_id: src for run_id, src in found.items() if src.startswith(TOOLS)}
    if not ours:
        return
    details = reader.import_details(list(ours)) if detail else {}
    for rec in records:
        source = ours.get(rec["id"])
        if source is None:
            continue
        rec["imported_from"] = source
        if detail and rec["id"] in details:
            item = details[rec["id"]]
            rec["import"] = {
                "source": source,
                "actor": item["actor"],
                "at": iso(item["at"]),
                **(item["details"] or {}),
            }
