"""The impact report: every run, artifact version and reported metric downstream of a target.

"The vendor corrected last year's prices: what is affected?" One recursive statement finds the
affected runs and what they made, with the fields listed here (``store.reads._closure``); for a
path target the reads of bytes no longer there are marked stale, with everything made from them.

Runs are listed compactly (what identifies them, their status and metrics): a dataset can be
read by tens of thousands of runs, and ``pedigree lineage RUN --up`` shows any of them in full.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> run_id = create_run(ctx, experiment="ma-crossover")
>>> impact_report(ctx, "last")["summary"]
{'runs': 0, 'artifacts': 0, 'metrics': 0, 'stale_reads': 0, 'stale_runs': 0, 'models': 0}
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.lineage.graph import NodeRef
from pedigree.lineage.report import node_json
from pedigree.lineage.target import Target, resolve_target

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.store.reader import Reader
    from pedigree.store.reads.lineage import AffectedRun

__all__ = ["impact_report"]


def _current_state(ctx: Context, rel: str) -> tuple[dict[str, str], str | None]:
    """Digests of the files now at ``rel`` (a file, or every file under a folder), hashed as
    runs and datasets record them (the snapshot with the stat cache), and the digest of ``rel``
    itself when that came with them (a file's, a folder's manifest)."""
    from pedigree.data.snapshot import hash_path

    base = ctx.project.root / rel
    if base.is_symlink() or base.is_file():
        if not base.is_file():
            return {}, None
        digest = str(hash_path(ctx, base).digest)
        return {rel: digest}, digest
    if not base.is_dir():
        return {}, None
    snap = hash_path(ctx, base, each_file=True)
    return {f"{rel}/{f.rel}": str(f.digest) for f in snap.files}, str(snap.digest)


def _current_digest(ctx: Context, rel: str, known: str | None) -> str | None:
    """The digest of what ``rel`` holds now (a file's, or a folder's manifest), if anything;
    ``known`` is what :func:`_current_state` found already."""
    from pedigree.data.snapshot import hash_path
    from pedigree.errors import InvalidInput

    if known is not None:
        return known
    try:
        return str(hash_path(ctx, ctx.project.root / rel).digest)
    except (InvalidInput, OSError):
        return None


def _stale_reads(
    ctx: Context, reader: Reader, rel: str
) -> tuple[list[dict[str, Any]], dict[str, bool], str | None]:
    """Reads of ``rel`` (or of files under it) at bytes other than those on disk now.

    Returns the stale reads, per digest read there whether it is the current content, and the
    digest of ``rel`` now when hashing its files gave it (:func:`_current_state`).
    """
    root = ctx.project.root
    rows = reader.input_reads(rel)
    now, digest = _current_state(ctx, rel)
    current: dict[str, bool] = {}
    stale = []
    for row in rows:
        if row.kind == "dir":
            recorded = {f"{row.path}/{e.path}": e.digest for e in reader.tree_entries(row.digest)}
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
    return stale, current, digest


def impact_report(
    ctx: Context, target: str, *, cwd: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Every run, artifact version and reported metric downstream of ``target``.

    For a path, also the runs that read it at bytes other than its current content (stale).
    """
    here = Path(cwd) if cwd is not None else None
    with ctx.read() as reader, _no_gc():
        tgt: Target = resolve_target(reader, target, root=ctx.project.root, cwd=here)
        found = reader.affected(tgt.nodes)
        stale: list[dict[str, Any]] = []
        stale_runs: set[str] = set()
        current: dict[str, bool] = {}
        if tgt.kind == "path" and tgt.path is not None:
            stale, current, digest_now = _stale_reads(ctx, reader, tgt.path)
            readers = {NodeRef("run", s["run"]) for s in stale}
            # Everything made from a stale read is stale too.
            stale_runs = reader.downstream_runs(sorted(readers)) if readers else set()
        source_keys = {n.key for n in tgt.nodes}
        # The starts in full; the folders and dataset versions found, by digest.
        runs = reader.run_details(sorted(n.key for n in tgt.nodes if n.kind == "run"))
        details = reader.artifact_details(
            sorted(found.other | {n.key for n in tgt.nodes if n.kind == "artifact"})
        )
        if tgt.kind == "path" and tgt.path is not None:
            # Versions no run read there (a dataset's, or a file inside one): compare them with
            # what the path holds now.
            unread = [n.key for n in tgt.nodes if n.kind == "artifact" and n.key not in current]
            if unread:
                now = _current_digest(ctx, tgt.path, digest_now)
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
        rested_on = source_keys | found.artifacts.keys() | found.other
        model_items = _models(reader, tgt, [n.key for n in tgt.nodes], rested_on)
        # Runs whose file capture was partial or off may have read the target (or what it
        # made) without it being recorded: the answer may miss them and what they made.
        incomplete = reader.incomplete_capture()
    answered = {r["id"] for r in run_items} | {n.key for n in tgt.nodes if n.kind == "run"}
    partial_in = [rid for rid in incomplete if rid in answered]
    return {
        "target": tgt.to_json(),
        "sources": sources,
        "runs": run_items,
        "artifacts": artifact_items,
        "metrics": metric_items,
        "stale": stale,
        "models": model_items,
        "capture": {
            # runs of the answer whose capture was partial: what they made may be missing
            "partial_in_answer": partial_in,
            # other runs with partial (or no) file capture: they may belong in the answer
            "partial_elsewhere": len(incomplete) - len(partial_in),
        },
        "summary": {
            "runs": len(run_items),
            "artifacts": len(artifact_items),
            "metrics": len(metric_items),
            "stale_reads": len(stale),
            "stale_runs": len(stale_runs),
            "models": len(model_items),
        },
    }


def _models(
    reader: Reader, tgt: Target, starts: list[str], digests: set[str]
) -> list[dict[str, Any]]:
    """The registered model versions whose content is downstream of the target (or is it), with
    the aliases that point at them now: what trades on the changed data. A model target's own
    version is left out (it is the start, not something affected)."""
    newer = None
    if tgt.kind == "dataset":
        name, _, number = tgt.label.rpartition("@v")
        latest = reader.dataset_version(name)
        if latest is not None and latest.version > int(number):
            newer = f"{name}@v{latest.version}"
    own = tgt.model["ref"] if tgt.model is not None else None
    aliases: dict[str, dict[str, int]] = {}
    items = []
    for v in reader.model_versions_of(sorted(digests)):
        if v.ref == own:
            continue
        if v.name not in aliases:
            aliases[v.name] = reader.model_aliases(v.name)
        here = [a for a, n in aliases[v.name].items() if n == v.version]
        sentence = f"model {v.name} v{v.version}"
        if here:
            sentence += f", alias{'es' if len(here) > 1 else ''} {', '.join(here)}"
        sentence += f", rests on {tgt.label}"
        if newer is not None:
            sentence += f", which has a newer version ({newer})"
        items.append(
            {
                "name": v.name,
                "version": v.version,
                "ref": v.ref,
                "digest": v.digest,
                "run": v.run_id,
                "aliases": here,
                "direct": v.digest in starts,
                "sentence": sentence,
            }
        )
    return items


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
    runs: dict[str, AffectedRun | None],
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
