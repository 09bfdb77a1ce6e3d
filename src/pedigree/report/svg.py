"""Inline SVG for the report: the lineage diagram, metric sparklines and the PBO logit histogram.
No script, no fonts.

The diagram lays a lineage report (``pedigree.lineage.report.lineage_report``) out in columns by
distance from the run, data flowing left to right: the oldest ancestors on the left, the run,
then what it produced on the right.

>>> run = {"kind": "run", "id": "0193a5c2-0000-7000-8000-000000000001", "name": "train",
...        "experiment": "ma-crossover", "status": "finished", "distance": 0, "root": True}
>>> svg, left_out = lineage_svg({"nodes": [run], "edges": []}, outputs=[], reviews={})
>>> svg.startswith("<svg"), left_out
(True, 0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["MAX_NODES", "lineage_svg", "logit_histogram_svg", "sparkline"]

MAX_NODES = 80
_W, _H = 250, 44  # node box
_GAP_X, _GAP_Y, _PAD = 80, 14, 12
_CHARS = 36  # what fits on a line of the box at 11px monospace


def _clip(text: str, n: int = _CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _short(digest: str | None) -> str:
    if not digest:
        return ""
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:12]}" if hexpart else digest[:19]


def _lines(node: dict[str, Any]) -> tuple[str, str]:
    if node["kind"] == "run":
        title = f"run {node.get('short') or node['id']}"
        if node.get("name") or node.get("experiment"):
            title += f" {node.get('name') or ''} ({node.get('experiment') or ''})"
        commit = (node.get("code") or {}).get("commit")
        sub = str(node.get("status") or "")
        if commit:
            sub += f"  code {commit[:10]}"
        return title, sub
    paths = node.get("paths") or []
    datasets = node.get("datasets") or []
    title = paths[0] if paths else (datasets[0] if datasets else "artifact")
    sub = _short(node.get("digest") or node.get("id"))
    if datasets and paths:
        sub += "  " + ", ".join(datasets)
    return title, sub


def lineage_svg(
    report: dict[str, Any],
    *,
    outputs: Sequence[dict[str, Any]] = (),
    reviews: dict[tuple[str, str], list[dict[str, Any]]] | None = None,
) -> tuple[str, int]:
    """The diagram, and how many nodes were left out to keep it readable."""
    reviews = reviews or {}
    nodes: dict[tuple[str, str], dict[str, Any]] = {}
    column: dict[tuple[str, str], int] = {}
    for n in sorted(report["nodes"], key=lambda n: (n.get("distance", 0), n["kind"], n["id"])):
        if len(nodes) >= MAX_NODES:
            break
        key = (n["kind"], n["id"])
        nodes[key] = n
        column[key] = -int(n.get("distance", 0))
    edges = [
        ((e["from"]["kind"], e["from"]["id"]), (e["to"]["kind"], e["to"]["id"]), e["rel"])
        for e in report["edges"]
    ]
    roots = [k for k, n in nodes.items() if n.get("root")]
    for out in outputs:
        key = ("artifact", out["digest"])
        if key not in nodes and len(nodes) < MAX_NODES:
            nodes[key] = {
                "kind": "artifact",
                "id": out["digest"],
                "digest": out["digest"],
                "paths": [out["path"]],
            }
            column[key] = 1
        for root in roots:
            edges.append((root, key, "generated"))
    left_out = max(0, len(report["nodes"]) + len(outputs) - len(nodes))
    if not nodes:
        return "", left_out

    cols = sorted(set(column.values()))
    x_of = {c: _PAD + i * (_W + _GAP_X) for i, c in enumerate(cols)}
    by_col: dict[int, list[tuple[str, str]]] = {c: [] for c in cols}
    for key in nodes:
        by_col[column[key]].append(key)
    pos: dict[tuple[str, str], tuple[int, int]] = {}
    tallest = max(len(v) for v in by_col.values())
    for c, keys in by_col.items():
        keys.sort(key=lambda k: (k[0] != "run", _lines(nodes[k])[0]))
        top = _PAD + (tallest - len(keys)) * (_H + _GAP_Y) // 2
        for i, key in enumerate(keys):
            pos[key] = (x_of[c], top + i * (_H + _GAP_Y))
    width = _PAD * 2 + len(cols) * _W + (len(cols) - 1) * _GAP_X
    height = _PAD * 2 + tallest * _H + (tallest - 1) * _GAP_Y

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'aria-label="lineage diagram">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker></defs>',
    ]
    for src, dst, rel in edges:
        if src not in pos or dst not in pos:
            continue
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        if x1 <= x2:
            sx, sy, ex, ey = x1 + _W, y1 + _H // 2, x2, y2 + _H // 2
        else:  # against the flow (a reproduction, a cycle): from the left side
            sx, sy, ex, ey = x1, y1 + _H // 2, x2 + _W, y2 + _H // 2
        mid = (sx + ex) / 2
        dash = ' stroke-dasharray="5 3"' if rel == "reproduced" else ""
        parts.append(
            f'<path class="edge {escape(rel)}" d="M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}" '
            f'fill="none" stroke="#667" stroke-width="1.2"{dash} marker-end="url(#arrow)">'
            f"<title>{escape(rel)}</title></path>"
        )
    for key, node in nodes.items():
        x, y = pos[key]
        title, sub = _lines(node)
        is_run = node["kind"] == "run"
        fill = "#e8f0fe" if is_run else "#eef7ee"
        stroke = "#3b6fd8" if node.get("root") else ("#7a93c9" if is_run else "#76a276")
        width_px = 2.5 if node.get("root") else 1.2
        rx = 8 if is_run else 2
        parts.append(f'<g class="node {node["kind"]}">')
        parts.append(
            f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="{rx}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{width_px}"/>'
        )
        parts.append(
            f'<text x="{x + 8}" y="{y + 17}" font-family="monospace" font-size="11" '
            f'fill="#111">{escape(_clip(title))}</text>'
        )
        parts.append(
            f'<text x="{x + 8}" y="{y + 34}" font-family="monospace" font-size="10" '
            f'fill="#555">{escape(_clip(sub, _CHARS + 4))}</text>'
        )
        decided = reviews.get(key) or []
        if decided:
            last = decided[-1]["decision"]
            color = "#1a7f37" if last == "approved" else "#c62828"
            parts.append(
                f'<circle cx="{x + _W - 10}" cy="{y + 10}" r="6" fill="{color}">'
                f"<title>{escape(last)} by {escape(decided[-1]['actor'])}</title></circle>"
            )
        parts.append(f"<title>{escape(title)}\n{escape(sub)}</title></g>")
    parts.append("</svg>")
    return "".join(parts), left_out


def sparkline(values: Sequence[float | None], *, width: int = 140, height: int = 28) -> str:
    """A small line chart of a metric's values by step (NaN and infinities leave gaps)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if len(values) < 2 or not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = (hi - lo) or 1.0
    step = (width - 4) / (len(values) - 1)
    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            runs.append([])
            continue
        x = 2 + i * step
        y = height - 2 - (v - lo) / span * (height - 4)
        runs[-1].append(f"{x:.1f},{y:.1f}")
    lines = "".join(
        f'<polyline points="{" ".join(r)}" fill="none" stroke="#3b6fd8" stroke-width="1.2"/>'
        for r in runs
        if len(r) > 1
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">{lines}</svg>'
    )


def logit_histogram_svg(
    logits: Sequence[float], *, bins: int = 20, width: int = 420, height: int = 150
) -> str:
    """The distribution of the PBO's logits (one per CSCV split) as bars: the bars left of the
    dashed line at 0 are the splits where the in-sample best trial ranked below the median out of
    sample (their share is the PBO). Empty text without logits."""
    values = [v for v in logits if math.isfinite(v)]
    if not values:
        return ""
    lo, hi = min([*values, 0.0]), max([*values, 0.0])
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    span = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / span))] += 1
    top = max(counts)
    left, bottom, pad = 34, 22, 6
    plot_w, plot_h = width - left - pad, height - bottom - pad
    bar_w = plot_w / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="histogram" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" '
        'font-size="10">',
        f"<title>PBO logits: {len(values)} splits</title>",
    ]
    for i, c in enumerate(counts):
        if not c:
            continue
        h = c / top * plot_h
        x0 = left + i * bar_w
        below = lo + (i + 1) * span <= 0
        color = "#c62828" if below else "#3b6fd8"
        a, b = lo + i * span, lo + (i + 1) * span
        parts.append(
            f'<rect x="{x0 + 0.5:.1f}" y="{pad + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="{color}"><title>{c} split{"s" if c != 1 else ""}, '
            f"logit {a:.2f} to {b:.2f}</title></rect>"
        )
    zero = left + (0 - lo) / (hi - lo) * plot_w
    base = pad + plot_h
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#57606a"/>'
        f'<line x1="{zero:.1f}" y1="{pad}" x2="{zero:.1f}" y2="{base}" stroke="#1b1f24" '
        'stroke-dasharray="3,3"/>'
        f'<text x="{left}" y="{height - 8}" fill="#57606a">{lo:.2f}</text>'
        f'<text x="{left + plot_w}" y="{height - 8}" fill="#57606a" text-anchor="end">'
        f"{hi:.2f}</text>"
        f'<text x="{zero:.1f}" y="{height - 8}" text-anchor="middle">0</text>'
        f'<text x="{left - 4}" y="{pad + 8}" text-anchor="end" fill="#57606a">{top}</text>'
        f'<text x="{left - 4}" y="{base}" text-anchor="end" fill="#57606a">0</text>'
        "</svg>"
    )
    return "".join(parts)
