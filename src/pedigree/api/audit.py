"""The tamper-evident record: ``tracker.audit``.

verify, anchors, the event log, approvals and rejections, the compliance report.
"""

from __future__ import annotations

from pedigree.context import Context

__all__ = ["AuditAPI"]


class AuditAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
