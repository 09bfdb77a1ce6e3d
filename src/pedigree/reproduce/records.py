"""The reproduction fields of run records (``show --json``, ``runs --json``, the SDK).

- ``reproductions``: on every run, its reproductions, oldest first: [{id, verdict, at}];
- ``reproduction_of``: on a reproduction run, {original, verdict}; None on other runs.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pedigree.store import schema as t
from pedigree.times import iso

__all__ = ["enrich_records"]

_CHUNK = 500


def enrich_records(conn: Connection, records: list[dict[str, Any]], detail: bool) -> None:
    rp, r = t.reproductions.c, t.runs.c
    by_id = {rec["id"]: rec for rec in records}
    for rec in records:
        rec["reproductions"] = []
        rec["reproduction_of"] = None
    ids = list(by_id)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        rows = conn.execute(
            sa.select(rp.run_id, rp.original_id, rp.verdict, r.started_at, r.ended_at)
            .select_from(t.reproductions.join(t.runs, r.id == rp.run_id))
            .where(sa.or_(rp.original_id.in_(chunk), rp.run_id.in_(chunk)))
            .order_by(rp.run_id)
        )
        for row in rows:
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
