"""Exports and reports: ``tracker.reports``.

OpenLineage and W3C PROV exports, and the compliance report of a run.

>>> import tempfile
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> tracker = Tracker(init_project(tempfile.mkdtemp())[0])
>>> run_id = tracker.create_run(experiment="ma-crossover")
>>> [e["eventType"] for e in tracker.reports.export(run="last")]
['START']
>>> sorted(tracker.reports.export(experiment="ma-crossover", fmt="prov"))[:3]
['activity', 'agent', 'prefix']
>>> tracker.reports.html("last").startswith("<!DOCTYPE html>")
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.context import Context

if TYPE_CHECKING:
    from pedigree.audit.check import ProgressFn

__all__ = ["ReportsAPI"]


class ReportsAPI:
    """What ``pedigree export`` and ``pedigree report`` produce."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def export(
        self,
        *,
        run: str | None = None,
        experiment: str | None = None,
        fmt: str = "openlineage",
        namespace: str | None = None,
    ) -> Any:
        """One run, or every run of an experiment (oldest first): a list of OpenLineage run
        events (``fmt="openlineage"``) or one W3C PROV-JSON document (``fmt="prov"``)."""
        from pedigree.export import export

        return export(self._ctx, run=run, experiment=experiment, fmt=fmt, namespace=namespace)

    def emit(self, url: str, events: list[dict[str, Any]], *, timeout: float = 30.0) -> int:
        """POST OpenLineage events to ``{url}/api/v1/lineage`` (Marquez or any collector);
        returns how many were accepted."""
        from pedigree.export.openlineage import emit

        return emit(url, events, timeout=timeout)

    def html(self, ref: str, *, verify: bool = True, progress: ProgressFn | None = None) -> str:
        """The compliance report on run ``ref`` as one self-contained HTML document; with
        ``verify`` the whole audit log is checked first (``AuditError`` when it fails)."""
        from pedigree.report import build_report

        return build_report(self._ctx, ref, verify=verify, progress=progress)

    def write(
        self,
        ref: str,
        path: str | os.PathLike[str],
        *,
        verify: bool = True,
        progress: ProgressFn | None = None,
    ) -> Path:
        """Write the compliance report on run ``ref`` to ``path`` (atomically: a failed report
        leaves no file behind); returns the path written."""
        from pedigree.report import write_report

        return write_report(self._ctx, ref, path, verify=verify, progress=progress)
