"""The impact report: every run, artifact version and reported metric downstream of a target.

"The vendor corrected last year's prices: what is affected?" One recursive statement finds the
affected runs and what they made, with the fields listed here (``lineage.closure``); for a path
target the reads of bytes no longer there are marked stale, with everything made from them.

Runs are listed compactly (what identifies them, their status and metrics): a dataset can be
read by tens of thousands of runs, and ``pedigree lineage RUN --up`` shows any of them in full.

>>> report = impact_report(tracker, "prices@v1")                    # doctest: +SKIP
>>> report["summary"]                                                # doctest: +SKIP
{'runs': 10000, 'artifacts': 40000, 'metrics': 20000, 'stale_reads': 0, 'stale_runs': 0}
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pedigree.lineage.closure import affected, downstream_runs
from pedigree.lineage.details import artifact_details, run_details
from pedigree.lineage.graph import NodeRef
from pedigree.lineage.report import node_json
from pedigree.lineage.target import Target, resolve_target
from pedigree.store import schema as t

if TYPE_CHECKING:
    from pedigree.api import Tracker

__all__ = ["impact_report"]


def _current_state(root: Path, rel: str) -> dict[str, str]:
    """Digests of the files now at ``rel`` (a file, or every file under a folder)."""
    from pedigree.digest import hash_file

    base = root / rel
    if base.is_symlink() or base.is_file():
        return {rel: str(hash_file(base))} if base.is_file() else {}
    out: dict[str, str] = {}
    if base.is_dir():
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if d not in (".git", ".pedigree", "__pycache__")]
            for name in files:
                full = Path(folder, name)
                if full.is_file() and not full.is_symlink():
                    out[full.relative_to(root).as_posix()] = str(hash_file(full))
    return out


def _current_digest(root: Path, rel: str, now: dict[str, str]) -> str | None:
    """The digest of what ``rel`` holds now (a file's, or a folder's manifest), if anything;
    ``now`` is :func:`_current_state` of it, which already holds a plain file's (a link is
    recorded as a link, so that one is taken again)."""
    from pedigree.data.snapshot import take
    from pedigree.errors import InvalidInput

    if rel in now and not (root / rel).is_symlink():
        return now[rel]
    try:
        return str(take(root, root / rel).digest)
    except (InvalidInput, OSError):
        return None


def _stale_reads(
    conn: Connection, root: Path, rel: str
) -> tuple[list[dict[str, Any]], dict[str, bool], dict[str, str]]:
    """Reads of ``rel`` (or of files under it) at bytes other than those on disk now.

    Returns the stale reads, per digest read there whether it is the current content, and the
    digests of the files on disk now (:func:`_current_state`).
    """
    io, te = t.run_io.c, t.tree_entries.c
    rows = conn.execute(
        sa.select(io.run_id, io.path, io.digest, io.kind)
        .where(
            io.role == "input",
            sa.or_(io.path == rel, sa.and_(io.path > rel + "/", io.path < rel + "0")),
        )
        .order_by(io.path, io.run_id)
    ).all()
    now = _current_state(root, rel)
    current: dict[str, bool] = {}
    stale = []
    for row in rows:
        if row.kind == "dir":
            recorded = {
                f"{row.path}/{e.path}": e.digest
                for e in conn.execute(
                    sa.select(te.path, te.digest).where(te.tree_digest == row.digest)
                )
            }
            prefix = row.path + "/"
            on_disk = {p: d for p, d in now.items() if p.startswith(prefix)}
            is_current = bool(recorded) and recorded == on_disk
            now_digest = None
        else:
            now_digest = now.get(row.path)
            is_current = now_digest == row.digest
        current[row.digest] = current.get(row.digest, False) or is_current
        if not is_current:
            stale.append(
                {
                    "run": row.run_id,
                    "path": row.path,
                    "read": row.digest,
                    "current": now_digest,
                    "exists": (root / row.path).exists(),
                }
            )
    return stale, current, now


def impact_report(
    tracker: Tracker, target: str, *, cwd: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Every run, artifact version and reported metric downstream of ``target``.

    For a path, also the runs that read it at bytes other than its current content (stale).
    """
    here = Path(cwd) if cwd is not None else None
    root = tracker.project.root
    with tracker.store.read() as conn, _no_gc():
        tgt: Target = resolve_target(conn, target, root=root, cwd=here)
        found = affected(conn, tgt.nodes)
        stale: list[dict[str, Any]] = []
        stale_runs: set[str] = set()
        current: dict[str, bool] = {}
        if tgt.kind == "path" and tgt.path is not None:
            stale, current, on_disk = _stale_reads(conn, root, tgt.path)
            readers = {NodeRef("run", s["run"]) for s in stale}
            # Everything made from a stale read is stale too.
            stale_runs = downstream_runs(conn, sorted(readers)) if readers else set()
        source_keys = {n.key for n in tgt.nodes}
        # The starts in full; the folders and dataset versions found, by digest.
        runs = run_details(conn, sorted(n.key for n in tgt.nodes if n.kind == "run"))
        details = artifact_details(
            conn, sorted(found.other | {n.key for n in tgt.nodes if n.kind == "artifact"})
        )
        if tgt.kind == "path" and tgt.path is not None:
            # Versions no run read there (a dataset's, or a file inside one): compare them with
            # what the path holds now.
            unread = [n.key for n in tgt.nodes if n.kind == "artifact" and n.key not in current]
            if unread:
                now = _current_digest(root, tgt.path, on_disk)
                current.update({d: d == now for d in unread})
        sources = []
        for node in tgt.nodes:
            item = node_json(node, runs, details)
            if node.kind == "artifact" and tgt.kind == "path":
                item["current"] = current.get(node.key, False)
            sources.append(item)
        run_items, metric_items = _runs(found.runs, found.metrics, source_keys, stale_runs)
        # In the order found (a run's outputs together), then the folders and dataset versions.
        artifact_items = [rec for d, rec in found.artifacts.items() if d not in source_keys]
        artifact_items += [details[d] for d in sorted(found.other - source_keys)]
    return {
        "target": tgt.to_json(),
        "sources": sources,
        "runs": run_items,
        "artifacts": artifact_items,
        "metrics": metric_items,
        "stale": stale,
        "summary": {
            "runs": len(run_items),
            "artifacts": len(artifact_items),
            "metrics": len(metric_items),
            "stale_reads": len(stale),
            "stale_runs": len(stale_runs),
        },
    }


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Tens of thousands of small records: the cyclic collector would walk them again and
    again while they are built, and none of them can be garbage.

    Re-enabling it is not enough: the first collection after that would walk every object made
    meanwhile (20 ms for an impact of 10,000 runs), and the next ones again as they age. So the
    young objects are moved to the oldest generation first (``freeze`` then ``unfreeze``, which
    splices the lists without walking them), where only a full collection looks at them, as it
    would once they had survived two collections anyway."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _runs(
    runs: dict[str, Any],
    metrics: dict[str, dict[str, float]],
    source_keys: set[str],
    stale_runs: set[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The affected runs (not the starts), by id, each with its metrics; and the metrics alone."""
    run_items: list[dict[str, Any]] = []
    metric_items: list[dict[str, Any]] = []
    no_metrics: dict[str, float] = {}
    for rid in sorted(runs.keys() - source_keys):
        row = runs[rid]
        values = metrics.get(rid, no_metrics)  # by key: the order the primary key lists them
        if row is None:  # a run recorded by its inputs and outputs only
            experiment = name = None
            rec: dict[str, Any] = {"id": rid, "metrics": values, "stale": rid in stale_runs}
        else:
            experiment, name, status, kind = row
            rec = {
                "id": rid,
                "experiment": experiment,
                "name": name,
                "run_kind": kind,
                "status": status,
                "metrics": values,
                "stale": rid in stale_runs,
            }
        run_items.append(rec)
        for key, value in values.items():
            metric_items.append(
                {"run": rid, "experiment": experiment, "name": name, "key": key, "value": value}
            )
    return run_items, metric_items
