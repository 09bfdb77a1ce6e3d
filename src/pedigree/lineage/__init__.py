"""Lineage: where a result came from, what a change affects, and how two runs differ.

- ``graph``: the run / artifact-version graph, walked upstream or downstream with one recursive
  query on SQLite and PostgreSQL (the statements are the store's: ``store.reads.lineage``);
- ``target``: what ``pedigree lineage TARGET`` names (a run, a path, ``NAME@vN``, a digest);
- ``report`` and ``impact``: ``lineage_report`` and ``impact_report``, the JSON the commands
  print;
- ``render``: text tree, Graphviz dot and Mermaid;
- ``diff``: ``diff_runs``, what differs between two runs.

Each takes a :class:`~pedigree.context.Context` (or, below the reports, a reader).

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> lineage_report(ctx, "prices@v2", direction="down", depth=4)
Traceback (most recent call last):
...
pedigree.errors.NotFound: no dataset named 'prices'
"""

from __future__ import annotations

from pedigree.lineage.diff import diff_runs
from pedigree.lineage.graph import DEFAULT_DEPTH, Edge, Graph, NodeRef, reach, walk
from pedigree.lineage.impact import impact_report
from pedigree.lineage.report import lineage_report
from pedigree.lineage.target import Target, resolve_target

__all__ = [
    "DEFAULT_DEPTH",
    "Edge",
    "Graph",
    "NodeRef",
    "Target",
    "diff_runs",
    "impact_report",
    "lineage_report",
    "reach",
    "resolve_target",
    "walk",
]
