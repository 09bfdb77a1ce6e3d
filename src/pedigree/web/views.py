"""What each page of the web UI shows, as plain JSON-able data.

Every view is a function of a :class:`~pedigree.api.Tracker` and the page's query; the HTML page
renders its result with a template and the JSON route (``/api/v1/ui/...``) returns it as it is,
so the browser view and the API answer come from the same facade calls and the UI holds no logic
that the API lacks. Nothing here reads the store directly: everything goes through the Tracker.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from pedigree.api import Tracker
from pedigree.errors import InvalidInput

__all__ = [
    "PAGE_SIZE",
    "approvals",
    "audit",
    "compare",
    "compare_metrics",
    "dataset",
    "datasets",
    "experiments",
    "lineage",
    "run",
    "run_metrics",
    "runs",
    "sweep",
    "sweep_chart",
]

PAGE_SIZE = 50
MAX_COMPARE = 12
_BUILTIN_COLUMNS = ("status", "user", "commit", "approval")


def _json(value: Any) -> Any:
    """A dataclass (as some facade calls return) as the dict its ``to_json`` or fields give."""
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _approval(rec: dict[str, Any]) -> str:
    """The latest decision on a run, or ``pending`` (the column the runs table shows)."""
    found = rec.get("approvals") or []
    return str(found[-1].get("decision", "pending")) if found else "pending"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


# -- runs ---------------------------------------------------------------------------------------


def experiments(tracker: Tracker) -> dict[str, Any]:
    """Every experiment with its number of runs and its latest start."""
    found: dict[str, dict[str, Any]] = {}
    for rec in tracker.runs(kinds=["run", "sweep", "reproduction"]):
        row = found.setdefault(
            rec["experiment"], {"name": rec["experiment"], "runs": 0, "latest": None}
        )
        row["runs"] += 1
        if row["latest"] is None or (rec["started_at"] or "") > row["latest"]:
            row["latest"] = rec["started_at"]
    return {"experiments": sorted(found.values(), key=lambda r: r["name"])}


def runs(
    tracker: Tracker,
    *,
    experiment: str | None = None,
    where: str | None = None,
    order_by: str | None = None,
    columns: Sequence[str] = (),
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> dict[str, Any]:
    """A page of the runs table: the runs ``pedigree runs`` would list (same ``--where`` and
    ``--order-by`` language, same errors), the columns asked for (``params.X``/``metrics.X``;
    default: every param and metric of the page), and what the column chooser offers."""
    if page < 1:
        raise InvalidInput("page must be at least 1")
    for col in columns:
        if not col.startswith(("params.", "metrics.")) or len(col.split(".", 1)[1]) == 0:
            raise InvalidInput(f"unknown column {col!r}: use params.NAME or metrics.NAME")
    records = tracker.runs(
        experiment=experiment or None,
        where=where or None,
        order_by=order_by or None,
        limit=page * page_size + 1,
    )
    start = (page - 1) * page_size
    shown = records[start : start + page_size]
    params = sorted({k for r in records for k in r["params"]})
    metrics = sorted({k for r in records for k in r["metrics"]})
    chosen = list(columns) or [f"params.{k}" for k in params] + [f"metrics.{k}" for k in metrics]
    rows = []
    for rec in shown:
        values = {}
        for col in chosen:
            space, _, key = col.partition(".")
            values[col] = rec[space].get(key)
        rows.append(
            {
                "id": rec["id"],
                "short": rec["id"][:11],
                "experiment": rec["experiment"],
                "name": rec["name"],
                "kind": rec["kind"],
                "status": rec["status"],
                "user": rec["user"],
                "commit": (rec["code"] or {}).get("commit"),
                "started_at": rec["started_at"],
                "duration": rec["duration"],
                "approval": _approval(rec),
                "values": values,
            }
        )
    return {
        "experiment": experiment or None,
        "where": where or None,
        "order_by": order_by or None,
        "columns": chosen,
        "available": {"params": params, "metrics": metrics},
        "page": page,
        "page_size": page_size,
        "has_next": len(records) > start + page_size,
        "runs": rows,
    }


def run(tracker: Tracker, ref: str) -> dict[str, Any]:
    """Everything known of one run (``pedigree show --json``), with its stdout/stderr, the
    uncommitted patch, the dataset versions of its inputs and outputs and its sweep."""
    rec = tracker.get_run(ref)
    text = {}
    for which in ("stdout", "stderr"):
        blob = tracker.read_blob(rec.get(f"{which}_digest"))
        text[which] = blob[-200_000:].decode("utf-8", "replace")
    patch = tracker.read_blob((rec.get("code") or {}).get("patch_digest"))
    sweep_id = rec["parent"] if rec.get("parent") else None
    if rec.get("selection") and rec["selection"].get("sweep"):
        sweep_id = rec["selection"]["sweep"]
    return {
        "run": rec,
        "stdout": text["stdout"],
        "stderr": text["stderr"],
        "patch": patch.decode("utf-8", "replace"),
        "sweep": sweep_id if rec["kind"] != "sweep" else rec["id"],
        "approval": _approval(rec),
    }


def _chart(
    key: str, series: list[tuple[str, Sequence[Any], Sequence[Any]]], x: str
) -> dict[str, Any]:
    """One chart: a line per series, each as columns ``x`` and ``y`` (what uPlot draws)."""
    return {
        "key": key,
        "x": x,
        "series": [{"label": label, "x": list(xs), "y": list(ys)} for label, xs, ys in series],
    }


def run_metrics(tracker: Tracker, ref: str) -> dict[str, Any]:
    """The run's metric histories as chart data: one chart per metric, x = step."""
    run_id = tracker.resolve(ref)
    history = tracker.metric_columns(run_id)
    charts = [
        _chart(key, [(run_id[:11], steps, values)], "step")
        for key, (steps, values) in sorted(history.items())
    ]
    return {"run": run_id, "charts": charts}


# -- comparing ----------------------------------------------------------------------------------


def _refs(refs: Sequence[str]) -> list[str]:
    found = [r for r in refs if r]
    if not 2 <= len(found) <= MAX_COMPARE:
        raise InvalidInput(f"compare needs 2 to {MAX_COMPARE} runs (got {len(found)})")
    return found


def compare(tracker: Tracker, refs: Sequence[str]) -> dict[str, Any]:
    """Runs side by side: params and metrics with the rows that differ marked, and what
    ``pedigree diff`` reports between the first run and each other (code, data, environment)."""
    records = [tracker.get_run(r) for r in _refs(refs)]

    def table(space: str) -> list[dict[str, Any]]:
        keys = sorted({k for r in records for k in r[space]})
        rows = []
        for key in keys:
            values = [r[space].get(key) for r in records]
            rows.append({"key": key, "values": values, "differs": len(set(map(repr, values))) > 1})
        return rows

    first = records[0]["id"]
    diffs = [tracker.lineage.diff(first, r["id"]) for r in records[1:]]
    return {
        "runs": [
            {
                "id": r["id"],
                "short": r["id"][:11],
                "name": r["name"],
                "experiment": r["experiment"],
                "status": r["status"],
            }
            for r in records
        ],
        "params": table("params"),
        "metrics": table("metrics"),
        "diffs": diffs,
    }


def compare_metrics(tracker: Tracker, refs: Sequence[str]) -> dict[str, Any]:
    """The runs' metric histories overlaid: one chart per metric, one line per run."""
    ids = [tracker.resolve(r) for r in _refs(refs)]
    histories = {run_id: tracker.metric_columns(run_id) for run_id in ids}
    keys = sorted({k for h in histories.values() for k in h})
    charts = [
        _chart(
            key, [(run_id[:11], *histories[run_id].get(key, ([], []))) for run_id in ids], "step"
        )
        for key in keys
    ]
    return {"runs": ids, "charts": charts}


# -- sweeps -------------------------------------------------------------------------------------


def sweep(tracker: Tracker, ref: str) -> dict[str, Any]:
    """The sweep's trials (best first), its best trial, its failed trials and its spec."""
    report = _json(tracker.sweeps.show(ref))
    trials = report.get("trials", [])
    metric = (report.get("spec") or {}).get("metric")
    finished = [t for t in trials if t.get("status") == "finished"]
    return {
        **report,
        "metric": metric,
        "swept": sorted((report.get("spec") or {}).get("params", {})),
        "best": finished[0] if finished and metric else None,
        "failed": [t for t in trials if t.get("status") != "finished"],
    }


def sweep_chart(tracker: Tracker, ref: str) -> dict[str, Any]:
    """The target metric against each swept parameter, one line per value of another one."""
    data = sweep(tracker, ref)
    metric = data["metric"]
    swept: list[str] = data["swept"]
    charts = []
    for x in swept:
        others = [p for p in swept if p != x]
        group_by = others[0] if others else None
        lines: dict[str, list[list[Any]]] = {}
        for trial in data.get("trials", []):
            xv = _number(trial["params"].get(x))
            yv = _number(trial["metrics"].get(metric)) if metric else None
            if xv is None:
                continue
            label = f"{group_by}={trial['params'].get(group_by)}" if group_by else str(metric)
            lines.setdefault(label, []).append([xv, yv])
        series: list[tuple[str, Sequence[Any], Sequence[Any]]] = []
        for label, points in sorted(lines.items()):
            ordered = sorted(points, key=lambda p: p[0])
            series.append((label, [p[0] for p in ordered], [p[1] for p in ordered]))
        charts.append(_chart(f"{metric} by {x}", series, x))
    return {"sweep": data["sweep"]["id"], "charts": charts}


# -- lineage and data ---------------------------------------------------------------------------


def _node_id(node: dict[str, Any]) -> str:
    return f"{node['kind']}:{node['id']}"


def _node_url(node: dict[str, Any]) -> str:
    if node["kind"] == "run":
        return f"/runs/{node['id']}"
    datasets = node.get("datasets") or []
    if datasets:
        return f"/datasets/{datasets[0].split('@')[0]}"
    return f"/lineage?target={node['id']}"


def _node_label(node: dict[str, Any]) -> str:
    if node["kind"] == "run":
        return str(node.get("name") or node.get("short") or node["id"][:11])
    datasets = node.get("datasets") or []
    paths = node.get("paths") or []
    return str(datasets[0] if datasets else paths[0] if paths else node["id"][:19])


def lineage(
    tracker: Tracker, target: str, *, depth: int | None = None, direction: str = "both"
) -> dict[str, Any]:
    """The graph upstream and downstream of ``target`` (a run, ``NAME@vN``, a digest, a path or
    a model) as nodes and edges for the graph view, each node with the page it opens; the
    results ``impact`` finds stale are marked."""
    if direction not in ("up", "down", "both"):
        raise InvalidInput("direction must be up, down or both")
    parts = []
    for way in ("up", "down") if direction == "both" else (direction,):
        parts.append(tracker.lineage.graph(target, direction=way, depth=depth))
    stale: set[str] = set()
    try:
        found = tracker.lineage.impact(target)
    except InvalidInput:
        found = {}
    for item in found.get("runs", []):
        if item.get("stale"):
            stale.add(f"run:{item['id']}")
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[str, dict[str, Any]] = {}
    for part in parts:
        for node in part["nodes"]:
            key = _node_id(node)
            nodes[key] = {
                "id": key,
                "kind": node["kind"],
                "label": _node_label(node),
                "url": _node_url(node),
                "status": node.get("status"),
                "root": bool(node.get("root")),
                "stale": key in stale,
                "ref": node["id"],
            }
        for edge in part["edges"]:
            a, b = _node_id(edge["from"]), _node_id(edge["to"])
            edges[f"{a}>{b}:{edge['rel']}"] = {
                "id": f"{a}>{b}:{edge['rel']}",
                "source": a,
                "target": b,
                "rel": edge["rel"],
                "path": edge.get("path"),
            }
    return {
        "target": parts[0]["target"],
        "nodes": list(nodes.values()),
        "edges": [e for e in edges.values() if e["source"] in nodes and e["target"] in nodes],
        "stale": sorted(stale),
    }


def datasets(tracker: Tracker) -> dict[str, Any]:
    """The latest version of every dataset."""
    return {"datasets": [_json(v) for v in tracker.data.ls()]}


def dataset(
    tracker: Tracker, name: str, *, old: str | None = None, new: str | None = None
) -> dict[str, Any]:
    """A dataset's versions, the runs that read each, and the diff between two of them."""
    versions = [_json(v) for v in tracker.data.log(name)]
    if not versions:
        raise InvalidInput(f"no dataset named {name!r}")
    for v in versions:
        ref = f"{name}@v{v['version']}"
        down = tracker.lineage.down(ref, depth=1)
        v["ref"] = ref
        v["readers"] = [
            {"id": n["id"], "short": n["id"][:11], "name": n.get("name"), "status": n["status"]}
            for n in down["nodes"]
            if n["kind"] == "run" and not n.get("root")
        ]
    diff = None
    if old and new:
        diff = _json(tracker.data.diff(old, new))
    elif len(versions) > 1:
        old, new = versions[-2]["ref"], versions[-1]["ref"]
        diff = _json(tracker.data.diff(old, new))
    return {"name": name, "versions": versions, "old": old, "new": new, "diff": diff}


# -- audit and approvals ------------------------------------------------------------------------


def audit(
    tracker: Tracker,
    *,
    actor: str | None = None,
    kind: str | None = None,
    since: float | None = None,
    limit: int = 500,
) -> dict[str, Any]:
    """The event log filtered by actor, kind and time (newest last) and the chain's head."""
    found = tracker.audit.log(actor=actor or None, since=since, limit=None if kind else limit)
    if kind:
        found = [e for e in found if e["kind"] == kind or e["kind"].startswith(f"{kind}.")]
        found = found[-limit:]
    return {
        "anchor": tracker.audit.anchor(),
        "actor": actor or None,
        "kind": kind or None,
        "since": since,
        "events": found,
    }


def approvals(tracker: Tracker, *, experiment: str | None = None) -> dict[str, Any]:
    """Finished runs with their approval state, undecided first."""
    records = tracker.runs(experiment=experiment or None, where="status = 'finished'")
    rows = [
        {
            "id": r["id"],
            "short": r["id"][:11],
            "experiment": r["experiment"],
            "name": r["name"],
            "user": r["user"],
            "approval": _approval(r),
            "approvals": r.get("approvals") or [],
        }
        for r in records
    ]
    rows.sort(key=lambda r: r["approval"] != "pending")
    return {"runs": rows}
