"""The ``imported_from`` field of the records of runs that came from an evidence bundle.

``pedigree show RUN --json`` (and ``runs --json``) of a run brought in by ``pedigree bundle
import`` says ``imported_from: "bundle:<seal>/<run id>"`` (the source, as the import recorded
it), and ``show`` adds ``import``: who imported it and when, the bundle's seal, file name and
target, the anchor of the chain the run was recorded in, who wrote the bundle and when, and the
stored git bundle of its code. The same shape as a run imported from another tool
(:mod:`pedigree.interop.records`); a run recorded here has no ``imported_from``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["enrich_records"]

PREFIX = "bundle:"
# Kept in the store, left out of the record: long, and only of use to a verifier.
_HIDDEN = frozenset({"events"})


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    if not records:
        return
    found = reader.imported_from([rec["id"] for rec in records])
    ours = {run_id: src for run_id, src in found.items() if src.startswith(PREFIX)}
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
            kept = {k: v for k, v in (item["details"] or {}).items() if k not in _HIDDEN}
            rec["import"] = {
                "source": source,
                "actor": item["actor"],
                "at": iso(item["at"]),
                **kept,
            }
