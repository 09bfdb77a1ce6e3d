"""Reads over lineage walks, impact and diffs: one part of the store's read interface.

Joined with the other parts in :class:`pedigree.store.reader.Reader`.

The lineage graph is bipartite: runs and artifact versions (an artifact version is a digest; a
dataset version is an artifact version whose digest names a folder manifest). Its edges point the
way data flows:

==============  ==================  ===========================================================
edge            from -> to          recorded by
==============  ==================  ===========================================================
``used``        artifact -> run     ``run_io`` role input
``generated``   run -> artifact     ``run_io`` role output, ``datasets.run_id``
``used``        tree -> run         the run read a file that the tree holds (``part``)
``generated``   run -> tree         the run wrote a file that the tree holds (``part``)
``reproduced``  run -> run          ``reproductions``: the original, then its reproduction
==============  ==================  ===========================================================

A file belongs to a tree when the tree holds its digest at a path that ends the path the run
recorded (``data/raw/x.csv`` read at digest D belongs to every manifest holding D at ``x.csv``,
``raw/x.csv`` or ``data/raw/x.csv``). Passing through a tree by one part edge never continues by
the other kind (a run that read ``x.csv`` of a dataset does not descend from the run that wrote
the dataset's ``y.csv``), so a dataset version and its files form one lineage without linking
everything that merely shares a folder.

The walks are one recursive statement each (``store.reads._walk``, and ``store.reads._closure``
for impact's "everything downstream"); what is shown of the nodes found is read in bulk, one
statement per table for all the keys (an array on PostgreSQL, ``IN`` lists of 500 on SQLite),
as driver tuples.

>>> from pedigree.store.sql import open_store
>>> with open_store("sqlite://").read() as reader:
...     reader.walk([NodeRef("run", "0190e0a0")], direction="up", depth=3).distance
{NodeRef(kind='run', key='0190e0a0'): 0}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal, NamedTuple, NotRequired, TypedDict

from pedigree.store.db import Db, in_list
from pedigree.store.reads import chunked

__all__ = [
    "Affected",
    "AffectedRun",
    "ArtifactDetails",
    "Direction",
    "Edge",
    "Graph",
    "InputRead",
    "LineageReads",
    "NodeKind",
    "NodeRef",
    "RunDetails",
    "TreeFile",
]

Direction = Literal["up", "down"]
NodeKind = Literal["run", "artifact"]


@dataclass(frozen=True, slots=True, order=True)
class NodeRef:
    """A node of the lineage graph: a run (by id) or an artifact version (by digest)."""

    kind: NodeKind
    key: str


@dataclass(frozen=True, slots=True)
class Edge:
    """``src`` -> ``dst`` in the direction data flows; ``path`` is where the run saw the file."""

    src: NodeRef
    dst: NodeRef
    rel: str  # used | generated | reproduced
    path: str | None = None
    part: bool = False  # through a file inside the tree (src or dst is the tree)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": {"kind": self.src.kind, "id": self.src.key},
            "to": {"kind": self.dst.kind, "id": self.dst.key},
            "rel": self.rel,
            "path": self.path,
            "part": self.part,
        }


@dataclass
class Graph:
    """What a walk found: nodes with their distance from the roots, and the edges taken."""

    roots: list[NodeRef]
    direction: Direction
    depth: int
    distance: dict[NodeRef, int] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    # Paths at which each artifact was seen along the edges taken.
    paths: dict[NodeRef, set[str]] = field(default_factory=dict)
    truncated: bool = False

    @property
    def nodes(self) -> list[NodeRef]:
        return sorted(self.distance, key=lambda n: (self.distance[n], n))


class CodeDetails(TypedDict):
    commit: str | None
    dirty: bool | None
    patch_digest: str | None
    remote: str | None


class RunDetails(TypedDict):
    """What lineage shows of a run."""

    id: str
    experiment: str
    name: str | None
    run_kind: str  # run | sweep | reproduction
    status: str
    command: list[str] | None
    started_at: float | None
    ended_at: float | None
    user: str | None
    code: CodeDetails
    environment_digest: str | None
    reproductions: list[dict[str, Any]]  # {id, verdict}, by id
    reproduction_of: dict[str, Any] | None  # {original, verdict}


class ArtifactDetails(TypedDict):
    """What is known of a digest: ``type`` (file or dir), size, dataset versions, paths."""

    digest: str
    type: str | None
    size: int | None
    datasets: list[str]  # NAME@vN
    paths: list[str]
    files: NotRequired[int]  # a folder's


# A run as impact lists it: (experiment, name, status, kind).
AffectedRun = tuple[str, str | None, str, str]


@dataclass
class Affected:
    """What is downstream of the starts: runs (start runs included; None for a run known from
    its inputs and outputs only), their latest metrics, the artifact versions they made (digest
    -> record, paths in the order found), and the other artifact versions found (folders holding
    their files, dataset versions they produced: known by digest only)."""

    runs: dict[str, AffectedRun | None] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    artifacts: dict[str, ArtifactDetails] = field(default_factory=dict)
    other: set[str] = field(default_factory=set)
    # Dataset versions produced by the runs found, by digest.
    datasets: dict[str, list[str]] = field(default_factory=dict)


class TreeFile(NamedTuple):
    """A file a folder manifest holds, at ``path`` inside the folder."""

    path: str
    digest: str
    size: int


class InputRead(NamedTuple):
    """A run read ``path`` at ``digest``."""

    run_id: str
    path: str
    digest: str
    kind: str


class LineageReads:
    """Walks of the lineage graph, impact's closure, and what lineage, diff and export show."""

    db: Db

    # -- walks ---------------------------------------------------------------------------------

    def walk(self, starts: Sequence[NodeRef], *, direction: Direction, depth: int) -> Graph:
        """Every node within ``depth`` steps of ``starts`` upstream or downstream, and the
        edges taken; ``truncated`` when nodes at the limit lead further."""
        from pedigree.store.reads._walk import walk

        return walk(self.db, starts, direction=direction, depth=depth)

    def reach(self, starts: Sequence[NodeRef], *, direction: Direction) -> set[NodeRef]:
        """Every node reachable from ``starts``, however far (the starts included)."""
        from pedigree.store.reads._walk import reach

        return reach(self.db, starts, direction=direction)

    def affected(self, starts: Sequence[NodeRef]) -> Affected:
        """Everything downstream of ``starts``, with what impact shows of it."""
        from pedigree.store.reads._closure import affected

        return affected(self.db, starts)

    def downstream_runs(self, starts: Sequence[NodeRef]) -> set[str]:
        """Every run downstream of ``starts`` (the start runs included), however far."""
        from pedigree.store.reads._closure import downstream_runs

        return downstream_runs(self.db, starts)

    def run_outputs(self, run_ids: Sequence[str]) -> set[str]:
        """What a downstream walk finds of these runs besides runs: outputs, folders holding
        them, dataset versions they produced."""
        from pedigree.store.reads._closure import run_outputs

        return run_outputs(self.db, run_ids)

    # -- what is shown of the nodes -------------------------------------------------------------

    def run_details(self, ids: Sequence[str]) -> dict[str, RunDetails]:
        """What lineage shows of each run: names, status, code and environment, reproductions."""
        from pedigree.store.reads._sql import dialect, fetch, keys_in

        conn = self.db
        name = dialect(conn)
        keys = sorted(set(ids))
        out: dict[str, RunDetails] = {}
        for condition, params in keys_in(name, "r.id", keys):
            for (
                rid,
                experiment,
                run_name,
                kind,
                status,
                command,
                started_at,
                ended_at,
                user,
                commit,
                dirty,
                patch,
                remote,
                environment,
            ) in fetch(
                conn,
                "SELECT r.id, r.experiment, r.name, r.kind, r.status, r.command, r.started_at,"
                " r.ended_at, r.user, r.code_commit, r.code_dirty, r.code_patch_digest,"
                f" r.code_remote, r.environment_digest FROM runs r WHERE {condition}",
                params,
            ):
                out[rid] = {
                    "id": rid,
                    "experiment": experiment,
                    "name": run_name,
                    "run_kind": kind,
                    "status": status,
                    "command": json.loads(command) if command else None,
                    "started_at": started_at,
                    "ended_at": ended_at,
                    "user": user,
                    "code": {
                        "commit": commit,
                        "dirty": None if dirty is None else bool(dirty),
                        "patch_digest": patch,
                        "remote": remote,
                    },
                    "environment_digest": environment,
                    "reproductions": [],
                    "reproduction_of": None,
                }
        for column in ("rp.original_id", "rp.run_id"):
            for condition, params in keys_in(name, column, keys):
                for run_id, original_id, verdict in fetch(
                    conn,
                    f"SELECT rp.run_id, rp.original_id, rp.verdict FROM reproductions rp"
                    f" WHERE {condition}",
                    params,
                ):
                    if column == "rp.original_id" and original_id in out:
                        out[original_id]["reproductions"].append({"id": run_id, "verdict": verdict})
                    if column == "rp.run_id" and run_id in out:
                        out[run_id]["reproduction_of"] = {
                            "original": original_id,
                            "verdict": verdict,
                        }
        for rec in out.values():
            rec["reproductions"].sort(key=lambda x: x["id"])
        return out

    def artifact_details(self, digests: Sequence[str]) -> dict[str, ArtifactDetails]:
        """What is known of each digest: ``type`` (file or dir), size, dataset versions, paths."""
        from pedigree.store.reads._sql import dialect, fetch, keys_in

        conn = self.db
        name = dialect(conn)
        out: dict[str, ArtifactDetails] = {
            d: {"digest": d, "type": None, "size": None, "datasets": [], "paths": []}
            for d in set(digests)
        }
        keys = sorted(out)
        rows = []
        for condition, params in keys_in(name, "ds.digest", keys):
            rows += fetch(
                conn,
                "SELECT ds.name, ds.version, ds.digest, ds.kind, ds.size, ds.path FROM datasets ds"
                f" WHERE {condition}",
                params,
            )
        for ds_name, version, digest, kind, size, path in sorted(rows, key=lambda r: r[:2]):
            rec = out[digest]
            rec["datasets"].append(f"{ds_name}@v{version}")
            rec["type"] = rec["type"] or kind
            rec["size"] = size if rec["size"] is None else rec["size"]
            if path and path not in rec["paths"]:
                rec["paths"].append(path)
        for condition, params in keys_in(name, "io.digest", keys):
            for digest, path, kind, size in fetch(
                conn,
                "SELECT DISTINCT io.digest, io.path, io.kind, io.size FROM run_io io"
                f" WHERE {condition} ORDER BY io.digest, io.path",
                params,
            ):
                rec = out[digest]
                rec["type"] = rec["type"] or kind
                rec["size"] = size if rec["size"] is None else rec["size"]
                if path not in rec["paths"]:
                    rec["paths"].append(path)
        for condition, params in keys_in(name, "te.tree_digest", keys):
            for tree, files, total in fetch(
                conn,
                "SELECT te.tree_digest, count(*), sum(te.size) FROM tree_entries te"
                f" WHERE {condition} GROUP BY te.tree_digest",
                params,
            ):
                rec = out[tree]
                rec["type"] = "dir"
                rec["files"] = int(files)
                if rec["size"] is None:
                    rec["size"] = int(total or 0)
        # Known only as a file inside a dataset version (no run read it there): where it sits.
        inside = sorted(d for d, rec in out.items() if rec["type"] is None)
        for condition, params in keys_in(name, "te.digest", inside):
            for digest, base, path, size in fetch(
                conn,
                "SELECT DISTINCT te.digest, ds.path, te.path, te.size FROM tree_entries te"
                " JOIN datasets ds ON ds.digest = te.tree_digest"
                f" WHERE {condition} ORDER BY te.digest, ds.path, te.path",
                params,
            ):
                rec = out[digest]
                rec["size"] = int(size) if rec["size"] is None else rec["size"]
                full = f"{base}/{path}" if base else path
                if full not in rec["paths"]:
                    rec["paths"].append(full)
        return out

    # -- what a target names ----------------------------------------------------------------------

    def digest_recorded(self, digest: str) -> bool:
        """Whether a run read or wrote ``digest``, or a dataset or folder manifest holds it."""
        p = {"d": digest}
        return bool(
            self.db.first("SELECT run_id FROM run_io WHERE digest = :d LIMIT 1", p)
            or self.db.first("SELECT name FROM datasets WHERE digest = :d LIMIT 1", p)
            or self.db.first(
                "SELECT path FROM tree_entries WHERE digest = :d OR tree_digest = :d LIMIT 1", p
            )
        )

    def digests_starting(self, prefix: str) -> set[str]:
        """Recorded digests that start with ``prefix``: none, the one, or two of several."""
        high = prefix + "g"  # after every digest that starts with prefix: hex sorts before "g"
        found: set[str] = set()
        for table, col in (
            ("run_io", "digest"),
            ("datasets", "digest"),
            ("tree_entries", "digest"),
            ("tree_entries", "tree_digest"),
        ):
            found.update(
                self.db.scalars(
                    f"SELECT DISTINCT {col} FROM {table} WHERE {col} >= :lo AND {col} < :hi"
                    " LIMIT 2",
                    {"lo": prefix, "hi": high},
                )
            )
            if len(found) > 1:
                break
        return found

    def path_digests(self, rel: str) -> list[str]:
        """Every digest recorded at the project path ``rel``: read or written there by a run,
        added there as a dataset, held by a dataset added from a parent folder; for a folder,
        also every version of the files recorded under it."""
        found: dict[str, None] = {}
        # The path itself, and (for a folder) everything recorded under it: '0' follows '/'.
        for digest in self.db.scalars(
            "SELECT DISTINCT digest FROM run_io"
            " WHERE path = :rel OR (path > :lo AND path < :hi) ORDER BY digest",
            {"rel": rel, "lo": rel + "/", "hi": rel + "0"},
        ):
            found[digest] = None
        for digest in self.db.scalars(
            "SELECT digest FROM datasets WHERE path = :rel ORDER BY name, version", {"rel": rel}
        ):
            found[digest] = None
        # A file inside a dataset that was added from a parent folder.
        parents = [str(p) for p in PurePosixPath(rel).parents if str(p) != "."]
        if parents:
            params: dict[str, Any] = {}
            inside = []
            for i, p in enumerate(parents):
                inside.append(f"(ds.path = :p{i} AND te.path = :f{i})")
                params[f"p{i}"], params[f"f{i}"] = p, rel[len(p) + 1 :]
            for digest in self.db.scalars(
                "SELECT te.digest FROM datasets ds JOIN tree_entries te"
                f" ON te.tree_digest = ds.digest WHERE {' OR '.join(inside)}"
                " ORDER BY ds.name, ds.version",
                params,
            ):
                found[digest] = None
        return list(found)

    # -- impact, diff and export ------------------------------------------------------------------

    def input_reads(self, rel: str) -> list[InputRead]:
        """Every read of the project path ``rel`` (or of a path under it), by path and run."""
        rows = self.db.rows(
            "SELECT run_id, path, digest, kind FROM run_io WHERE role = 'input'"
            " AND (path = :rel OR (path > :lo AND path < :hi)) ORDER BY path, run_id",
            {"rel": rel, "lo": rel + "/", "hi": rel + "0"},
        )
        return [InputRead(*row) for row in rows]

    def tree_entries(self, tree_digest: str) -> list[TreeFile]:
        """The files the folder manifest ``tree_digest`` holds (none when it is no folder)."""
        rows = self.db.rows(
            "SELECT path, digest, size FROM tree_entries WHERE tree_digest = :t", {"t": tree_digest}
        )
        return [TreeFile(*row) for row in rows]

    def dataset_labels(self, digests: Sequence[str]) -> dict[str, list[str]]:
        """The dataset versions (``NAME@vN``, by name and version) each digest is."""
        out: dict[str, list[str]] = {}
        for chunk in chunked(sorted(set(digests))):
            condition, params = in_list("digest", chunk, "d")
            for name, version, digest in self.db.rows(
                f"SELECT name, version, digest FROM datasets WHERE {condition}"
                " ORDER BY name, version",
                params,
            ):
                out.setdefault(digest, []).append(f"{name}@v{version}")
        return out
