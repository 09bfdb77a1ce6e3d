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

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pedigree.store import schema as t
from pedigree.store.reads import chunked

__all__ = ["DataReads", "DatasetVersion", "IOItem"]


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
    conn: Connection

    def dataset_version(self, name: str, version: int | None = None) -> DatasetVersion | None:
        """One version of a dataset (the latest when ``version`` is None)."""
        d = t.datasets.c
        q = sa.select(t.datasets).where(d.name == name)
        if version is None:
            q = q.order_by(d.version.desc()).limit(1)
        else:
            q = q.where(d.version == version)
        row = self.conn.execute(q).first()
        return DatasetVersion.from_row(row) if row is not None else None

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        """Every version of a dataset, oldest first."""
        d = t.datasets.c
        q = sa.select(t.datasets).where(d.name == name).order_by(d.version)
        return [DatasetVersion.from_row(r) for r in self.conn.execute(q)]

    def latest_versions(self) -> list[DatasetVersion]:
        """The newest version of every dataset, by name."""
        d = t.datasets.c
        newest = (
            sa.select(d.name, sa.func.max(d.version).label("version")).group_by(d.name).subquery()
        )
        q = (
            sa.select(t.datasets)
            .join(newest, sa.and_(d.name == newest.c.name, d.version == newest.c.version))
            .order_by(d.name)
        )
        return [DatasetVersion.from_row(r) for r in self.conn.execute(q)]

    def tree_known(self, digest: str) -> bool:
        """Whether a folder manifest's entries are recorded already (``tree.recorded``)."""
        e = t.tree_entries.c
        q = sa.select(e.tree_digest).where(e.tree_digest == digest).limit(1)
        return self.conn.execute(q).first() is not None

    def run_started_at(self, run_id: str) -> float | None:
        """When the run started (epoch seconds), or None when there is no such run."""
        r = t.runs.c
        started = self.conn.execute(sa.select(r.started_at).where(r.id == run_id)).scalar()
        return float(started) if started is not None else None

    def run_io(self, ids: Sequence[str]) -> dict[str, list[IOItem]]:
        """The inputs and outputs of each run, by role then path."""
        out: dict[str, list[IOItem]] = {i: [] for i in ids}
        io = t.run_io.c
        for chunk in chunked(ids):
            rows = self.conn.execute(
                sa.select(
                    io.run_id,
                    io.role,
                    io.path,
                    io.digest,
                    io.size,
                    io.kind,
                    io.declared,
                    io.modified,
                )
                .where(io.run_id.in_(chunk))
                .order_by(io.run_id, io.role, io.path)
            )
            for r in rows:
                out[r.run_id].append(
                    IOItem(
                        r.role, r.path, r.digest, r.size, r.kind, bool(r.declared), bool(r.modified)
                    )
                )
        return out

    def referenced_digests(self) -> dict[str, str]:
        """Every object digest the metadata refers to, with one place that refers to it."""
        refs: dict[str, str] = {}
        d = t.datasets.c
        for ds in self.conn.execute(sa.select(d.name, d.version, d.digest)):
            refs.setdefault(ds.digest, f"{ds.name}@v{ds.version}")
        e = t.tree_entries.c
        for entry in self.conn.execute(sa.select(e.tree_digest, e.path, e.digest)):
            refs.setdefault(entry.digest, f"{entry.path} in folder {entry.tree_digest}")
        io = t.run_io.c
        for item in self.conn.execute(sa.select(io.run_id, io.role, io.path, io.digest)):
            refs.setdefault(item.digest, f"{item.role} {item.path} of run {item.run_id}")
        r = t.runs.c
        runs = sa.select(r.id, r.code_patch_digest, r.stdout_digest, r.stderr_digest)
        for run in self.conn.execute(runs):
            for what, digest in (
                ("code patch", run.code_patch_digest),
                ("stdout", run.stdout_digest),
                ("stderr", run.stderr_digest),
            ):
                if digest:
                    refs.setdefault(digest, f"{what} of run {run.id}")
        return refs
