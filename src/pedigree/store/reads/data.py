"""Reads over datasets, trees, a run's inputs and outputs: one part of the store's read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`. The rows come back as the
small value types below, which the data domain (``pedigree.data``) builds on.

>>> from pedigree.store.sql import open_store
>>> with open_store("sqlite://").read() as reader:
...     reader.dataset_version("prices"), reader.run_io(["r1"])
(None, {'r1': []})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pedigree.store.db import Db, in_list
from pedigree.store.reads import chunked

__all__ = ["DataReads", "DatasetVersion", "IOItem"]

# The columns of ``datasets``, in the order ``DatasetVersion`` takes them.
# ("user" is quoted: on PostgreSQL a bare ``user`` is the session's user.)
_DATASET = 'name, version, digest, kind, size, file_count, path, created_at, "user", run_id'
_DATASET_DS = ", ".join(f"ds.{c}" for c in _DATASET.split(", "))


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version ``NAME@vN`` of a file, folder or symlink."""

    name: str
    version: int
    digest: str
    kind: str  # file | dir | symlink
    size: int
    file_count: int
    path: str | None
    created_at: float
    user: str | None
    run_id: str | None

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @classmethod
    def from_tuple(cls, row: tuple[Any, ...]) -> DatasetVersion:
        """From a row of the columns ``_DATASET`` names, in that order."""
        return cls(*row)

    @classmethod
    def from_row(cls, row: Any) -> DatasetVersion:
        return cls(
            name=row.name,
            version=row.version,
            digest=row.digest,
            kind=row.kind,
            size=row.size,
            file_count=row.file_count,
            path=row.path,
            created_at=row.created_at,
            user=row.user,
            run_id=row.run_id,
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ref"] = self.ref
        out["created_at"] = datetime.fromtimestamp(self.created_at, UTC).isoformat()
        return out


class IOItem(NamedTuple):
    """A file or folder a run read (``role`` "input") or wrote ("output")."""

    role: str
    path: str
    digest: str
    size: int
    kind: str
    declared: bool
    modified: bool

    def to_json(self) -> dict[str, Any]:
        """The ``inputs``/``outputs`` entry of a run record."""
        return {
            "path": self.path,
            "digest": self.digest,
            "size": self.size,
            "kind": self.kind,
            "declared": self.declared,
            "modified": self.modified,
        }


class DataReads:
    db: Db

    def dataset_version(self, name: str, version: int | None = None) -> DatasetVersion | None:
        """One version of a dataset (the latest when ``version`` is None)."""
        if version is None:
            row = self.db.first(
                f"SELECT {_DATASET} FROM datasets WHERE name = :n ORDER BY version DESC LIMIT 1",
                {"n": name},
            )
        else:
            row = self.db.first(
                f"SELECT {_DATASET} FROM datasets WHERE name = :n AND version = :v",
                {"n": name, "v": version},
            )
        return DatasetVersion.from_tuple(row) if row is not None else None

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        """Every version of a dataset, oldest first."""
        rows = self.db.rows(
            f"SELECT {_DATASET} FROM datasets WHERE name = :n ORDER BY version", {"n": name}
        )
        return [DatasetVersion.from_tuple(r) for r in rows]

    def latest_versions(self) -> list[DatasetVersion]:
        """The newest version of every dataset, by name."""
        rows = self.db.rows(
            f"SELECT {_DATASET_DS} FROM datasets ds JOIN (SELECT name, max(version) AS version"
            " FROM datasets GROUP BY name) newest"
            " ON ds.name = newest.name AND ds.version = newest.version ORDER BY ds.name"
        )
        return [DatasetVersion.from_tuple(r) for r in rows]

    def tree_known(self, digest: str) -> bool:
        """Whether a folder manifest's entries are recorded already (``tree.recorded``)."""
        q = "SELECT tree_digest FROM tree_entries WHERE tree_digest = :d LIMIT 1"
        return self.db.first(q, {"d": digest}) is not None

    def run_started_at(self, run_id: str) -> float | None:
        """When the run started (epoch seconds), or None when there is no such run."""
        started = self.db.scalar("SELECT started_at FROM runs WHERE id = :id", {"id": run_id})
        return float(started) if started is not None else None

    def run_io(self, ids: Sequence[str]) -> dict[str, list[IOItem]]:
        """The inputs and outputs of each run, by role then path."""
        out: dict[str, list[IOItem]] = {i: [] for i in ids}
        for chunk in chunked(ids):
            condition, params = in_list("run_id", chunk, "r")
            rows = self.db.rows(
                "SELECT run_id, role, path, digest, size, kind, declared, modified FROM run_io"
                f" WHERE {condition} ORDER BY run_id, role, path",
                params,
            )
            for run_id, role, path, digest, size, kind, declared, modified in rows:
                out[run_id].append(
                    IOItem(role, path, digest, size, kind, bool(declared), bool(modified))
                )
        return out

    def referenced_digests(self) -> dict[str, str]:
        """Every object digest the metadata refers to, with one place that refers to it."""
        refs: dict[str, str] = {}
        for name, version, digest in self.db.rows("SELECT name, version, digest FROM datasets"):
            refs.setdefault(digest, f"{name}@v{version}")
        for tree, path, digest in self.db.rows(
            "SELECT tree_digest, path, digest FROM tree_entries"
        ):
            refs.setdefault(digest, f"{path} in folder {tree}")
        for run_id, role, path, digest in self.db.rows(
            "SELECT run_id, role, path, digest FROM run_io"
        ):
            refs.setdefault(digest, f"{role} {path} of run {run_id}")
        for run_id, patch, stdout, stderr in self.db.rows(
            "SELECT id, code_patch_digest, stdout_digest, stderr_digest FROM runs"
        ):
            for what, digest in (("code patch", patch), ("stdout", stdout), ("stderr", stderr)):
                if digest:
                    refs.setdefault(digest, f"{what} of run {run_id}")
        return refs
