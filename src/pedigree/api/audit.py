"""The tamper-evident record: ``tracker.audit``.

Verify the log and the tables, take an anchor, read the log, approve and reject.

>>> import tempfile
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> from pedigree.context import Actor
>>> tracker = Tracker(init_project(tempfile.mkdtemp())[0], actor=Actor("maria"))
>>> run_id = tracker.create_run(experiment="ma-crossover")
>>> tracker.audit.approve(run_id, note="holds out of sample")["decision"]
'approved'
>>> [e["kind"] for e in tracker.audit.log(run=run_id)]
['run.created', 'approval.recorded']
>>> report = tracker.audit.verify()
>>> report.ok, report.events
(True, 2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.context import Context

if TYPE_CHECKING:
    from pedigree.audit.check import ProgressFn
    from pedigree.audit.verify import Report

__all__ = ["AuditAPI"]


class AuditAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def verify(
        self,
        *,
        anchor: str | None = None,
        progress: ProgressFn | None = None,
        max_problems: int = 50,
        tables: bool = True,
    ) -> Report:
        """Check the hash chain and that every table agrees with the log (``report.ok``).

        Reads only: verifying leaves no trace in the record. See
        :func:`pedigree.audit.verify.verify`.
        """
        from pedigree.audit.verify import verify

        return verify(
            self._ctx.store,
            anchor=anchor,
            progress=progress,
            max_problems=max_problems,
            tables=tables,
        )

    def anchor(self) -> dict[str, Any]:
        """The head of the log ({seq, digest, at}), to keep outside the store."""
        from pedigree.audit.log import head

        remote = self._ctx.remote
        if remote is not None:  # the team server reads its own log
            answer: dict[str, Any] = remote.call("GET", "/api/v1/audit/anchor")
            return answer
        with self._ctx.read() as reader:
            return head(reader)

    def log(
        self,
        *,
        run: str | None = None,
        actor: str | None = None,
        since: float | None = None,
        limit: int | None = None,
        payload: bool = False,
    ) -> list[dict[str, Any]]:
        """The events of the log, oldest first: those of the run ``run`` (id, prefix or
        ``last``), recorded by ``actor``, from ``since`` (epoch seconds) on, the last
        ``limit``; ``payload`` adds each event's decoded payload."""
        from pedigree.audit.log import events

        remote = self._ctx.remote
        if remote is not None:  # the team server reads its own log
            query = {"run": run, "actor": actor, "since": since, "limit": limit}
            found: list[dict[str, Any]] = remote.call(
                "POST", "/api/v1/audit/log", {**query, "payload": payload}
            )
            return found
        with self._ctx.read() as reader:
            run_id = reader.resolve_run(run) if run is not None else None
            from pedigree.identity.records import annotate_events

            logged = events(
                reader, run_id=run_id, actor=actor, since=since, limit=limit, payload=payload
            )
            return annotate_events(reader, logged)

    def review(
        self,
        target: str,
        decision: str,
        *,
        note: str | None = None,
        override: str | None = None,
    ) -> dict[str, Any]:
        """Record ``decision`` (approved or rejected) on a run, a dataset version ``NAME@vN`` or
        an artifact version ``blake3:<digest>``; returns the approval as stored. ``override``:
        the reason to approve a sweep winner below ``[approvals] min_dsr`` (else ``Conflict``)."""
        from pedigree.audit.approvals import review

        return review(self._ctx, target, decision, note=note, override=override)

    def approve(
        self, target: str, *, note: str | None = None, override: str | None = None
    ) -> dict[str, Any]:
        return self.review(target, "approved", note=note, override=override)

    def dsr_policy(self, target: str) -> dict[str, Any] | None:
        """What ``[approvals] min_dsr`` says of approving ``target`` (None: it does not apply);
        see :func:`pedigree.audit.approvals.dsr_policy`."""
        from pedigree.audit.approvals import dsr_policy

        return dsr_policy(self._ctx, target)

    def reject(self, target: str, *, note: str | None = None) -> dict[str, Any]:
        return self.review(target, "rejected", note=note)
