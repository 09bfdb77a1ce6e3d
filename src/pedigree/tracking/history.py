"""Metric histories: every logged point of a run's metrics, not only the latest.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking import recording
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> run_id = recording.create_run(ctx, experiment="e")
>>> recording.log_metrics(ctx, run_id, [["pnl", 0, 1.5, 10.0], ["pnl", 1, None, 11.0]])
>>> [(p["step"], p["value"]) for p in metric_history(ctx, "last", ["pnl"])["pnl"]]
[(0, 1.5), (1, None)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pedigree.errors import NotFound
from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.context import Context

__all__ = ["metric_history"]


def metric_history(
    ctx: Context, run: str, keys: Sequence[str] = ()
) -> dict[str, list[dict[str, Any]]]:
    """``{key: [{"step", "value", "time"}, ...]}`` of ``run`` (every metric, or ``keys``), by
    step then logging order; NaN is ``None``. An unknown key is ``NotFound``."""
    with ctx.read() as reader:
        run_id = reader.resolve_run(run)
        points = reader.metric_history(run_id)
    out: dict[str, list[dict[str, Any]]] = {}
    for key, step, value, ts in points:
        out.setdefault(key, []).append(
            {"step": step, "value": None if math.isnan(value) else value, "time": iso(ts)}
        )
    if keys:
        missing = [k for k in keys if k not in out]
        if missing:
            known = ", ".join(sorted(out)) or "none"
            raise NotFound(f"run {run_id} logged no metric {missing[0]!r} (its metrics: {known})")
        out = {k: out[k] for k in dict.fromkeys(keys)}
    return out
