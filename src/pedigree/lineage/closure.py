"""Everything downstream of some nodes, however far: the closure ``impact`` reports.

The closure is what ``reach(..., direction="down")`` finds (runs, the artifact versions they
made, the folders holding the files they wrote, the dataset versions they produced), computed
by one recursive statement that also returns what impact shows of each (``affected``). Its
shape differs by backend, because the two evaluate a recursive CTE differently:

- SQLite takes the queue one row at a time and runs every recursive SELECT for it, so the
  fewer rows the better: the walk is over runs only (a step is "the readers of what this run
  made", composed from the artifact-level edges), and the artifacts come afterwards, as the
  outputs of the runs found, joined in the same statement.
- PostgreSQL takes the whole frontier at a time, with one recursive reference (an inner
  ``WITH`` shares it between the edge kinds), so it walks artifacts and runs alike and the
  artifacts are rows of the walk, with their path, type and size. A folder holding a file a run
  wrote leads on only as a whole, so it is a column of that file's row rather than a node.

Both are held to ``reach`` and to a reference walk in Python (``tests/lineage``).

>>> with store.read() as conn:                                      # doctest: +SKIP
...     found = affected(conn, [NodeRef("artifact", "blake3:…")])
>>> len(found.runs), len(found.artifacts)                            # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from pedigree.lineage._sql import Dialect, ends_with, fetch, keys_in, likely_one, prepare

if TYPE_CHECKING:
    from pedigree.lineage.graph import NodeRef

__all__ = ["Affected", "affected", "downstream_runs", "run_outputs"]

# PostgreSQL's default work_mem (4 MB) makes a closure of 50,000 nodes spill to temporary files.
_WORK_MEM = "64MB"

# A run as impact lists it: (experiment, name, status, kind).
RunRow = tuple[str, str | None, str, str]

# The rows ``affected`` reads are (tag, key, a, b, c, e, m, x, n), by tag:
_OUTPUT = 0  # digest, path, type, a folder holding the file (or NULL), -, -, -, size
# run id, experiment, name, status, kind (NULL when only run_io knows the run), then a metric
# and its value (a row per metric, NULL when it has none)
_RUN = 1
_DATASET = 2  # digest of a dataset version a run produced, NAME@vN


@dataclass
class Affected:
    """What is downstream of the starts: runs (start runs included), their latest metrics, the
    artifact versions they made (digest -> record), and the other artifact versions found
    (folders holding their files, dataset versions they produced: known by digest only)."""

    runs: dict[str, RunRow | None] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    other: set[str] = field(default_factory=set)
    # Dataset versions produced by the runs found, by digest.
    datasets: dict[str, list[str]] = field(default_factory=dict)


def _starts(starts: Sequence[NodeRef]) -> tuple[list[str], list[str]]:
    digests = sorted({n.key for n in starts if n.kind == "artifact"})
    runs = sorted({n.key for n in starts if n.kind == "run"})
    return digests, runs


# -- SQLite: a walk over runs ---------------------------------------------------------------------


# Always true; it carries the estimate (see ``likely_one``). The unary ``+`` keeps SQLite from
# carrying ``IS NOT NULL`` over to the joined column as a range to scan.
_HINT = likely_one("sqlite", "+d.run_id IS NOT NULL")


def _sqlite_runs(has_digests: bool, has_runs: bool) -> str:
    """``d(run_id)``: every run downstream of the start digests and runs, the latter included."""
    hint = _HINT
    anchors = []
    if has_digests:
        # The starts first (``CROSS JOIN``): else SQLite may scan tree_entries for them.
        starts = "FROM json_each(:digests) AS s CROSS JOIN"
        anchors += [
            f"SELECT i.run_id {starts} run_io i WHERE i.digest = s.value AND i.role = 'input'",
            f"SELECT i.run_id {starts} tree_entries te CROSS JOIN run_io i"
            " WHERE te.tree_digest = s.value AND i.digest = te.digest AND i.role = 'input'"
            f" AND {ends_with('i.path', 'te.path')}",
        ]
    if has_runs:
        anchors.append("SELECT value FROM json_each(:runs)")
    readers = "CROSS JOIN run_io i"
    steps = [
        # an output, read as such
        f"FROM d CROSS JOIN run_io o {readers} WHERE {hint} AND o.run_id = d.run_id"
        " AND o.role = 'output' AND i.digest = o.digest AND i.role = 'input'",
        # a folder output, a file of which is read
        f"FROM d CROSS JOIN run_io o CROSS JOIN tree_entries te {readers} WHERE {hint}"
        " AND o.run_id = d.run_id AND o.role = 'output' AND te.tree_digest = o.digest"
        f" AND i.digest = te.digest AND i.role = 'input' AND {ends_with('i.path', 'te.path')}",
        # a folder holding a file the run wrote, read as a whole (not through its other files)
        f"FROM d CROSS JOIN run_io o CROSS JOIN tree_entries te {readers} WHERE {hint}"
        " AND o.run_id = d.run_id AND o.role = 'output' AND te.digest = o.digest"
        f" AND {ends_with('o.path', 'te.path')} AND i.digest = te.tree_digest"
        " AND i.role = 'input'",
        # a dataset version the run produced, read as a whole or a file of it
        f"FROM d CROSS JOIN datasets ds {readers} WHERE {hint} AND ds.run_id = d.run_id"
        " AND i.digest = ds.digest AND i.role = 'input'",
        f"FROM d CROSS JOIN datasets ds CROSS JOIN tree_entries te {readers} WHERE {hint}"
        " AND ds.run_id = d.run_id AND te.tree_digest = ds.digest AND i.digest = te.digest"
        f" AND i.role = 'input' AND {ends_with('i.path', 'te.path')}",
    ]
    recursive = [f"SELECT i.run_id {s}" for s in steps]
    # its reproductions
    recursive.append(
        f"SELECT rp.run_id FROM d CROSS JOIN reproductions rp WHERE {hint}"
        " AND rp.original_id = d.run_id"
    )
    return f"d(run_id) AS ({' UNION '.join(anchors + recursive)})"


@functools.lru_cache(maxsize=8)
def _sqlite_affected(has_digests: bool, has_runs: bool) -> str:
    hint = _HINT
    return (
        f"WITH RECURSIVE {_sqlite_runs(has_digests, has_runs)}"
        f" SELECT {_OUTPUT}, o.digest, o.path, o.kind, te.tree_digest, NULL, NULL, NULL, o.size"
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


# -- PostgreSQL: a walk over runs and artifacts, a frontier at a time -----------------------------

_T = "CAST(NULL AS TEXT)"
_PG_WALK = (
    "WITH RECURSIVE w(kind, key, path, akind, size, label, tree) AS ("
    f"SELECT CAST('a' AS TEXT), s, {_T}, {_T}, CAST(NULL AS BIGINT), {_T}, {_T}"
    " FROM unnest(CAST(:digests AS TEXT[])) AS s"
    f" UNION ALL SELECT 'r', s, {_T}, {_T}, NULL, {_T}, {_T}"
    " FROM unnest(CAST(:runs AS TEXT[])) AS s"
    " UNION (WITH f AS (SELECT kind, key, tree FROM w)"
    # run -> what it wrote, and a folder holding each file (``tree``: it leads on as a whole
    # only, so it is not walked as a node; reading the outputs once serves both)
    " SELECT 'a', CAST(o.digest AS TEXT), o.path, CAST(o.kind AS TEXT), o.size, NULL,"
    " CAST(te.tree_digest AS TEXT)"
    " FROM f JOIN run_io o ON o.run_id = f.key AND o.role = 'output'"
    f" LEFT JOIN tree_entries te ON te.digest = o.digest AND {ends_with('o.path', 'te.path')}"
    " WHERE f.kind = 'r'"
    # run -> a dataset version it produced
    " UNION ALL SELECT 'a', CAST(ds.digest AS TEXT), NULL, NULL, NULL,"
    " ds.name || '@v' || ds.version, NULL FROM f JOIN datasets ds ON ds.run_id = f.key"
    " WHERE f.kind = 'r'"
    # run -> its reproductions
    " UNION ALL SELECT 'r', CAST(rp.run_id AS TEXT), NULL, NULL, NULL, NULL, NULL"
    " FROM f JOIN reproductions rp ON rp.original_id = f.key WHERE f.kind = 'r'"
    # artifact -> its readers
    " UNION ALL SELECT 'r', CAST(i.run_id AS TEXT), NULL, NULL, NULL, NULL, NULL"
    " FROM f JOIN run_io i ON i.digest = f.key AND i.role = 'input' WHERE f.kind = 'a'"
    # folder holding a file a run wrote -> its readers (as a whole)
    " UNION ALL SELECT 'r', CAST(i.run_id AS TEXT), NULL, NULL, NULL, NULL, NULL"
    " FROM f JOIN run_io i ON i.digest = f.tree AND i.role = 'input' WHERE f.tree IS NOT NULL"
    # folder -> the readers of its files
    " UNION ALL SELECT 'r', CAST(i.run_id AS TEXT), NULL, NULL, NULL, NULL, NULL"
    " FROM f JOIN tree_entries te ON te.tree_digest = f.key"
    " JOIN run_io i ON i.digest = te.digest AND i.role = 'input'"
    f" AND {ends_with('i.path', 'te.path')} WHERE f.kind = 'a'))"
)
_PG_AFFECTED = (
    f"{_PG_WALK}"
    f" SELECT CASE WHEN w.path IS NOT NULL THEN {_OUTPUT} ELSE {_DATASET} END, w.key,"
    " COALESCE(w.path, w.label), w.akind, w.tree, NULL, NULL, CAST(NULL AS DOUBLE PRECISION),"
    " w.size FROM w WHERE w.kind = 'a' AND (w.path IS NOT NULL OR w.label IS NOT NULL)"
    f" UNION ALL SELECT {_RUN}, w.key, r.experiment, r.name, r.status, r.kind, m.key, m.value,"
    " NULL FROM w LEFT JOIN runs r ON r.id = w.key LEFT JOIN latest_metrics m ON m.run_id = w.key"
    " WHERE w.kind = 'r'"
)


def _statement(name: Dialect, digests: list[str], runs: list[str]) -> tuple[str, dict[str, Any]]:
    if name == "postgresql":
        return _PG_AFFECTED, {"digests": digests, "runs": runs}
    sql = _sqlite_affected(bool(digests), bool(runs))
    return sql, {"digests": json.dumps(digests), "runs": json.dumps(runs)}


def affected(conn: Connection, starts: Sequence[NodeRef]) -> Affected:
    """Everything downstream of ``starts`` (see the module docstring), with what impact shows."""
    out = Affected()
    digests, runs = _starts(starts)
    if not digests and not runs:
        return out
    name = prepare(conn, work_mem=_WORK_MEM)
    sql, params = _statement(name, digests, runs)
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


def downstream_runs(conn: Connection, starts: Sequence[NodeRef]) -> set[str]:
    """Every run downstream of ``starts`` (the start runs included), however far."""
    digests, runs = _starts(starts)
    if not digests and not runs:
        return set()
    name = prepare(conn, work_mem=_WORK_MEM)
    if name == "postgresql":
        sql = f"{_PG_WALK} SELECT DISTINCT w.key FROM w WHERE w.kind = 'r'"
        params: dict[str, Any] = {"digests": digests, "runs": runs}
    else:
        sql = f"WITH RECURSIVE {_sqlite_runs(bool(digests), bool(runs))} SELECT run_id FROM d"
        params = {"digests": json.dumps(digests), "runs": json.dumps(runs)}
    return {row[0] for row in fetch(conn, sql, params)}


def run_outputs(conn: Connection, run_ids: Sequence[str]) -> set[str]:
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
