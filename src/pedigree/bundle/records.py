"""The ``imported_from`` field of run records (``pedigree show RUN --json``).

A run that came into this store by an import (``pedigree bundle import``, or another tool's
importer) says where from: ``{source, actor, at, ...details}``, where ``source`` is what the
import recorded (``bundle:<seal>/<run id>`` for an evidence bundle), ``actor`` and ``at`` who
imported it and when, and the details what the import kept (for a bundle: its seal, file name,
target, the anchor of the chain the run was recorded in, who wrote the bundle). A run recorded
here has ``imported_from: null``. Only ``show`` (``detail``) carries it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["enrich_records"]

# Kept in the store, left out of the record: long and only useful to a verifier.
_HIDDEN = frozenset({"events"})


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    if not detail or not records:
        return
    found = reader.import_details([rec["id"] for rec in records])
    for rec in records:
        item = found.get(rec["id"])
        if item is None:
            rec.setdefault("imported_from", None)
            continue
        details = {k: v for k, v in (item["details"] or {}).items() if k not in _HIDDEN}
        rec.setdefault(
            "imported_from",
            {"source": item["source"], "actor": item["actor"], "at": iso(item["at"]), **details},
        )
