"""Exports and reports: ``tracker.reports``.

OpenLineage and W3C PROV exports, and the compliance report of a run.
"""

from __future__ import annotations

from pedigree.context import Context

__all__ = ["ReportsAPI"]


class ReportsAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
