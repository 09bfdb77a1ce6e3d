"""Reads over the model registry and stored artifacts: one part of the store's read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`.

>>> from pedigree.store.sql import open_store
>>> with open_store("sqlite://").read() as reader:
...     reader.model_version("tsmom"), reader.model_names(), reader.model_aliases("tsmom")
(None, [], {})
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pedigree.store import schema as t

__all__ = ["AliasMove", "ModelReads", "ModelVersion"]


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """Version ``version`` of model ``name``: stored content, who registered it, from what run."""

    name: str
    version: int
    digest: str
    kind: str
    size: int
    run_id: str | None
    path: str | None
    note: str | None
    actor: str | None
    at: float
    selection: dict[str, Any] | None

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    @classmethod
    def from_row(cls, r: Any) -> ModelVersion:
        return cls(
            r.name,
            r.version,
            r.digest,
            r.kind,
            r.size,
            r.run_id,
            r.path,
            r.note,
            r.actor,
            r.at,
            json.loads(r.selection) if r.selection else None,
        )


@dataclass(frozen=True, slots=True)
class AliasMove:
    """The ``number``-th move of ``alias`` of model ``name``: to ``version`` from ``previous``."""

    name: str
    alias: str
    number: int
    version: int
    previous: int | None
    actor: str | None
    at: float


class ModelReads:
    conn: Connection

    def digest_path(self, digest: str) -> str | None:
        """One project path where ``digest`` was recorded (written or read by a run, added as a
        dataset, held by a folder), to name the file it comes back as; None when nowhere."""
        io, ds, te = t.run_io.c, t.datasets.c, t.tree_entries.c
        for q in (
            sa.select(io.path).where(io.digest == digest).order_by(io.role.desc(), io.path),
            sa.select(ds.path).where(ds.digest == digest, ds.path.is_not(None)).order_by(ds.path),
            sa.select(te.path).where(te.digest == digest).order_by(te.path),
        ):
            found = self.conn.execute(q.limit(1)).scalar()
            if found is not None:
                return str(found)
        return None

    def digest_producers(self, digest: str) -> list[tuple[str, str]]:
        """(run id, path) of every run that wrote ``digest``, oldest run first."""
        io = t.run_io.c
        q = (
            sa.select(io.run_id, io.path)
            .where(io.digest == digest, io.role == "output")
            .order_by(io.run_id, io.path)
        )
        return [(r.run_id, r.path) for r in self.conn.execute(q)]

    # -- the model registry ---------------------------------------------------------------------

    def model_version(self, name: str, version: int | None = None) -> ModelVersion | None:
        """One version of a model (the latest when ``version`` is None)."""
        m = t.model_versions.c
        q = sa.select(t.model_versions).where(m.name == name)
        q = (
            q.order_by(m.version.desc()).limit(1)
            if version is None
            else q.where(m.version == version)
        )
        row = self.conn.execute(q).first()
        return ModelVersion.from_row(row) if row is not None else None

    def model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, oldest first."""
        m = t.model_versions.c
        q = sa.select(t.model_versions).where(m.name == name).order_by(m.version)
        return [ModelVersion.from_row(r) for r in self.conn.execute(q)]

    def model_names(self) -> list[ModelVersion]:
        """The latest version of every model, by name."""
        m = t.model_versions.c
        newest = (
            sa.select(m.name, sa.func.max(m.version).label("version")).group_by(m.name).subquery()
        )
        q = (
            sa.select(t.model_versions)
            .join(newest, sa.and_(m.name == newest.c.name, m.version == newest.c.version))
            .order_by(m.name)
        )
        return [ModelVersion.from_row(r) for r in self.conn.execute(q)]

    def alias_moves(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of the aliases of a model (of one alias), oldest first."""
        a = t.model_aliases.c
        q = sa.select(t.model_aliases).where(a.name == name)
        if alias is not None:
            q = q.where(a.alias == alias)
        q = q.order_by(a.at, a.alias, a.number)
        return [
            AliasMove(r.name, r.alias, r.number, r.version, r.previous, r.actor, r.at)
            for r in self.conn.execute(q)
        ]

    def model_aliases(self, name: str) -> dict[str, int]:
        """Where each alias of a model points now (its latest move), by alias."""
        current: dict[str, tuple[int, int]] = {}
        for move in self.alias_moves(name):
            if move.alias not in current or move.number > current[move.alias][0]:
                current[move.alias] = (move.number, move.version)
        return {alias: v for alias, (_, v) in sorted(current.items())}

    def model_reviews(self, name: str, version: int | None = None) -> list[tuple[int, Any]]:
        """(version, review) of every review of the model's versions (of one), oldest first;
        a review is an ``Approval`` whose target is ``NAME/N``."""
        from pedigree.store.reads.reviews import Approval

        a = t.approvals.c
        q = sa.select(a.target, a.decision, a.note, a.actor, a.at).where(a.target_type == "model")
        if version is None:
            # Every NAME/...: a model name holds no "/", and "0" sorts right after "/".
            q = q.where(a.target > name + "/", a.target < name + "0")
        else:
            q = q.where(a.target == f"{name}/{version}")
        out: list[tuple[int, Any]] = []
        for r in self.conn.execute(q.order_by(a.at, a.id)):
            head, _, number = r.target.rpartition("/")
            if head == name and number.isdigit():
                out.append((int(number), Approval(r.target, r.decision, r.note, r.actor, r.at)))
        return out

    def datasets_holding(self, digest: str) -> list[str]:
        """``NAME@vN`` of every dataset version that is ``digest`` or a folder holding it."""
        ds, te = t.datasets.c, t.tree_entries.c
        direct = sa.select(ds.name, ds.version).where(ds.digest == digest)
        inside = (
            sa.select(ds.name, ds.version)
            .select_from(t.datasets.join(t.tree_entries, te.tree_digest == ds.digest))
            .where(te.digest == digest)
        )
        rows = self.conn.execute(sa.union(direct, inside))
        return sorted(f"{r.name}@v{r.version}" for r in rows)
