"""The lineage graph, walked in the database with one recursive query.

The graph is bipartite: runs and artifact versions (an artifact version is a digest; a dataset
version is an artifact version whose digest names a folder manifest). Its edges point the way
data flows:

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

The walk is a ``WITH RECURSIVE`` query built with SQLAlchemy Core: on SQLite each edge kind is
its own recursive SELECT (SQLite 3.34+ allows several), on PostgreSQL (which allows one
recursive reference) the edge kinds are a ``LATERAL`` union joined once. Either way every step
is an index lookup, and the graph never has to be loaded into Python.

>>> with store.read() as conn:                                      # doctest: +SKIP
...     g = walk(conn, [NodeRef("run", run_id)], direction="up", depth=10)
>>> [n.key for n in g.nodes]                                         # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from pedigree.store import schema as t

__all__ = [
    "DEFAULT_DEPTH",
    "Direction",
    "Edge",
    "Graph",
    "NodeRef",
    "artifact_details",
    "reach",
    "run_details",
    "walk",
]

Direction = Literal["up", "down"]
NodeKind = Literal["run", "artifact"]
# "All the way" still needs a bound: identical bytes written again can close a cycle.
DEFAULT_DEPTH = 50
_CHUNK = 5000
_CODE = {"run": "r", "artifact": "a"}
_KIND = {"r": "run", "a": "artifact"}


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


# -- the edge kinds, as steps from a node to its neighbours ---------------------------------------


def _text(value: str) -> ColumnElement[str]:
    # Typed constants: PostgreSQL wants both halves of a recursive UNION to agree on types.
    return sa.cast(sa.literal_column(f"'{value}'"), sa.Text)


def _ends_with(full: ColumnElement[Any], tail: ColumnElement[Any]) -> ColumnElement[bool]:
    """``full`` is ``tail`` or ends with ``/`` + ``tail`` (no LIKE: ``_`` is common in names)."""
    n, m = sa.func.length(full), sa.func.length(tail)
    return sa.or_(
        full == tail,
        sa.and_(n > m, sa.func.substr(full, n - m) == sa.literal_column("'/'", sa.Text) + tail),
    )


@dataclass(frozen=True)
class _Step:
    """One kind of edge, walked from ``frm`` nodes; ``build`` selects (key, path) of the others."""

    frm: str  # "r" | "a"
    to: str
    rel: str
    part: bool
    build: Callable[[Any], sa.Select[Any]]
    # A tree reached through this kind of part edge may not be left through a part edge.
    blocked_after: str | None = None


def _steps(direction: Direction) -> list[_Step]:
    io, te, ds, rp = t.run_io.c, t.tree_entries.c, t.datasets.c, t.reproductions.c

    def io2() -> Any:
        return t.run_io.alias("io2")

    if direction == "down":
        return [
            _Step(
                "a",
                "r",
                "used",
                False,
                lambda c: sa.select(io.run_id, io.path).where(
                    io.digest == c.key, io.role == "input"
                ),
            ),
            _Step(
                "a",
                "r",
                "used",
                True,
                lambda c: (
                    lambda j: (
                        sa.select(j.c.run_id, j.c.path)
                        .select_from(t.tree_entries.join(j, j.c.digest == te.digest))
                        .where(
                            te.tree_digest == c.key,
                            j.c.role == "input",
                            _ends_with(j.c.path, te.path),
                            c.rel != "generated_part",
                        )
                    )
                )(io2()),
            ),
            _Step(
                "r",
                "a",
                "generated",
                False,
                lambda c: sa.select(io.digest, io.path).where(
                    io.run_id == c.key, io.role == "output"
                ),
            ),
            _Step(
                "r",
                "a",
                "generated",
                True,
                lambda c: (
                    sa.select(te.tree_digest, io.path)
                    .select_from(t.run_io.join(t.tree_entries, te.digest == io.digest))
                    .where(io.run_id == c.key, io.role == "output", _ends_with(io.path, te.path))
                ),
            ),
            _Step(
                "r",
                "a",
                "generated",
                False,
                lambda c: sa.select(ds.digest, ds.path).where(ds.run_id == c.key),
            ),
            _Step(
                "r",
                "r",
                "reproduced",
                False,
                lambda c: sa.select(rp.run_id, sa.null()).where(rp.original_id == c.key),
            ),
        ]
    return [
        _Step(
            "r",
            "a",
            "used",
            False,
            lambda c: sa.select(io.digest, io.path).where(io.run_id == c.key, io.role == "input"),
        ),
        _Step(
            "r",
            "a",
            "used",
            True,
            lambda c: (
                sa.select(te.tree_digest, io.path)
                .select_from(t.run_io.join(t.tree_entries, te.digest == io.digest))
                .where(io.run_id == c.key, io.role == "input", _ends_with(io.path, te.path))
            ),
        ),
        _Step(
            "a",
            "r",
            "generated",
            False,
            lambda c: sa.select(io.run_id, io.path).where(io.digest == c.key, io.role == "output"),
        ),
        _Step(
            "a",
            "r",
            "generated",
            True,
            lambda c: (
                lambda j: (
                    sa.select(j.c.run_id, j.c.path)
                    .select_from(t.tree_entries.join(j, j.c.digest == te.digest))
                    .where(
                        te.tree_digest == c.key,
                        j.c.role == "output",
                        _ends_with(j.c.path, te.path),
                        c.rel != "used_part",
                    )
                )
            )(io2()),
        ),
        _Step(
            "a",
            "r",
            "generated",
            False,
            lambda c: sa.select(ds.run_id, ds.path).where(
                ds.digest == c.key, ds.run_id.is_not(None)
            ),
        ),
        _Step(
            "r",
            "r",
            "reproduced",
            False,
            lambda c: sa.select(rp.original_id, sa.null()).where(rp.run_id == c.key),
        ),
    ]


def _rel_code(step: _Step) -> str:
    return step.rel + ("_part" if step.part else "")


def _reach_rel(step: _Step, direction: Direction) -> str:
    """Without depth, only the arrival that blocks a later step matters: fewer distinct rows."""
    code = _rel_code(step)
    blocking = "generated_part" if direction == "down" else "used_part"
    return code if code == blocking else "other"


def _anchor(n_starts: int, *, with_depth: bool) -> sa.Select[Any]:
    # Bound parameters, not literals, so the compiled statement is cached and reused.
    parts = [
        sa.select(
            sa.cast(sa.bindparam(f"k{i}", type_=sa.Text), sa.Text).label("start_kind"),
            sa.cast(sa.bindparam(f"v{i}", type_=sa.Text), sa.Text).label("start_key"),
        )
        for i in range(n_starts)
    ]
    starts = (parts[0] if n_starts == 1 else sa.union_all(*parts)).cte("starts")
    cols: list[Any] = [starts.c.start_kind.label("kind"), starts.c.start_key.label("key")]
    if with_depth:
        cols += [
            sa.cast(sa.literal_column("0"), sa.Integer).label("depth"),
            sa.cast(sa.null(), sa.Text).label("via_kind"),
            sa.cast(sa.null(), sa.Text).label("via_key"),
        ]
    cols.append(_text("start").label("rel"))
    if with_depth:
        cols.append(sa.cast(sa.null(), sa.Text).label("path"))
    return sa.select(*cols).select_from(starts)


# SQLite allows 500 SELECTs in one compound; larger start sets are walked in groups.
_MAX_STARTS = 400


def _rows(
    conn: Connection, starts: Sequence[NodeRef], direction: Direction, depth: int | None
) -> Iterable[Any]:
    """Execute the walk from ``starts`` (in groups), yielding its rows."""
    ordered = sorted(set(starts))
    for i in range(0, len(ordered), _MAX_STARTS):
        group = ordered[i : i + _MAX_STARTS]
        stmt = _recursive(conn.dialect.name, len(group), direction, depth is not None)
        params: dict[str, Any] = {}
        for j, node in enumerate(group):
            params[f"k{j}"] = _CODE[node.kind]
            params[f"v{j}"] = node.key
        if depth is not None:
            params["max_depth"] = depth
        yield from conn.execute(stmt, params)


@functools.lru_cache(maxsize=256)
def _recursive(
    dialect: str, n_starts: int, direction: Direction, with_depth: bool
) -> sa.Select[Any]:
    """The walk as one statement: rows of (kind, key[, depth, via_kind, via_key], rel[, path])."""
    cte = _anchor(n_starts, with_depth=with_depth).cte("lineage_walk", recursive=True)
    c = cte.c
    steps = _steps(direction)
    depth = sa.bindparam("max_depth", type_=sa.Integer)

    def out_columns(step: _Step, key: Any, path: Any, depth_of: Any) -> list[Any]:
        cols: list[Any] = [_text(step.to), sa.cast(key, sa.Text)]
        if with_depth:
            cols += [depth_of + 1, c.kind, c.key]
        cols.append(_text(_rel_code(step) if with_depth else _reach_rel(step, direction)))
        if with_depth:
            cols.append(sa.cast(path, sa.Text))
        return cols

    def guard(step: _Step) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [c.kind == step.frm]
        if with_depth:
            conds.append(c.depth < depth)
        return conds

    if dialect == "postgresql":
        # One recursive reference: the edge kinds become a LATERAL union evaluated per row.
        branches = []
        for step in steps:
            inner = step.build(c)
            key_col, path_col = list(inner.selected_columns)[:2]
            branches.append(
                inner.with_only_columns(
                    _text(step.to).label("to_kind"),
                    sa.cast(key_col, sa.Text).label("to_key"),
                    _text(_rel_code(step) if with_depth else _reach_rel(step, direction)).label(
                        "to_rel"
                    ),
                    sa.cast(path_col, sa.Text).label("to_path"),
                ).where(c.kind == step.frm)
            )
        lateral = sa.union_all(*branches).lateral("edge")
        cols: list[Any] = [lateral.c.to_kind, lateral.c.to_key]
        if with_depth:
            cols += [c.depth + 1, c.kind, c.key]
        cols.append(lateral.c.to_rel)
        if with_depth:
            cols.append(lateral.c.to_path)
        rec = sa.select(*cols).select_from(cte.join(lateral, sa.true()))
        if with_depth:
            rec = rec.where(c.depth < depth)
        cte = cte.union(rec)
    else:
        recs = []
        for step in steps:
            inner = step.build(c)
            key_col, path_col = list(inner.selected_columns)[:2]
            recs.append(
                inner.with_only_columns(
                    *out_columns(step, key_col, path_col, c.depth if with_depth else None)
                ).where(*guard(step))
            )
        cte = cte.union(*recs)
    return sa.select(cte)


# -- the public walks -----------------------------------------------------------------------------


def walk(
    conn: Connection,
    starts: Sequence[NodeRef],
    *,
    direction: Direction,
    depth: int | None = None,
) -> Graph:
    """Every node within ``depth`` steps of ``starts`` upstream or downstream, and the edges."""
    limit = DEFAULT_DEPTH if depth is None else depth
    graph = Graph(roots=list(starts), direction=direction, depth=limit)
    for node in starts:
        graph.distance[node] = 0
    if not starts:
        return graph
    seen_edges: set[Edge] = set()
    for row in _rows(conn, starts, direction, limit):
        if row.rel == "start":
            continue
        node = NodeRef(_KIND[row.kind], row.key)  # type: ignore[arg-type]
        via = NodeRef(_KIND[row.via_kind], row.via_key)  # type: ignore[arg-type]
        d = int(row.depth)
        if d < graph.distance.get(node, d + 1):
            graph.distance[node] = d
        rel, _, part = row.rel.partition("_")
        src, dst = (via, node) if direction == "down" else (node, via)
        edge = Edge(src, dst, rel, row.path, part == "part")
        if edge not in seen_edges:
            seen_edges.add(edge)
            graph.edges.append(edge)
        if row.path:
            artifact = node if node.kind == "artifact" else via
            if artifact.kind == "artifact" and not edge.part:
                graph.paths.setdefault(artifact, set()).add(row.path)
    frontier = sorted(n for n, d in graph.distance.items() if d >= limit)
    graph.truncated = bool(frontier) and _has_more(conn, frontier, direction)
    return graph


def _has_more(conn: Connection, frontier: Sequence[NodeRef], direction: Direction) -> bool:
    """Whether nodes at the depth limit lead any further (one query for all of them)."""
    return any(row.rel != "start" for row in _rows(conn, frontier, direction, 1))


def reach(conn: Connection, starts: Sequence[NodeRef], *, direction: Direction) -> set[NodeRef]:
    """Every node reachable from ``starts``, however far; each node is expanded once or twice,
    so cycles end and wide graphs stay cheap (no depth or path is carried)."""
    if not starts:
        return set()
    out = set(starts)
    for row in _rows(conn, starts, direction, None):
        out.add(NodeRef(_KIND[row.kind], row.key))  # type: ignore[arg-type]
    return out


# -- details of the nodes found -------------------------------------------------------------------


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def run_details(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What lineage shows of each run: names, status, code and environment, reproductions."""
    r, rp = t.runs.c, t.reproductions.c
    out: dict[str, dict[str, Any]] = {}
    ids = sorted(set(ids))
    for chunk in _chunks(ids):
        rows = conn.execute(
            sa.select(
                r.id,
                r.experiment,
                r.name,
                r.kind,
                r.status,
                r.command,
                r.started_at,
                r.ended_at,
                r.user,
                r.code_commit,
                r.code_dirty,
                r.code_patch_digest,
                r.code_remote,
                r.environment_digest,
            ).where(r.id.in_(chunk))
        )
        for row in rows:
            out[row.id] = {
                "id": row.id,
                "experiment": row.experiment,
                "name": row.name,
                "run_kind": row.kind,  # run | sweep | reproduction
                "status": row.status,
                "command": json.loads(row.command) if row.command else None,
                "started_at": row.started_at,
                "ended_at": row.ended_at,
                "user": row.user,
                "code": {
                    "commit": row.code_commit,
                    "dirty": row.code_dirty,
                    "patch_digest": row.code_patch_digest,
                    "remote": row.code_remote,
                },
                "environment_digest": row.environment_digest,
                "reproductions": [],
                "reproduction_of": None,
            }
        for rrow in conn.execute(
            sa.select(rp.run_id, rp.original_id, rp.verdict).where(
                sa.or_(rp.original_id.in_(chunk), rp.run_id.in_(chunk))
            )
        ):
            if rrow.original_id in out:
                out[rrow.original_id]["reproductions"].append(
                    {"id": rrow.run_id, "verdict": rrow.verdict}
                )
            if rrow.run_id in out:
                out[rrow.run_id]["reproduction_of"] = {
                    "original": rrow.original_id,
                    "verdict": rrow.verdict,
                }
    for rec in out.values():
        rec["reproductions"].sort(key=lambda x: x["id"])
    return out


def artifact_details(conn: Connection, digests: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What is known of each digest: ``type`` (file or dir), size, dataset versions, paths."""
    io, te, ds = t.run_io.c, t.tree_entries.c, t.datasets.c
    out: dict[str, dict[str, Any]] = {
        d: {"digest": d, "type": None, "size": None, "datasets": [], "paths": []}
        for d in set(digests)
    }
    keys = sorted(out)
    for chunk in _chunks(keys):
        for row in conn.execute(
            sa.select(ds.name, ds.version, ds.digest, ds.kind, ds.size, ds.path)
            .where(ds.digest.in_(chunk))
            .order_by(ds.name, ds.version)
        ):
            rec = out[row.digest]
            rec["datasets"].append(f"{row.name}@v{row.version}")
            rec["type"] = rec["type"] or row.kind
            rec["size"] = row.size if rec["size"] is None else rec["size"]
            if row.path and row.path not in rec["paths"]:
                rec["paths"].append(row.path)
        for irow in conn.execute(
            sa.select(io.digest, io.path, io.kind, io.size)
            .where(io.digest.in_(chunk))
            .distinct()
            .order_by(io.digest, io.path)
        ):
            rec = out[irow.digest]
            rec["type"] = rec["type"] or irow.kind
            rec["size"] = irow.size if rec["size"] is None else rec["size"]
            if irow.path not in rec["paths"]:
                rec["paths"].append(irow.path)
        for row in conn.execute(
            sa.select(te.tree_digest, sa.func.count(), sa.func.sum(te.size))
            .where(te.tree_digest.in_(chunk))
            .group_by(te.tree_digest)
        ):
            rec = out[row[0]]
            rec["type"] = "dir"
            rec["files"] = int(row[1])
            if rec["size"] is None:
                rec["size"] = int(row[2] or 0)
    return out


# -- impact: the same downstream closure, walked over runs only --------------------------------


def _run_steps(c: Any) -> list[sa.Select[Any]]:
    """From run ``c.run_id`` to the runs that read what it made (the run-level downstream edges).

    Each is a composition of the artifact-level steps: outputs (or dataset versions) of the run,
    then their readers, directly or through a file of a folder. A folder the run made only a
    file of (``generated`` part) is read as a whole only, as ``walk`` does.
    """
    o, i = t.run_io.alias("o"), t.run_io.alias("i")
    te, ds, rp = t.tree_entries.alias("te"), t.datasets.alias("ds"), t.reproductions.c
    return [
        # an output, read as such
        sa.select(i.c.run_id)
        .select_from(o.join(i, sa.and_(i.c.digest == o.c.digest, i.c.role == "input")))
        .where(o.c.run_id == c.run_id, o.c.role == "output"),
        # a folder output, a file of which is read
        sa.select(i.c.run_id)
        .select_from(
            o.join(te, te.c.tree_digest == o.c.digest).join(
                i, sa.and_(i.c.digest == te.c.digest, i.c.role == "input")
            )
        )
        .where(o.c.run_id == c.run_id, o.c.role == "output", _ends_with(i.c.path, te.c.path)),
        # a folder holding a file the run wrote, read as a whole
        sa.select(i.c.run_id)
        .select_from(
            o.join(te, te.c.digest == o.c.digest).join(
                i, sa.and_(i.c.digest == te.c.tree_digest, i.c.role == "input")
            )
        )
        .where(o.c.run_id == c.run_id, o.c.role == "output", _ends_with(o.c.path, te.c.path)),
        # a dataset version the run produced, read as a whole or a file of it
        sa.select(i.c.run_id)
        .select_from(ds.join(i, sa.and_(i.c.digest == ds.c.digest, i.c.role == "input")))
        .where(ds.c.run_id == c.run_id),
        sa.select(i.c.run_id)
        .select_from(
            ds.join(te, te.c.tree_digest == ds.c.digest).join(
                i, sa.and_(i.c.digest == te.c.digest, i.c.role == "input")
            )
        )
        .where(ds.c.run_id == c.run_id, _ends_with(i.c.path, te.c.path)),
        # its reproductions
        sa.select(rp.run_id).where(rp.original_id == c.run_id),
    ]


@functools.lru_cache(maxsize=8)
def _runs_downstream_statement(dialect: str) -> sa.Select[Any]:
    io, te = t.run_io.alias("si"), t.tree_entries.alias("ste")
    digests: Any = sa.bindparam("digests", expanding=True)
    run_ids: Any = sa.bindparam("run_ids", expanding=True)
    first = sa.union(
        sa.select(io.c.run_id.label("run_id")).where(
            io.c.role == "input", io.c.digest.in_(digests)
        ),
        sa.select(io.c.run_id)
        .select_from(te.join(io, sa.and_(io.c.digest == te.c.digest, io.c.role == "input")))
        .where(te.c.tree_digest.in_(digests), _ends_with(io.c.path, te.c.path)),
        sa.select(t.runs.c.id).where(t.runs.c.id.in_(run_ids)),
    ).subquery("first_hop")
    cte = (
        sa.select(sa.cast(first.c.run_id, sa.Text).label("run_id"))
        .select_from(first)
        .cte("downstream_runs", recursive=True)
    )
    steps = _run_steps(cte.c)
    if dialect == "postgresql":
        branches = [
            s.with_only_columns(sa.cast(next(iter(s.selected_columns)), sa.Text).label("next"))
            for s in steps
        ]
        lateral = sa.union_all(*branches).lateral("edge")
        cte = cte.union(sa.select(lateral.c.next).select_from(cte.join(lateral, sa.true())))
    else:
        cte = cte.union(
            *[s.with_only_columns(sa.cast(next(iter(s.selected_columns)), sa.Text)) for s in steps]
        )
    return sa.select(cte.c.run_id)


def downstream_runs(conn: Connection, starts: Sequence[NodeRef]) -> set[str]:
    """Every run downstream of ``starts`` (the runs themselves included), however far.

    The same closure as ``reach(..., direction="down")`` restricted to runs, walked one run at a
    time instead of one node at a time: for impact, where the artifacts are then read in bulk as
    the outputs of these runs.
    """
    digests = sorted({n.key for n in starts if n.kind == "artifact"}) or [""]
    run_ids = sorted({n.key for n in starts if n.kind == "run"}) or [""]
    stmt = _runs_downstream_statement(conn.dialect.name)
    return {row.run_id for row in conn.execute(stmt, {"digests": digests, "run_ids": run_ids})}


def run_outputs(conn: Connection, run_ids: Sequence[str]) -> set[str]:
    """What ``reach`` finds downstream of these runs besides runs: outputs, folders holding
    them, dataset versions they produced."""
    io, te, ds = t.run_io.c, t.tree_entries.c, t.datasets.c
    out: set[str] = set()
    for chunk in _chunks(list(run_ids)):
        out.update(
            conn.execute(
                sa.select(io.digest).where(io.run_id.in_(chunk), io.role == "output")
            ).scalars()
        )
        out.update(
            conn.execute(
                sa.select(te.tree_digest)
                .select_from(t.run_io.join(t.tree_entries, te.digest == io.digest))
                .where(io.run_id.in_(chunk), io.role == "output", _ends_with(io.path, te.path))
            ).scalars()
        )
        out.update(conn.execute(sa.select(ds.digest).where(ds.run_id.in_(chunk))).scalars())
    return out
