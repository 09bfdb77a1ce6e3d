"""The lineage report: a target, a walk, and the details people read.

It is a plain JSON-ready dict (what ``--json`` prints); ``lineage.render`` draws it. The impact
report is ``lineage.impact``'s.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> run_id = create_run(ctx, experiment="ma-crossover")
>>> report = lineage_report(ctx, "last", direction="up")
>>> [(n["kind"], n["id"] == run_id, n["root"]) for n in report["nodes"]]
[('run', True, True)]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.audit.approvals import approvals_by_node
from pedigree.errors import InvalidInput
from pedigree.lineage.graph import Direction, NodeRef, walk
from pedigree.lineage.target import resolve_target
from pedigree.times import iso

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pedigree.context import Context
    from pedigree.store.reads.lineage import ArtifactDetails, RunDetails

__all__ = ["lineage_report", "node_json", "run_json"]


def run_json(rec: RunDetails) -> dict[str, Any]:
    out: dict[str, Any] = dict(rec)
    out["started_at"] = iso(rec["started_at"])
    out["ended_at"] = iso(rec["ended_at"])
    return out


def node_json(
    node: NodeRef, runs: Mapping[str, RunDetails], artifacts: Mapping[str, ArtifactDetails]
) -> dict[str, Any]:
    if node.kind == "run":
        rec = runs.get(node.key)
        if rec is None:
            return {"kind": "run", "id": node.key, "status": "unknown"}
        return {"kind": "run", **run_json(rec)}
    return {"kind": "artifact", **(artifacts.get(node.key) or {"digest": node.key})}


def lineage_report(
    ctx: Context,
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
    with ctx.read() as reader:
        tgt = resolve_target(reader, target, root=ctx.project.root, cwd=here)
        graph = walk(reader, tgt.nodes, direction=direction, depth=depth)
        runs = reader.run_details([n.key for n in graph.distance if n.kind == "run"])
        artifacts = reader.artifact_details([n.key for n in graph.distance if n.kind == "artifact"])
        shown = [*runs, *(r["id"] for rec in runs.values() for r in rec.get("reproductions") or [])]
        shown += [
            of["original"] for rec in runs.values() if (of := rec["reproduction_of"]) is not None
        ]
        short = reader.abbreviations(shown)
        marks = reader.capture_marks(list(runs))  # how complete each run's file capture was
        # From a model version up, the parameters too: what the model was trained with.
        params = reader.params(list(runs)) if tgt.kind == "model" and direction == "up" else {}
        reviews = approvals_by_node(
            reader,
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
            if node.key in marks:
                item["capture"] = marks[node.key]
            if node.key in params:
                item["params"] = params[node.key]
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
