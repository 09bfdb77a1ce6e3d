"""Datasets and stored artifacts: ``tracker.data``.

add, ls, log, show, diff, checkout, verify of dataset versions; reading a stored blob.
"""

from __future__ import annotations

from pedigree.context import Context

__all__ = ["DataAPI"]


class DataAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
