"""Reads over imported records (``pedigree import mlflow``): one part of the read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`.

>>> from pedigree.store.sql import open_store
>>> with open_store("sqlite://").read() as reader:
...     reader.imported(["mlflow:0123"]), reader.imported_from(["r1"])
({}, {})
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pedigree.store.db import Db, in_list

__all__ = ["ImportReads"]

# Bound parameters per statement: SQLite allows 32,766, PostgreSQL 65,535.
_CHUNK = 10_000


class ImportReads:
    db: Db

    def imported(self, sources: Sequence[str]) -> dict[str, str]:
        """``{source: target}`` of the ``sources`` imported already (a run id, or NAME/N)."""
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(sources))
        for i in range(0, len(unique), _CHUNK):
            condition, params = in_list("source", unique[i : i + _CHUNK], "s")
            found.update(
                self.db.rows(f"SELECT source, target FROM imports WHERE {condition}", params)
            )
        return found

    def imported_sources(self, prefix: str) -> dict[str, str]:
        """``{source: target}`` of every import whose source starts with ``prefix``
        (``mlflow:``): what one tool brought in."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.rows(
            "SELECT source, target FROM imports WHERE source LIKE :p ESCAPE '\\'",
            {"p": f"{escaped}%"},
        )
        return dict(rows)

    def imported_from(self, run_ids: Sequence[str]) -> dict[str, str]:
        """``{run id: source}`` of the runs among ``run_ids`` that were imported."""
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(run_ids))
        for i in range(0, len(unique), _CHUNK):
            condition, params = in_list("target", unique[i : i + _CHUNK], "r")
            rows = self.db.rows(
                f"SELECT source, target FROM imports WHERE target_type = 'run' AND {condition}",
                params,
            )
            found.update({target: source for source, target in rows})
        return found

    def import_details(self, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``{run id: {source, details, actor, at}}`` of the runs among ``run_ids`` that were
        imported: what the import recorded besides the source (an evidence bundle's seal,
        anchor and stored code bundle, ``pedigree bundle import``)."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(run_ids))
        for i in range(0, len(unique), _CHUNK):
            condition, params = in_list("target", unique[i : i + _CHUNK], "r")
            rows = self.db.rows(
                "SELECT source, target, details, actor, at FROM imports"
                f" WHERE target_type = 'run' AND {condition}",
                params,
            )
            for source, target, details, actor, at in rows:
                found[target] = {
                    "source": source,
                    "details": json.loads(details) if details else None,
                    "actor": actor,
                    "at": at,
                }
        return found
