"""Lineage: where a result came from, what a change affects, and how two runs differ.

- ``graph``: the run / artifact-version graph, walked upstream or downstream with one recursive
  query on SQLite and PostgreSQL;
- ``target``: what ``pedigree lineage TARGET`` names (a run, a path, ``NAME@vN``, a digest);
- ``closure``: everything downstream of a node, however far, in one statement (for impact);
- ``report`` and ``impact``: ``lineage_report`` and ``impact_report``, the JSON the commands
  print (``details`` reads what they show of each node);
- ``render``: text tree, Graphviz dot and Mermaid;
- ``diff``: ``diff_runs``, what differs between two runs.

>>> from pedigree.lineage import lineage_report                     # doctest: +SKIP
>>> lineage_report(tracker, "prices@v2", direction="down", depth=4)  # doctest: +SKIP
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
