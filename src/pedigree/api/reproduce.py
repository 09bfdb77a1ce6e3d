"""Verified reproduction: ``tracker.reproduce``.

Re-run a recorded run from its exact code, inputs and environment, and record the verdict.
"""

from __future__ import annotations

from pedigree.context import Context

__all__ = ["ReproduceAPI"]


class ReproduceAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
