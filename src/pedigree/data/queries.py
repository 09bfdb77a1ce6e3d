"""Read queries over datasets, folder trees and run inputs/outputs.

Each function takes a connection from ``SQLStore.read()`` (or the one ``SQLStore.write`` passes
to its build function).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from pedigree.store import schema as t

__all__ = [
    "dataset_names",
    "dataset_version",
    "dataset_versions",
    "latest_versions",
    "referenced_digests",
    "run_io",
    "tree_known",
]

_CHUNK = 500


def dataset_version(conn: Connection, name: str, version: int | None = None) -> Row[Any] | None:
    """One version of a dataset (the latest when ``version`` is None)."""
    d = t.datasets.c
    q = sa.select(t.datasets).where(d.name == name)
    q = q.order_by(d.version.desc()).limit(1) if version is None else q.where(d.version == version)
    return conn.execute(q).first()


def dataset_versions(conn: Connection, name: str) -> list[Row[Any]]:
    d = t.datasets.c
    return list(conn.execute(sa.select(t.datasets).where(d.name == name).order_by(d.version)))


def dataset_names(conn: Connection) -> list[str]:
    d = t.datasets.c
    return list(conn.execute(sa.select(d.name).distinct().order_by(d.name)).scalars())


def latest_versions(conn: Connection) -> list[Row[Any]]:
    """The newest version of every dataset, by name."""
    d = t.datasets.c
    newest = sa.select(d.name, sa.func.max(d.version).label("version")).group_by(d.name).subquery()
    q = (
        sa.select(t.datasets)
        .join(newest, sa.and_(d.name == newest.c.name, d.version == newest.c.version))
        .order_by(d.name)
    )
    return list(conn.execute(q))


def tree_known(conn: Connection, digest: str) -> bool:
    e = t.tree_entries.c
    q = sa.select(e.tree_digest).where(e.tree_digest == digest).limit(1)
    return conn.execute(q).first() is not None


def run_io(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Inputs and outputs of each run: ``{run_id: {"inputs": [...], "outputs": [...]}}``."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {
        i: {"inputs": [], "outputs": []} for i in ids
    }
    io = t.run_io.c
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        rows = conn.execute(
            sa.select(
                io.run_id, io.role, io.path, io.digest, io.size, io.kind, io.declared, io.modified
            )
            .where(io.run_id.in_(chunk))
            .order_by(io.run_id, io.role, io.path)
        )
        for r in rows:
            key = "inputs" if r.role == "input" else "outputs"
            out[r.run_id][key].append(
                {
                    "path": r.path,
                    "digest": r.digest,
                    "size": r.size,
                    "kind": r.kind,
                    "declared": bool(r.declared),
                    "modified": bool(r.modified),
                }
            )
    return out


def referenced_digests(conn: Connection) -> dict[str, str]:
    """Every object digest the metadata refers to, with one place that refers to it."""
    refs: dict[str, str] = {}
    d = t.datasets.c
    for ds in conn.execute(sa.select(d.name, d.version, d.digest)):
        refs.setdefault(ds.digest, f"{ds.name}@v{ds.version}")
    e = t.tree_entries.c
    for entry in conn.execute(sa.select(e.tree_digest, e.path, e.digest)):
        refs.setdefault(entry.digest, f"{entry.path} in folder {entry.tree_digest}")
    io = t.run_io.c
    for item in conn.execute(sa.select(io.run_id, io.role, io.path, io.digest)):
        refs.setdefault(item.digest, f"{item.role} {item.path} of run {item.run_id}")
    r = t.runs.c
    for run in conn.execute(sa.select(r.id, r.code_patch_digest, r.stdout_digest, r.stderr_digest)):
        for what, digest in (
            ("code patch", run.code_patch_digest),
            ("stdout", run.stdout_digest),
            ("stderr", run.stderr_digest),
        ):
            if digest:
                refs.setdefault(digest, f"{what} of run {run.id}")
    return refs
