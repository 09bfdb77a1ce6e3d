"""What lineage shows of the nodes a walk found: runs and artifact versions, read in bulk.

One statement per table for all the keys (an array on PostgreSQL, ``IN`` lists of 500 on
SQLite), read as driver tuples.

>>> with store.read() as conn:                                      # doctest: +SKIP
...     run_details(conn, [run_id])[run_id]["code"]["commit"]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from pedigree.lineage._sql import dialect, fetch, keys_in

__all__ = ["artifact_details", "run_details"]


def run_details(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What lineage shows of each run: names, status, code and environment, reproductions."""
    name = dialect(conn)
    keys = sorted(set(ids))
    out: dict[str, dict[str, Any]] = {}
    for condition, params in keys_in(name, "r.id", keys):
        for (
            rid,
            experiment,
            run_name,
            kind,
            status,
            command,
            started_at,
            ended_at,
            user,
            commit,
            dirty,
            patch,
            remote,
            environment,
        ) in fetch(
            conn,
            "SELECT r.id, r.experiment, r.name, r.kind, r.status, r.command, r.started_at,"
            " r.ended_at, r.user, r.code_commit, r.code_dirty, r.code_patch_digest,"
            f" r.code_remote, r.environment_digest FROM runs r WHERE {condition}",
            params,
        ):
            out[rid] = {
                "id": rid,
                "experiment": experiment,
                "name": run_name,
                "run_kind": kind,  # run | sweep | reproduction
                "status": status,
                "command": json.loads(command) if command else None,
                "started_at": started_at,
                "ended_at": ended_at,
                "user": user,
                "code": {
                    "commit": commit,
                    "dirty": None if dirty is None else bool(dirty),
                    "patch_digest": patch,
                    "remote": remote,
                },
                "environment_digest": environment,
                "reproductions": [],
                "reproduction_of": None,
            }
    for column in ("rp.original_id", "rp.run_id"):
        for condition, params in keys_in(name, column, keys):
            for run_id, original_id, verdict in fetch(
                conn,
                f"SELECT rp.run_id, rp.original_id, rp.verdict FROM reproductions rp"
                f" WHERE {condition}",
                params,
            ):
                if column == "rp.original_id" and original_id in out:
                    out[original_id]["reproductions"].append({"id": run_id, "verdict": verdict})
                if column == "rp.run_id" and run_id in out:
                    out[run_id]["reproduction_of"] = {"original": original_id, "verdict": verdict}
    for rec in out.values():
        rec["reproductions"].sort(key=lambda x: x["id"])
    return out


def artifact_details(conn: Connection, digests: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What is known of each digest: ``type`` (file or dir), size, dataset versions, paths."""
    name = dialect(conn)
    out: dict[str, dict[str, Any]] = {
        d: {"digest": d, "type": None, "size": None, "datasets": [], "paths": []}
        for d in set(digests)
    }
    keys = sorted(out)
    rows = []
    for condition, params in keys_in(name, "ds.digest", keys):
        rows += fetch(
            conn,
            "SELECT ds.name, ds.version, ds.digest, ds.kind, ds.size, ds.path FROM datasets ds"
            f" WHERE {condition}",
            params,
        )
    for ds_name, version, digest, kind, size, path in sorted(rows, key=lambda r: r[:2]):
        rec = out[digest]
        rec["datasets"].append(f"{ds_name}@v{version}")
        rec["type"] = rec["type"] or kind
        rec["size"] = size if rec["size"] is None else rec["size"]
        if path and path not in rec["paths"]:
            rec["paths"].append(path)
    for condition, params in keys_in(name, "io.digest", keys):
        for digest, path, kind, size in fetch(
            conn,
            "SELECT DISTINCT io.digest, io.path, io.kind, io.size FROM run_io io"
            f" WHERE {condition} ORDER BY io.digest, io.path",
            params,
        ):
            rec = out[digest]
            rec["type"] = rec["type"] or kind
            rec["size"] = size if rec["size"] is None else rec["size"]
            if path not in rec["paths"]:
                rec["paths"].append(path)
    for condition, params in keys_in(name, "te.tree_digest", keys):
        for tree, files, total in fetch(
            conn,
            "SELECT te.tree_digest, count(*), sum(te.size) FROM tree_entries te"
            f" WHERE {condition} GROUP BY te.tree_digest",
            params,
        ):
            rec = out[tree]
            rec["type"] = "dir"
            rec["files"] = int(files)
            if rec["size"] is None:
                rec["size"] = int(total or 0)
    # Known only as a file inside a dataset version (no run read it there): where it sits.
    inside = sorted(d for d, rec in out.items() if rec["type"] is None)
    for condition, params in keys_in(name, "te.digest", inside):
        for digest, base, path, size in fetch(
            conn,
            "SELECT DISTINCT te.digest, ds.path, te.path, te.size FROM tree_entries te"
            " JOIN datasets ds ON ds.digest = te.tree_digest"
            f" WHERE {condition} ORDER BY te.digest, ds.path, te.path",
            params,
        ):
            rec = out[digest]
            rec["size"] = int(size) if rec["size"] is None else rec["size"]
            full = f"{base}/{path}" if base else path
            if full not in rec["paths"]:
                rec["paths"].append(full)
    return out
