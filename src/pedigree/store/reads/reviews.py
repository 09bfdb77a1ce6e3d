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

from pedigree.store.db import Db, in_list
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
    db: Db

    # -- sweeps ----------------------------------------------------------------------------------

    def sweep_spec(self, sweep_id: str) -> dict[str, Any] | None:
        """The spec a sweep was run with (``SweepSpec.to_json``), or None for another run."""
        text = self.db.scalar("SELECT spec FROM sweeps WHERE run_id = :id", {"id": sweep_id})
        return None if text is None else dict(json.loads(text))

    def runs_on_same_inputs(
        self, run_id: str, *, kinds: Sequence[str] = ("run",)
    ) -> dict[str, str | None]:
        """The other runs of ``run_id``'s experiment (of these ``kinds``) that read the same set of
        input digests, by id, with their parent (a sweep's trials have the sweep as parent).

        The same *set*: a run that read one more or one fewer input version does not count; two
        runs with no recorded input count as on the same (no) data.
        """
        experiment = self.db.scalar("SELECT experiment FROM runs WHERE id = :id", {"id": run_id})
        if experiment is None:
            return {}
        condition, params = in_list("r.kind", list(kinds), "k")
        rows = self.db.rows(
            "SELECT r.id, r.parent_id, io.digest FROM runs r"
            " LEFT OUTER JOIN run_io io ON io.run_id = r.id AND io.role = 'input'"
            f" WHERE r.experiment = :e AND ({condition} OR r.id = :id)",
            {**params, "e": experiment, "id": run_id},
        )
        digests: dict[str, set[str]] = {}
        parents: dict[str, str | None] = {}
        for rid, parent, digest in rows:
            parents[rid] = parent
            found = digests.setdefault(rid, set())
            if digest is not None:
                found.add(digest)
        mine = digests.get(run_id, set())
        return {
            rid: parents[rid] for rid, ds in sorted(digests.items()) if rid != run_id and ds == mine
        }

    # -- reproductions ---------------------------------------------------------------------------

    def run_files(self, run_id: str) -> list[RunFile]:
        """A run's inputs and outputs, by role then path (what a reproduction restores and
        compares)."""
        rows = self.db.rows(
            "SELECT role, path, digest, kind, size FROM run_io WHERE run_id = :id"
            " ORDER BY role, path",
            {"id": run_id},
        )
        return [RunFile(*r) for r in rows]

    def tree_files(self, digests: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """The ``(path, digest)`` files of each folder digest, by path."""
        out: dict[str, list[tuple[str, str]]] = {}
        for chunk in chunked(digests):
            condition, params = in_list("tree_digest", chunk, "d")
            for tree, path, digest in self.db.rows(
                f"SELECT tree_digest, path, digest FROM tree_entries WHERE {condition}"
                " ORDER BY tree_digest, path",
                params,
            ):
                out.setdefault(tree, []).append((path, digest))
        return out

    def reproductions(self, run_ids: Sequence[str]) -> list[Reproduction]:
        """The reproductions of these runs, and those these runs are, by reproduction id."""
        out: list[Reproduction] = []
        for chunk in chunked(run_ids):
            of, params = in_list("rp.original_id", chunk, "o")
            are, more = in_list("rp.run_id", chunk, "r")
            rows = self.db.rows(
                "SELECT rp.run_id, rp.original_id, rp.verdict, r.started_at, r.ended_at"
                " FROM reproductions rp JOIN runs r ON r.id = rp.run_id"
                f" WHERE {of} OR {are} ORDER BY rp.run_id",
                {**params, **more},
            )
            out += [Reproduction(*row) for row in rows]
        return out

    def reproduction_details(self, original_id: str) -> dict[str, dict[str, Any]]:
        """What each reproduction of ``original_id`` compared, by reproduction run id."""
        rows = self.db.rows(
            "SELECT run_id, details FROM reproductions WHERE original_id = :id", {"id": original_id}
        )
        return {run_id: json.loads(details) for run_id, details in rows}

    # -- approvals -------------------------------------------------------------------------------

    def run_approvals(self, run_ids: Sequence[str]) -> list[Approval]:
        """The reviews of these runs, oldest first within each batch of runs."""
        out: list[Approval] = []
        for chunk in chunked(run_ids):
            condition, params = in_list("target", chunk, "t")
            rows = self.db.rows(
                "SELECT target, decision, note, actor, at FROM approvals"
                f" WHERE target_type = 'run' AND {condition} ORDER BY at, id",
                params,
            )
            out += [Approval(*r) for r in rows]
        return out

    def artifact_approvals(self, digests: Sequence[str]) -> list[Approval]:
        """The reviews of these artifact versions, direct or of a dataset version naming one,
        oldest first within each batch of digests; ``target`` is the digest."""
        out: list[Approval] = []
        for chunk in chunked(digests):
            direct, params = in_list("a.target", chunk, "d")
            via, more = in_list("ds.digest", chunk, "v")
            rows = self.db.rows(
                "SELECT digest, decision, note, actor, at FROM (SELECT a.target AS digest,"
                " a.decision, a.note, a.actor, a.at, a.id FROM approvals a"
                f" WHERE a.target_type = 'artifact' AND {direct}"
                " UNION ALL SELECT ds.digest AS digest, a.decision, a.note, a.actor, a.at, a.id"
                " FROM approvals a JOIN datasets ds"
                " ON a.target = ds.name || '@v' || CAST(ds.version AS VARCHAR)"
                f" WHERE a.target_type = 'dataset' AND {via}) u ORDER BY at, id",
                {**params, **more},
            )
            out += [Approval(*r) for r in rows]
        return out
