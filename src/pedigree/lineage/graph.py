"""The lineage graph: runs and artifact versions, walked upstream or downstream in the store.

The graph, its edge kinds and the rule about folders are described in
:mod:`pedigree.store.reads.lineage`; each walk is one recursive statement there, so the graph
never has to be loaded into Python. "All the way" still needs a bound: identical bytes written
again can close a cycle, so a walk without a depth stops at :data:`DEFAULT_DEPTH`.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> with ctx.read() as reader:
...     g = walk(reader, [NodeRef("artifact", "blake3:" + "0" * 64)], direction="down")
>>> g.depth, g.truncated, [n.kind for n in g.nodes]
(50, False, ['artifact'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pedigree.store.reads.lineage import Direction, Edge, Graph, NodeRef

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["DEFAULT_DEPTH", "Direction", "Edge", "Graph", "NodeRef", "reach", "walk"]

DEFAULT_DEPTH = 50


def walk(
    reader: Reader,
    starts: Sequence[NodeRef],
    *,
    direction: Direction,
    depth: int | None = None,
) -> Graph:
    """Every node within ``depth`` steps of ``starts`` (default :data:`DEFAULT_DEPTH`) upstream or
    downstream, and the edges taken.

    On PostgreSQL this turns JIT compilation off for the rest of the reader's transaction.
    """
    limit = DEFAULT_DEPTH if depth is None else depth
    return reader.walk(starts, direction=direction, depth=limit)


def reach(reader: Reader, starts: Sequence[NodeRef], *, direction: Direction) -> set[NodeRef]:
    """Every node reachable from ``starts``, however far; each node is expanded once or twice,
    so cycles end and wide graphs stay cheap (no depth or path is carried)."""
    return reader.reach(starts, direction=direction)
