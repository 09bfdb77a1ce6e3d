"""Parameter sweeps: ``tracker.sweeps``.

run a sweep, its results, its plot.
"""

from __future__ import annotations

from pedigree.context import Context

__all__ = ["SweepsAPI"]


class SweepsAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
