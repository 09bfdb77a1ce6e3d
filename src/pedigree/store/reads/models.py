"""Reads over the model registry and stored artifacts: one part of the store's read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`.

>>> from pedigree.store.sql import open_store
>>> with open_store("sqlite://").read() as reader:
...     reader.model_version("tsmom"), reader.model_names(), reader.model_aliases("tsmom")
(None, [], {})
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pedigree.store.db import Db, in_list
from pedigree.store.reads import chunked

__all__ = ["AliasMove", "ModelReads", "ModelVersion"]

# The columns of ``model_versions``, in the order ``ModelVersion.from_row`` reads them.
_VERSION = "name, version, digest, kind, size, run_id, path, note, actor, at, selection"
_VERSION_M = ", ".join(f"m.{c}" for c in _VERSION.split(", "))


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
    def from_tuple(cls, r: tuple[Any, ...]) -> ModelVersion:
        """From a row of the columns ``_VERSION`` names, in that order."""
        name, version, digest, kind, size, run_id, path, note, actor, at, selection = r
        return cls(
            name,
            version,
            digest,
            kind,
            size,
            run_id,
            path,
            note,
            actor,
            at,
            json.loads(selection) if selection else None,
        )

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
    db: Db

    def digest_path(self, digest: str) -> str | None:
        """One project path where ``digest`` was recorded (written or read by a run, added as a
        dataset, held by a folder), to name the file it comes back as; None when nowhere."""
        for q in (
            "SELECT path FROM run_io WHERE digest = :d ORDER BY role DESC, path LIMIT 1",
            "SELECT path FROM datasets WHERE digest = :d AND path IS NOT NULL ORDER BY path"
            " LIMIT 1",
            "SELECT path FROM tree_entries WHERE digest = :d ORDER BY path LIMIT 1",
        ):
            found = self.db.scalar(q, {"d": digest})
            if found is not None:
                return str(found)
        return None

    def digest_producers(self, digest: str) -> list[tuple[str, str]]:
        """(run id, path) of every run that wrote ``digest``, oldest run first."""
        rows = self.db.rows(
            "SELECT run_id, path FROM run_io WHERE digest = :d AND role = 'output'"
            " ORDER BY run_id, path",
            {"d": digest},
        )
        return [(run_id, path) for run_id, path in rows]

    # -- the model registry ---------------------------------------------------------------------

    def model_version(self, name: str, version: int | None = None) -> ModelVersion | None:
        """One version of a model (the latest when ``version`` is None)."""
        if version is None:
            row = self.db.first(
                f"SELECT {_VERSION} FROM model_versions WHERE name = :n"
                " ORDER BY version DESC LIMIT 1",
                {"n": name},
            )
        else:
            row = self.db.first(
                f"SELECT {_VERSION} FROM model_versions WHERE name = :n AND version = :v",
                {"n": name, "v": version},
            )
        return ModelVersion.from_tuple(row) if row is not None else None

    def model_versions_of(self, digests: Sequence[str]) -> list[ModelVersion]:
        """Every model version whose content is one of ``digests`` (impact: the models that
        rest on changed data), by name then version."""
        out: list[ModelVersion] = []
        for chunk in chunked(sorted(set(digests))):
            condition, params = in_list("digest", chunk, "d")
            rows = self.db.rows(f"SELECT {_VERSION} FROM model_versions WHERE {condition}", params)
            out += [ModelVersion.from_tuple(r) for r in rows]
        return sorted(out, key=lambda v: (v.name, v.version))

    def model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, oldest first."""
        rows = self.db.rows(
            f"SELECT {_VERSION} FROM model_versions WHERE name = :n ORDER BY version", {"n": name}
        )
        return [ModelVersion.from_tuple(r) for r in rows]

    def model_names(self) -> list[ModelVersion]:
        """The latest version of every model, by name."""
        rows = self.db.rows(
            f"SELECT {_VERSION_M} FROM model_versions m JOIN (SELECT name, max(version) AS version"
            " FROM model_versions GROUP BY name) newest"
            " ON m.name = newest.name AND m.version = newest.version ORDER BY m.name"
        )
        return [ModelVersion.from_tuple(r) for r in rows]

    def alias_moves(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of the aliases of a model (of one alias), oldest first."""
        q = "SELECT name, alias, number, version, previous, actor, at FROM model_aliases"
        if alias is None:
            rows = self.db.rows(q + " WHERE name = :n ORDER BY at, alias, number", {"n": name})
        else:
            rows = self.db.rows(
                q + " WHERE name = :n AND alias = :a ORDER BY at, alias, number",
                {"n": name, "a": alias},
            )
        return [AliasMove(*r) for r in rows]

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

        q = "SELECT target, decision, note, actor, at FROM approvals WHERE target_type = 'model'"
        if version is None:
            # Every NAME/...: a model name holds no "/", and "0" sorts right after "/".
            rows = self.db.rows(
                q + " AND target > :lo AND target < :hi ORDER BY at, id",
                {"lo": name + "/", "hi": name + "0"},
            )
        else:
            rows = self.db.rows(q + " AND target = :t ORDER BY at, id", {"t": f"{name}/{version}"})
        out: list[tuple[int, Any]] = []
        for target, decision, note, actor, at in rows:
            head, _, number = target.rpartition("/")
            if head == name and number.isdigit():
                out.append((int(number), Approval(target, decision, note, actor, at)))
        return out

    def datasets_holding(self, digest: str) -> list[str]:
        """``NAME@vN`` of every dataset version that is ``digest`` or a folder holding it."""
        rows = self.db.rows(
            "SELECT name, version FROM datasets WHERE digest = :d"
            " UNION SELECT ds.name, ds.version FROM datasets ds JOIN tree_entries te"
            " ON te.tree_digest = ds.digest WHERE te.digest = :d",
            {"d": digest},
        )
        return sorted(f"{name}@v{version}" for name, version in rows)
