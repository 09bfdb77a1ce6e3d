"""The reproduction fields of run records (``show --json``, ``runs --json``, the SDK).

- ``reproductions``: on every run, its reproductions, oldest first: [{id, verdict, at}];
- ``reproduction_of``: on a reproduction run, {original, verdict}; None on other runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["enrich_records"]


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    by_id = {rec["id"]: rec for rec in records}
    for rec in records:
        rec["reproductions"] = []
        rec["reproduction_of"] = None
    for row in reader.reproductions(list(by_id)):
        if row.original_id in by_id:
            by_id[row.original_id]["reproductions"].append(
                {
                    "id": row.run_id,
                    "verdict": row.verdict,
                    "at": iso(row.ended_at or row.started_at),
                }
            )
        if row.run_id in by_id:
            by_id[row.run_id]["reproduction_of"] = {
                "original": row.original_id,
                "verdict": row.verdict,
            }
