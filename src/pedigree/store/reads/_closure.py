"""Everything downstream of some nodes, however far: the closure ``impact`` reports.

The closure is what ``reach(..., direction="down")`` finds (runs, the artifact versions they
made, the folders holding the files they wrote, the dataset versions they produced), computed
by one recursive statement that also returns what impact shows of each (``affected``). The
statement is the same on both backends:

- the walk is over runs only, along ``run_edges`` (kept by the projections, see
  ``store.edges``: run ``dst`` read something run ``src`` made, by each kind of edge the
  artifact-level walk follows), so each step is one lookup in the table's primary key; it
  starts from the readers of the start digests (and of the files of start folders) and the
  start runs;
- the artifacts come afterwards, joined once to the runs found: their outputs (with the
  folders holding each file, which lead on only as a whole and so are not walked as nodes),
  the dataset versions they produced, their rows and latest metrics.

On SQLite every join order is fixed (``CROSS JOIN``) and the row a step reads is hinted as one
(see ``store.reads._sql.likely_one``); PostgreSQL plans the joins itself.

Both are held to ``reach`` and to a reference walk in Python (``tests/lineage``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from pedigree.store.db import Db
from pedigree.store.reads._sql import Dialect, ends_with, fetch, keys_in, likely_one, prepare
from pedigree.store.reads.lineage import Affected, NodeRef

__all__ = ["affected", "downstream_runs", "run_outputs"]

# PostgreSQL's default work_mem (4 MB) makes a closure of 50,000 nodes spill to temporary files.
_WORK_MEM = "64MB"

# The rows ``affected`` reads are (tag, key, a, b, c, e, m, x, n), by tag:
_OUTPUT = 0  # digest, path, type, a folder holding the file (or NULL), -, -, -, size
# run id, experiment, name, status, kind (NULL when only run_io knows the run), then a metric
# and its value (a row per metric, NULL when it has none)
_RUN = 1
_DATASET = 2  # digest of a dataset version a run produced, NAME@vN


def _starts(starts: Sequence[NodeRef]) -> tuple[list[str], list[str]]:
    digests = sorted({n.key for n in starts if n.kind == "artifact"})
    runs = sorted({n.key for n in starts if n.kind == "run"})
    return digests, runs


# -- the statement ---------------------------------------------------------------------------------


def _hint(name: Dialect) -> str:
    # Always true; on SQLite it carries the estimate (see ``likely_one``), and the unary ``+``
    # keeps SQLite from carrying ``IS NOT NULL`` over to the joined column as a range to scan.
    return likely_one(name, "+d.run_id IS NOT NULL") if name == "sqlite" else "TRUE"


def _text(name: Dialect, expr: str) -> str:
    # PostgreSQL types a recursive CTE by its first term: all of them text.
    return f"CAST({expr} AS TEXT)" if name == "postgresql" else expr


def _keys(name: Dialect, param: str) -> str:
    """The values of a list parameter as rows of ``s(value)``."""
    if name == "postgresql":
        return f"unnest(CAST(:{param} AS TEXT[])) AS s(value)"
    return f"json_each(:{param}) AS s"


def _runs(name: Dialect, has_digests: bool, has_runs: bool) -> str:
    """``d(run_id)``: every run downstream of the start digests and runs, the latter included."""
    anchors = []
    if has_digests:
        # The starts first (``CROSS JOIN``): else SQLite may scan tree_entries for them.
        starts = f"FROM {_keys(name, 'digests')} CROSS JOIN"
        anchors += [
            f"SELECT {_text(name, 'i.run_id')} {starts} run_io i"
            " WHERE i.digest = s.value AND i.role = 'input'",
            f"SELECT {_text(name, 'i.run_id')} {starts} tree_entries te CROSS JOIN run_io i"
            " WHERE te.tree_digest = s.value AND i.digest = te.digest AND i.role = 'input'"
            f" AND {ends_with('i.path', 'te.path')}",
        ]
    if has_runs:
        anchors.append(f"SELECT {_text(name, 's.value')} FROM {_keys(name, 'runs')}")
    # the runs that read what a run found made (``store.edges``)
    step = (
        f"SELECT {_text(name, 'e.dst')} FROM d CROSS JOIN run_edges e"
        f" WHERE {_hint(name)} AND e.src = d.run_id"
    )
    return f"d(run_id) AS ({' UNION '.join([*anchors, step])})"


@functools.lru_cache(maxsize=16)
def _affected(name: Dialect, has_digests: bool, has_runs: bool) -> str:
    hint = _hint(name)
    return (
        f"WITH RECURSIVE {_runs(name, has_digests, has_runs)}"
        f" SELECT {_OUTPUT}, o.digest, o.path, o.kind, te.tree_digest, NULL, NULL,"
        " CAST(NULL AS DOUBLE PRECISION), o.size"
        " FROM d CROSS JOIN run_io o LEFT JOIN tree_entries te ON te.digest = o.digest"
        f" AND {ends_with('o.path', 'te.path')}"
        f" WHERE {hint} AND o.run_id = d.run_id AND o.role = 'output'"
        f" UNION ALL SELECT {_RUN}, d.run_id, r.experiment, r.name, r.status, r.kind, m.key,"
        " m.value, NULL FROM d LEFT JOIN runs r ON r.id = d.run_id"
        f" LEFT JOIN latest_metrics m ON m.run_id = d.run_id WHERE {hint}"
        f" UNION ALL SELECT {_DATASET}, ds.digest, ds.name || '@v' || ds.version, NULL, NULL,"
        f" NULL, NULL, NULL, NULL FROM d CROSS JOIN datasets ds WHERE {hint}"
        " AND ds.run_id = d.run_id"
    )


@functools.lru_cache(maxsize=16)
def _downstream(name: Dialect, has_digests: bool, has_runs: bool) -> str:
    return f"WITH RECURSIVE {_runs(name, has_digests, has_runs)} SELECT run_id FROM d"


def _params(name: Dialect, digests: list[str], runs: list[str]) -> dict[str, Any]:
    if name == "postgresql":
        return {"digests": digests, "runs": runs}
    return {"digests": json.dumps(digests), "runs": json.dumps(runs)}


def affected(conn: Db, starts: Sequence[NodeRef]) -> Affected:
    """Everything downstream of ``starts`` (see the module docstring), with what impact shows."""
    out = Affected()
    digests, runs = _starts(starts)
    if not digests and not runs:
        return out
    name = prepare(conn, work_mem=_WORK_MEM)
    sql, params = _affected(name, bool(digests), bool(runs)), _params(name, digests, runs)
    artifacts, other, datasets, metrics = out.artifacts, out.other, out.datasets, out.metrics
    found = out.runs
    for tag, key, a, b, c, e, m, x, n in fetch(conn, sql, params):
        if tag == _OUTPUT:
            rec = artifacts.get(key)
            if rec is None:
                artifacts[key] = {"digest": key, "type": b, "size": n, "datasets": [], "paths": [a]}
            elif a not in rec["paths"]:
                rec["paths"].append(a)
            if c is not None:
                other.add(c)
        elif tag == _RUN:
            if key not in found:
                found[key] = None if a is None else (a, b, c, e)
            if m is not None:
                metrics.setdefault(key, {})[m] = float("nan") if x is None else x
        else:
            datasets.setdefault(key, []).append(a)
    other.update(d for d in datasets if d not in artifacts)
    other.difference_update(artifacts)
    for digest, labels in datasets.items():
        if digest in artifacts:
            artifacts[digest]["datasets"] = sorted(labels)
    return out


# -- the closure alone ----------------------------------------------------------------------------


def downstream_runs(conn: Db, starts: Sequence[NodeRef]) -> set[str]:
    """Every run downstream of ``starts`` (the start runs included), however far."""
    digests, runs = _starts(starts)
    if not digests and not runs:
        return set()
    name = prepare(conn, work_mem=_WORK_MEM)
    sql, params = _downstream(name, bool(digests), bool(runs)), _params(name, digests, runs)
    return {row[0] for row in fetch(conn, sql, params)}


def run_outputs(conn: Db, run_ids: Sequence[str]) -> set[str]:
    """What ``reach`` finds downstream of these runs besides runs: outputs, folders holding
    them, dataset versions they produced."""
    name = prepare(conn)
    out: set[str] = set()
    for condition, params in keys_in(name, "o.run_id", sorted(set(run_ids))):
        for digest, tree in fetch(
            conn,
            "SELECT o.digest, te.tree_digest FROM run_io o LEFT JOIN tree_entries te"
            f" ON te.digest = o.digest AND {ends_with('o.path', 'te.path')}"
            f" WHERE {condition} AND o.role = 'output'",
            params,
        ):
            out.add(digest)
            if tree is not None:
                out.add(tree)
    for condition, params in keys_in(name, "ds.run_id", sorted(set(run_ids))):
        out.update(
            row[0]
            for row in fetch(conn, f"SELECT ds.digest FROM datasets ds WHERE {condition}", params)
        )
    return out
