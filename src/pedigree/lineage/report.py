"""The lineage report: a target, a walk, and the details people read.

It is a plain JSON-ready dict (what ``--json`` prints); ``lineage.render`` draws it. The impact
report is ``lineage.impact``'s.

>>> report = lineage_report(tracker, "models/model.pkl", direction="up")   # doctest: +SKIP
>>> [n["kind"] for n in report["nodes"]]                                   # doctest: +SKIP
['artifact', 'run', 'artifact', 'run', 'artifact']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.audit.approvals import approvals_by_node
from pedigree.errors import InvalidInput
from pedigree.lineage.details import artifact_details, run_details
from pedigree.lineage.graph import Direction, NodeRef, walk
from pedigree.lineage.target import resolve_target
from pedigree.store.queries import abbreviations
from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.api import Tracker

__all__ = ["lineage_report", "node_json", "run_json"]


def run_json(rec: dict[str, Any]) -> dict[str, Any]:
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
        return {"kind": "run", **run_json(rec)}
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
        shown = [*runs, *(r["id"] for rec in runs.values() for r in rec.get("reproductions") or [])]
        shown += [
            rec["reproduction_of"]["original"]
            for rec in runs.values()
            if rec.get("reproduction_of")
        ]
        short = abbreviations(conn, shown)
        reviews = approvals_by_node(
            conn,
            [n.key for n in graph.nodes if n.kind == "run"],
            [n.key for n in graph.nodes if n.kind == "artifact"],
        )
    for node, paths in graph.paths.items():
        rec = artifacts.get(node.key)
        if rec is not None:
            # The paths seen along this walk first: they say how this lineage used the bytes.
            rec["paths"] = sorted(paths) + [p for p in rec["paths"] if p not in paths]
    nodes = []
    for node in graph.nodes:
        item = node_json(node, runs, artifacts)
        item["id"] = node.key
        if node.kind == "run":
            # Ids are time-ordered: their first characters are a timestamp, not a name.
            item["short"] = short.get(node.key, node.key)
            for rep in item.get("reproductions") or []:
                rep["short"] = short.get(rep["id"], rep["id"])
            if item.get("reproduction_of"):
                original = item["reproduction_of"]["original"]
                item["reproduction_of"]["original_short"] = short.get(original, original)
        # Its reviews (`pedigree approve|reject`), oldest first; a dataset version's belong to
        # the artifact version its digest names.
        item["approvals"] = reviews.get((node.kind, node.key), [])
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
