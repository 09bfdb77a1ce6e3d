"""Lineage, impact and comparisons: ``tracker.lineage``.

upstream/downstream walks, impact of a changed input, run diff.
"""

from __future__ import annotations

from pedigree.context import Context

__all__ = ["LineageAPI"]


class LineageAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
