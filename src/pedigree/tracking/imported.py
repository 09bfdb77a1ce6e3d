"""The ``imported_from`` field of the records of runs that another store or tool brought in.

``pedigree show RUN --json`` (and ``runs --json``) of an imported run says where it came from,
as the import recorded it: ``imported_from: "mlflow:<run id>"`` for ``pedigree import mlflow``,
``"bundle:<seal>/<run id>"`` for ``pedigree bundle import``. ``show`` adds ``import``: who
imported it and when, and what else the import kept (MLflow's experiment id, artifact location,
status and tags; a bundle's seal, file name and target, the anchor of the chain the run was
recorded in, who wrote the bundle and when, and the stored git bundle of its code). A run
recorded here has no ``imported_from``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["enrich_records"]

# Kept in the store, left out of the record: a bundle's source events are long, and only of use
# to a verifier.
_HIDDEN = frozenset({"events"})


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    if not records:
        return
    found = reader.imported_from([rec["id"] for rec in records])
    if not found:
        return
    details = reader.import_details(list(found)) if detail else {}
    for rec in records:
        source = found.get(rec["id"])
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
