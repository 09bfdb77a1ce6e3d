"""Lineage and impact reports: a target, a walk, and the details people read.

Both return plain JSON-ready dicts (what ``--json`` prints); ``lineage.render`` draws them.

>>> report = lineage_report(tracker, "models/model.pkl", direction="up")   # doctest: +SKIP
>>> [n["kind"] for n in report["nodes"]]                                   # doctest: +SKIP
['artifact', 'run', 'artifact', 'run', 'artifact']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pedigree.errors import InvalidInput
from pedigree.lineage.graph import (
    Direction,
    NodeRef,
    artifact_details,
    downstream_runs,
    run_details,
    run_outputs,
    walk,
)
from pedigree.lineage.target import Target, resolve_target
from pedigree.store import schema as t
from pedigree.tracking.records import iso

if TYPE_CHECKING:
    from pedigree.api import Tracker

__all__ = ["impact_report", "lineage_report", "node_json"]

_CHUNK = 5000


def _run_json(rec: dict[str, Any]) -> dict[str, Any]:
    out = dict(rec)
    out["started_at"] = iso(rec["started_at"])
    out["ended_at"] = iso(rec["ended_at"])
    return out


def node_json(
    node: NodeRef, runs: dict[str, dict[str, Any]], artifacts: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    if node.kind == "run":
        rec = runs.get(node.key)
        if rec is None:
            return {"kind": "run", "id": node.key, "status": "unknown"}
        return {"kind": "run", **_run_json(rec)}
    return {"kind": "artifact", **(artifacts.get(node.key) or {"digest": node.key})}


def lineage_report(
    tracker: Tracker,
    target: str,
    *,
    direction: Direction,
    depth: int | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Everything upstream (``up``) or downstream (``down``) of ``target``, ``depth`` steps deep."""
    if depth is not None and depth < 1:
        raise InvalidInput("--depth must be at least 1")
    here = Path(cwd) if cwd is not None else None
    with tracker.store.read() as conn:
        tgt = resolve_target(conn, target, root=tracker.project.root, cwd=here)
        graph = walk(conn, tgt.nodes, direction=direction, depth=depth)
        runs = run_details(conn, [n.key for n in graph.distance if n.kind == "run"])
        artifacts = artifact_details(conn, [n.key for n in graph.distance if n.kind == "artifact"])
    for node, paths in graph.paths.items():
        rec = artifacts.get(node.key)
        if rec is not None:
            # The paths seen along this walk first: they say how this lineage used the bytes.
            rec["paths"] = sorted(paths) + [p for p in rec["paths"] if p not in paths]
    nodes = []
    for node in graph.nodes:
        item = node_json(node, runs, artifacts)
        item["id"] = node.key
        item["distance"] = graph.distance[node]
        item["root"] = node in graph.roots
        nodes.append(item)
    return {
        "target": tgt.to_json(),
        "direction": direction,
        "depth": graph.depth,
        "truncated": graph.truncated,
        "nodes": nodes,
        "edges": [e.to_json() for e in graph.edges],
    }


# -- impact ---------------------------------------------------------------------------------------


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _metrics(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, float]]:
    m = t.latest_metrics.c
    out: dict[str, dict[str, float]] = {}
    for chunk in _chunks(sorted(ids)):
        for row in conn.execute(
            sa.select(m.run_id, m.key, m.value).where(m.run_id.in_(chunk)).order_by(m.key)
        ):
            out.setdefault(row.run_id, {})[row.key] = (
                float("nan") if row.value is None else row.value
            )
    return out


def _impact_artifacts(
    conn: Connection, run_ids: Sequence[str], digests: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Details of the artifacts found: most are outputs of the runs found, read in bulk."""
    io, ds = t.run_io.c, t.datasets.c
    wanted = set(digests)
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(list(run_ids)):
        for row in conn.execute(
            sa.select(io.digest, io.path, io.kind, io.size).where(
                io.run_id.in_(chunk), io.role == "output"
            )
        ):
            if row.digest not in wanted:
                continue
            rec = out.get(row.digest)
            if rec is None:
                out[row.digest] = rec = {
                    "digest": row.digest,
                    "type": row.kind,
                    "size": row.size,
                    "datasets": [],
                    "paths": [],
                }
            if row.path not in rec["paths"]:
                rec["paths"].append(row.path)
        for drow in conn.execute(
            sa.select(ds.name, ds.version, ds.digest).where(ds.run_id.in_(chunk))
        ):
            if drow.digest in out:
                out[drow.digest]["datasets"].append(f"{drow.name}@v{drow.version}")
    rest = [d for d in digests if d not in out]
    out.update(artifact_details(conn, rest))
    return out


def _current_state(root: Path, rel: str) -> dict[str, str]:
    """Digests of the files now at ``rel`` (a file, or every file under a folder)."""
    from pedigree.data.digest import hash_file

    base = root / rel
    if base.is_symlink() or base.is_file():
        return {rel: str(hash_file(base))} if base.is_file() else {}
    out: dict[str, str] = {}
    if base.is_dir():
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if d not in (".git", ".pedigree", "__pycache__")]
            for name in files:
                full = Path(folder, name)
                if full.is_file() and not full.is_symlink():
                    out[full.relative_to(root).as_posix()] = str(hash_file(full))
    return out


def _stale_reads(
    conn: Connection, root: Path, rel: str
) -> tuple[list[dict[str, Any]], dict[str, bool]]:
    """Reads of ``rel`` (or of files under it) at bytes other than those on disk now.

    Returns the stale reads and, per digest read there, whether it is the current content.
    """
    io, te = t.run_io.c, t.tree_entries.c
    rows = conn.execute(
        sa.select(io.run_id, io.path, io.digest, io.kind)
        .where(
            io.role == "input",
            sa.or_(io.path == rel, sa.and_(io.path > rel + "/", io.path < rel + "0")),
        )
        .order_by(io.path, io.run_id)
    ).all()
    now = _current_state(root, rel)
    current: dict[str, bool] = {}
    stale = []
    for row in rows:
        if row.kind == "dir":
            recorded = {
                f"{row.path}/{e.path}": e.digest
                for e in conn.execute(
                    sa.select(te.path, te.digest).where(te.tree_digest == row.digest)
                )
            }
            prefix = row.path + "/"
            on_disk = {p: d for p, d in now.items() if p.startswith(prefix)}
            is_current = bool(recorded) and recorded == on_disk
            now_digest = None
        else:
            now_digest = now.get(row.path)
            is_current = now_digest == row.digest
        current[row.digest] = current.get(row.digest, False) or is_current
        if not is_current:
            stale.append(
                {
                    "run": row.run_id,
                    "path": row.path,
                    "read": row.digest,
                    "current": now_digest,
                    "exists": (root / row.path).exists(),
                }
            )
    return stale, current


def impact_report(
    tracker: Tracker, target: str, *, cwd: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Every run, artifact version and reported metric downstream of ``target``.

    For a path, also the runs that read it at bytes other than its current content (stale).
    """
    here = Path(cwd) if cwd is not None else None
    root = tracker.project.root
    with tracker.store.read() as conn:
        tgt: Target = resolve_target(conn, target, root=root, cwd=here)
        affected = downstream_runs(conn, tgt.nodes)
        found = {NodeRef("run", r) for r in affected} | set(tgt.nodes)
        found |= {NodeRef("artifact", d) for d in run_outputs(conn, sorted(affected))}
        stale: list[dict[str, Any]] = []
        stale_runs: set[str] = set()
        current: dict[str, bool] = {}
        if tgt.kind == "path" and tgt.path is not None:
            stale, current = _stale_reads(conn, root, tgt.path)
            readers = {NodeRef("run", s["run"]) for s in stale}
            # Everything made from a stale read is stale too.
            stale_runs = downstream_runs(conn, sorted(readers)) if readers else set()
        run_ids = sorted(n.key for n in found if n.kind == "run" and n not in tgt.nodes)
        digests = sorted(n.key for n in found if n.kind == "artifact")
        runs = run_details(conn, sorted(n.key for n in found if n.kind == "run"))
        metrics = _metrics(conn, run_ids)
        artifacts = _impact_artifacts(conn, run_ids, digests)
    sources = []
    for node in tgt.nodes:
        item = node_json(node, runs, artifacts)
        if node.kind == "artifact" and tgt.kind == "path":
            item["current"] = current.get(node.key, False)
        sources.append(item)
    source_keys = {n.key for n in tgt.nodes}
    run_items = []
    metric_items = []
    for rid in run_ids:
        rec: dict[str, Any] = _run_json(runs[rid]) if rid in runs else {"id": rid}
        rec["metrics"] = metrics.get(rid, {})
        rec["stale"] = rid in stale_runs
        run_items.append(rec)
        for key, value in rec["metrics"].items():
            metric_items.append(
                {
                    "run": rid,
                    "experiment": rec.get("experiment"),
                    "name": rec.get("name"),
                    "key": key,
                    "value": value,
                }
            )
    artifact_items = [artifacts[d] for d in digests if d not in source_keys and d in artifacts]
    return {
        "target": tgt.to_json(),
        "sources": sources,
        "runs": run_items,
        "artifacts": artifact_items,
        "metrics": metric_items,
        "stale": stale,
        "summary": {
            "runs": len(run_items),
            "artifacts": len(artifact_items),
            "metrics": len(metric_items),
            "stale_reads": len(stale),
            "stale_runs": len(stale_runs),
        },
    }
