"""Lineage, impact and comparisons: ``tracker.lineage``.

upstream/downstream walks, impact of a changed input, run diff.

>>> import tempfile
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> tracker = Tracker(init_project(tempfile.mkdtemp())[0])
>>> run_id = tracker.create_run(experiment="ma-crossover")
>>> [n["kind"] for n in tracker.lineage.up("last")["nodes"]]
['run']
>>> tracker.lineage.impact("last")["summary"]["runs"]
0
>>> tracker.lineage.diff("last", "last")["same"]
True
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pedigree.context import Context

__all__ = ["LineageAPI"]


class LineageAPI:
    """What ``pedigree lineage``, ``pedigree impact`` and ``pedigree diff`` report.

    A target is a run (full id, unique prefix or ``last``), a path in the project, a dataset
    version ``NAME@vN`` or a digest ``blake3:<hex>``. The results are the JSON-ready dicts the
    commands print with ``--json``.
    """

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def graph(
        self,
        target: str,
        *,
        direction: Literal["up", "down"] = "up",
        depth: int | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        """Everything upstream (``up``) or downstream (``down``) of ``target``, ``depth`` steps
        deep (default: all the way); relative paths are taken from ``cwd``."""
        from pedigree.lineage.report import lineage_report

        return lineage_report(self._ctx, target, direction=direction, depth=depth, cwd=cwd)

    def up(self, target: str, *, depth: int | None = None) -> dict[str, Any]:
        """What ``target`` came from: its code, data, environment and the runs before it."""
        return self.graph(target, direction="up", depth=depth)

    def down(self, target: str, *, depth: int | None = None) -> dict[str, Any]:
        """What was made from ``target``."""
        return self.graph(target, direction="down", depth=depth)

    def impact(self, target: str, *, cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """Every run, artifact version and reported metric downstream of ``target``; for a path,
        also the reads of bytes no longer there (stale) and what was made from them."""
        from pedigree.lineage.impact import impact_report

        return impact_report(self._ctx, target, cwd=cwd)

    def diff(self, a: str, b: str) -> dict[str, Any]:
        """What differs between runs ``a`` and ``b``: code, data, environment, params, seed,
        command and metrics."""
        from pedigree.lineage.diff import diff_runs

        return diff_runs(self._ctx, a, b)
