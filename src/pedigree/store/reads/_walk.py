"""The lineage walk: one recursive statement from some nodes, upstream or downstream.

The graph, its edge kinds and the rule about folders are described in ``store.reads.lineage``.
The walk is one ``WITH RECURSIVE`` statement. SQLite evaluates it one queued row at a time, so
each edge kind is its own recursive SELECT (SQLite 3.34+ allows several), joined in a fixed
order (``CROSS JOIN``) from the row to the index it looks up; PostgreSQL allows one recursive
reference, so there the edge kinds are a ``LATERAL`` union evaluated per row. Either way every
step is an index lookup and the graph never has to be loaded into Python. Impact, which needs
everything downstream of a node however far, has its own statement (``store.reads._closure``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pedigree.store.db import Db
from pedigree.store.reads import chunked
from pedigree.store.reads._sql import Dialect, ends_with, fetch, likely_one, prepare
from pedigree.store.reads.lineage import Direction, Edge, Graph, NodeKind, NodeRef

__all__ = ["reach", "walk"]

_CODE = {"run": "r", "artifact": "a"}
_KIND: dict[str, NodeKind] = {"r": "run", "a": "artifact"}


# -- the edge kinds, as steps from the row ``w`` to its neighbours --------------------------------


@dataclass(frozen=True)
class _Step:
    """One kind of edge: from a ``frm`` row ``w``, the ``key`` (and ``path``) of each neighbour
    found by joining ``tables`` (in this order) under ``conditions``."""

    frm: str  # "r" | "a"
    to: str
    rel: str  # used | generated | reproduced
    part: bool
    tables: tuple[str, ...]
    conditions: tuple[str, ...]
    key: str
    path: str = "NULL"

    @property
    def code(self) -> str:
        return self.rel + ("_part" if self.part else "")


# fmt: off
_DOWN = (
    _Step("a", "r", "used", False, ("run_io i",), ("i.digest = w.key", "i.role = 'input'"),
          "i.run_id", "i.path"),
    # A tree reached through a file a run wrote does not lead on to the readers of its files.
    _Step("a", "r", "used", True, ("tree_entries te", "run_io i"),
          ("w.rel <> 'generated_part'", "te.tree_digest = w.key", "i.digest = te.digest",
           "i.role = 'input'", ends_with("i.path", "te.path")),
          "i.run_id", "i.path"),
    _Step("r", "a", "generated", False, ("run_io o",), ("o.run_id = w.key", "o.role = 'output'"),
          "o.digest", "o.path"),
    _Step("r", "a", "generated", True, ("run_io o", "tree_entries te"),
          ("o.run_id = w.key", "o.role = 'output'", "te.digest = o.digest",
           ends_with("o.path", "te.path")),
          "te.tree_digest", "o.path"),
    _Step("r", "a", "generated", False, ("datasets ds",), ("ds.run_id = w.key",),
          "ds.digest", "ds.path"),
    _Step("r", "r", "reproduced", False, ("reproductions rp",), ("rp.original_id = w.key",),
          "rp.run_id"),
)

_UP = (
    _Step("r", "a", "used", False, ("run_io i",), ("i.run_id = w.key", "i.role = 'input'"),
          "i.digest", "i.path"),
    _Step("r", "a", "used", True, ("run_io i", "tree_entries te"),
          ("i.run_id = w.key", "i.role = 'input'", "te.digest = i.digest",
           ends_with("i.path", "te.path")),
          "te.tree_digest", "i.path"),
    _Step("a", "r", "generated", False, ("run_io o",), ("o.digest = w.key", "o.role = 'output'"),
          "o.run_id", "o.path"),
    # A tree reached through a file a run read does not lead on to the writers of its files.
    _Step("a", "r", "generated", True, ("tree_entries te", "run_io o"),
          ("w.rel <> 'used_part'", "te.tree_digest = w.key", "o.digest = te.digest",
           "o.role = 'output'", ends_with("o.path", "te.path")),
          "o.run_id", "o.path"),
    _Step("a", "r", "generated", False, ("datasets ds",),
          ("ds.digest = w.key", "ds.run_id IS NOT NULL"), "ds.run_id", "ds.path"),
    _Step("r", "r", "reproduced", False, ("reproductions rp",), ("rp.run_id = w.key",),
          "rp.original_id"),
)
# fmt: on

_STEPS = {"down": _DOWN, "up": _UP}
_BLOCKING = {"down": "generated_part", "up": "used_part"}


def _rel(step: _Step, direction: Direction, with_depth: bool) -> str:
    """Without depth (``reach``), only the arrival that blocks a later step matters: so fewer
    distinct rows, and each node is expanded once or twice."""
    if with_depth or step.code == _BLOCKING[direction]:
        return step.code
    return "other"


@functools.lru_cache(maxsize=256)
def _statement(name: Dialect, n_starts: int, direction: Direction, with_depth: bool) -> str:
    """The walk from ``n_starts`` nodes (params ``k0``/``v0``...): rows of (kind, key, depth,
    via_kind, via_key, rel, path), or (kind, key, rel) without depth."""
    values = ", ".join(f"(CAST(:k{i} AS TEXT), CAST(:v{i} AS TEXT))" for i in range(n_starts))
    if with_depth:
        columns = "kind, key, depth, via_kind, via_key, rel, path"
        anchor = (
            "SELECT kind, key, 0, CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST('start' AS TEXT),"
            " CAST(NULL AS TEXT) FROM starts"
        )
    else:
        columns = "kind, key, rel"
        anchor = "SELECT kind, key, CAST('start' AS TEXT) FROM starts"
    steps = _STEPS[direction]
    if name == "postgresql":
        branches = " UNION ALL ".join(
            f"SELECT CAST('{s.to}' AS TEXT) AS kind, CAST({s.key} AS TEXT) AS key,"
            f" CAST('{_rel(s, direction, with_depth)}' AS TEXT) AS rel,"
            f" CAST({s.path} AS TEXT) AS path"
            f" FROM {' CROSS JOIN '.join(s.tables)}"
            f" WHERE w.kind = '{s.frm}' AND {' AND '.join(s.conditions)}"
            for s in steps
        )
        if with_depth:
            pick = "e.kind, e.key, w.depth + 1, w.kind, w.key, e.rel, e.path"
            bound = " WHERE w.depth < :max_depth"
        else:
            pick, bound = "e.kind, e.key, e.rel", ""
        recursive = f"SELECT {pick} FROM w CROSS JOIN LATERAL ({branches}) AS e{bound}"
    else:
        selects = []
        for s in steps:
            conditions = [likely_one(name, f"w.kind = '{s.frm}'")]
            if with_depth:
                conditions.append("w.depth < :max_depth")
                pick = f"'{s.to}', {s.key}, w.depth + 1, w.kind, w.key, '{s.code}', {s.path}"
            else:
                pick = f"'{s.to}', {s.key}, '{_rel(s, direction, with_depth)}'"
            selects.append(
                f"SELECT {pick} FROM w CROSS JOIN {' CROSS JOIN '.join(s.tables)}"
                f" WHERE {' AND '.join(conditions + list(s.conditions))}"
            )
        recursive = " UNION ".join(selects)
    return (
        f"WITH RECURSIVE starts(kind, key) AS (VALUES {values}),"
        f" w({columns}) AS ({anchor} UNION {recursive})"
        f" SELECT {columns} FROM w"
    )


# Two parameters a start: groups of 400 stay under the 999 variables older SQLites allow.
_MAX_STARTS = 400


def _rows(
    conn: Db, starts: Sequence[NodeRef], direction: Direction, depth: int | None
) -> Iterable[tuple[Any, ...]]:
    """Execute the walk from ``starts`` (in groups), yielding its rows."""
    name = prepare(conn)
    for group in chunked(sorted(set(starts)), _MAX_STARTS):
        params: dict[str, Any] = {}
        for j, node in enumerate(group):
            params[f"k{j}"] = _CODE[node.kind]
            params[f"v{j}"] = node.key
        if depth is not None:
            params["max_depth"] = depth
        yield from fetch(conn, _statement(name, len(group), direction, depth is not None), params)


# -- the walks -----------------------------------------------------------------------------------


def walk(
    conn: Db,
    starts: Sequence[NodeRef],
    *,
    direction: Direction,
    depth: int,
) -> Graph:
    """Every node within ``depth`` steps of ``starts`` upstream or downstream, and the edges.

    On PostgreSQL this turns JIT compilation off for the rest of ``conn``'s transaction.
    """
    limit = depth
    graph = Graph(roots=list(starts), direction=direction, depth=limit)
    for node in starts:
        graph.distance[node] = 0
    if not starts:
        return graph
    seen_edges: set[Edge] = set()
    for kind, key, d, via_kind, via_key, rel_code, path in _rows(conn, starts, direction, limit):
        if rel_code == "start":
            continue
        node = NodeRef(_KIND[kind], key)
        via = NodeRef(_KIND[via_kind], via_key)
        d = int(d)
        if d < graph.distance.get(node, d + 1):
            graph.distance[node] = d
        rel, _, part = rel_code.partition("_")
        src, dst = (via, node) if direction == "down" else (node, via)
        edge = Edge(src, dst, rel, path, part == "part")
        if edge not in seen_edges:
            seen_edges.add(edge)
            graph.edges.append(edge)
        if path:
            artifact = node if node.kind == "artifact" else via
            if artifact.kind == "artifact" and not edge.part:
                graph.paths.setdefault(artifact, set()).add(path)
    frontier = sorted(n for n, d in graph.distance.items() if d >= limit)
    graph.truncated = bool(frontier) and _has_more(conn, frontier, direction)
    return graph


def _has_more(conn: Db, frontier: Sequence[NodeRef], direction: Direction) -> bool:
    """Whether nodes at the depth limit lead any further (one query for all of them)."""
    return any(row[5] != "start" for row in _rows(conn, frontier, direction, 1))


def reach(conn: Db, starts: Sequence[NodeRef], *, direction: Direction) -> set[NodeRef]:
    """Every node reachable from ``starts``, however far; each node is expanded once or twice,
    so cycles end and wide graphs stay cheap (no depth or path is carried)."""
    if not starts:
        return set()
    out = set(starts)
    for kind, key, _rel_code in _rows(conn, starts, direction, None):
        out.add(NodeRef(_KIND[kind], key))
    return out
