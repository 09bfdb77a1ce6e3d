"""Reads over approvals, reproductions and sweeps: one part of the store's read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`.

>>> from pedigree.store.sql import open_store
>>> with open_store("sqlite://").read() as reader:
...     reader.sweep_spec("0190e0a0-0000-7000-8000-000000000001"), reader.run_approvals(["x"])
(None, [])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pedigree.store import schema as t
from pedigree.store.reads import chunked

__all__ = ["Approval", "Reproduction", "ReviewReads", "RunFile"]


@dataclass(frozen=True, slots=True)
class Approval:
    """A review; ``target`` is the run id, or the digest of the artifact version reviewed (a
    dataset version's review counts for the artifact its digest names)."""

    target: str
    decision: str
    note: str | None
    actor: str
    at: float


@dataclass(frozen=True, slots=True)
class Reproduction:
    """A reproduction run, the run it reproduced and its verdict, with when it ran."""

    run_id: str
    original_id: str
    verdict: str
    started_at: float
    ended_at: float | None


@dataclass(frozen=True, slots=True)
class RunFile:
    """An input or output of a run."""

    role: str  # input | output
    path: str  # project-relative
    digest: str
    kind: str  # file | dir | symlink
    size: int


class ReviewReads:
    conn: Connection

    # -- sweeps ----------------------------------------------------------------------------------

    def sweep_spec(self, sweep_id: str) -> dict[str, Any] | None:
        """The spec a sweep was run with (``SweepSpec.to_json``), or None for another run."""
        text = self.conn.execute(
            sa.select(t.sweeps.c.spec).where(t.sweeps.c.run_id == sweep_id)
        ).scalar()
        return None if text is None else dict(json.loads(text))

    def runs_on_same_inputs(
        self, run_id: str, *, kinds: Sequence[str] = ("run",)
    ) -> dict[str, str | None]:
        """The other runs of ``run_id``'s experiment (of these ``kinds``) that read the same set of
        input digests, by id, with their parent (a sweep's trials have the sweep as parent).

        The same *set*: a run that read one more or one fewer input version does not count; two
        runs with no recorded input count as on the same (no) data.
        """
        r, io = t.runs.c, t.run_io.c
        experiment = self.conn.execute(sa.select(r.experiment).where(r.id == run_id)).scalar()
        if experiment is None:
            return {}
        rows = self.conn.execute(
            sa.select(r.id, r.parent_id, io.digest)
            .select_from(t.runs.outerjoin(t.run_io, sa.and_(io.run_id == r.id, io.role == "input")))
            .where(r.experiment == experiment, sa.or_(r.kind.in_(list(kinds)), r.id == run_id))
        )
        digests: dict[str, set[str]] = {}
        parents: dict[str, str | None] = {}
        for row in rows:
            parents[row.id] = row.parent_id
            found = digests.setdefault(row.id, set())
            if row.digest is not None:
                found.add(row.digest)
        mine = digests.get(run_id, set())
        return {
            rid: parents[rid] for rid, ds in sorted(digests.items()) if rid != run_id and ds == mine
        }

    # -- reproductions ---------------------------------------------------------------------------

    def run_files(self, run_id: str) -> list[RunFile]:
        """A run's inputs and outputs, by role then path (what a reproduction restores and
        compares)."""
        io = t.run_io.c
        rows = self.conn.execute(
            sa.select(io.role, io.path, io.digest, io.kind, io.size)
            .where(io.run_id == run_id)
            .order_by(io.role, io.path)
        )
        return [RunFile(r.role, r.path, r.digest, r.kind, r.size) for r in rows]

    def tree_files(self, digests: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """The ``(path, digest)`` files of each folder digest, by path."""
        te = t.tree_entries.c
        out: dict[str, list[tuple[str, str]]] = {}
        for chunk in chunked(digests):
            for row in self.conn.execute(
                sa.select(te.tree_digest, te.path, te.digest)
                .where(te.tree_digest.in_(chunk))
                .order_by(te.tree_digest, te.path)
            ):
                out.setdefault(row.tree_digest, []).append((row.path, row.digest))
        return out

    def reproductions(self, run_ids: Sequence[str]) -> list[Reproduction]:
        """The reproductions of these runs, and those these runs are, by reproduction id."""
        rp, r = t.reproductions.c, t.runs.c
        out: list[Reproduction] = []
        for chunk in chunked(run_ids):
            rows = self.conn.execute(
                sa.select(rp.run_id, rp.original_id, rp.verdict, r.started_at, r.ended_at)
                .select_from(t.reproductions.join(t.runs, r.id == rp.run_id))
                .where(sa.or_(rp.original_id.in_(chunk), rp.run_id.in_(chunk)))
                .order_by(rp.run_id)
            )
            out += [
                Reproduction(row.run_id, row.original_id, row.verdict, row.started_at, row.ended_at)
                for row in rows
            ]
        return out

    def reproduction_details(self, original_id: str) -> dict[str, dict[str, Any]]:
        """What each reproduction of ``original_id`` compared, by reproduction run id."""
        rp = t.reproductions.c
        rows = self.conn.execute(
            sa.select(rp.run_id, rp.details).where(rp.original_id == original_id)
        )
        return {row.run_id: json.loads(row.details) for row in rows}

    # -- approvals -------------------------------------------------------------------------------

    def run_approvals(self, run_ids: Sequence[str]) -> list[Approval]:
        """The reviews of these runs, oldest first within each batch of runs."""
        a = t.approvals.c
        out: list[Approval] = []
        for chunk in chunked(run_ids):
            rows = self.conn.execute(
                sa.select(a.target, a.decision, a.note, a.actor, a.at)
                .where(a.target_type == "run", a.target.in_(chunk))
                .order_by(a.at, a.id)
            )
            out += [Approval(r.target, r.decision, r.note, r.actor, r.at) for r in rows]
        return out

    def artifact_approvals(self, digests: Sequence[str]) -> list[Approval]:
        """The reviews of these artifact versions, direct or of a dataset version naming one,
        oldest first within each batch of digests; ``target`` is the digest."""
        a, ds = t.approvals.c, t.datasets.c
        label = ds.name + sa.literal("@v") + sa.cast(ds.version, sa.String)
        out: list[Approval] = []
        for chunk in chunked(digests):
            direct = sa.select(
                a.target.label("digest"), a.decision, a.note, a.actor, a.at, a.id
            ).where(a.target_type == "artifact", a.target.in_(chunk))
            via_dataset = (
                sa.select(ds.digest.label("digest"), a.decision, a.note, a.actor, a.at, a.id)
                .select_from(t.approvals.join(t.datasets, a.target == label))
                .where(a.target_type == "dataset", ds.digest.in_(chunk))
            )
            union = sa.union_all(direct, via_dataset).subquery()
            rows = self.conn.execute(sa.select(union).order_by(union.c.at, union.c.id))
            out += [Approval(r.digest, r.decision, r.note, r.actor, r.at) for r in rows]
        return out
