"""An excerpt of the audit log: the events behind some records, as stored, to check elsewhere.

An evidence bundle (:mod:`pedigree.bundle`) carries the events that recorded its runs, dataset
versions, folders, environments and reviews, with every stored field (``at`` as the stored float,
``payload`` as the stored canonical JSON text), so that a verifier without the store can
recompute each digest (:func:`pedigree.store.chain.event_digest`) and follow the links. A digest
only links to the head through every event after it, so the excerpt is the contiguous run of
events from the first needed one to the head; :func:`needed` says which of them are needed.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run, end_run
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> run_id = create_run(ctx, experiment="e")
>>> end_run(ctx, run_id, "finished")
>>> with ctx.read() as reader:
...     seqs = needed(reader, runs=[run_id])
...     rows = contiguous(reader, min(seqs))
>>> [r["kind"] for r in rows], rows[-1]["seq"] == max(seqs)
(['run.created', 'run.ended'], True)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pedigree.store import schema as t

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["contiguous", "needed"]

_GLOBAL = (
    "environment.recorded",
    "tree.recorded",
    "dataset.versioned",
    "approval.recorded",
    "model.registered",
    "model.alias_moved",
)


def needed(
    reader: Reader,
    *,
    runs: Iterable[str] = (),
    digests: Iterable[str] = (),
    environments: Iterable[str] = (),
    datasets: Iterable[tuple[str, int]] = (),
    models: Iterable[tuple[str, int]] = (),
) -> set[int]:
    """The seqs of the events that recorded ``runs`` (every event naming the run), the folder
    manifests and reviews of artifact ``digests``, the ``environments`` (by digest), the
    ``datasets`` versions (name, version) and their reviews, and the ``models`` versions (name,
    version), their reviews and every move of their model's aliases (which say where each alias
    points)."""
    run_set, digest_set = set(runs), set(digests)
    env_set, dataset_set = set(environments), set(datasets)
    dataset_refs = {f"{name}@v{version}" for name, version in dataset_set}
    model_set = set(models)
    model_names = {name for name, _ in model_set}
    model_refs = {f"{name}/{version}" for name, version in model_set}
    e = t.audit_events.c
    out: set[int] = set()
    ids = sorted(run_set)
    for start in range(0, len(ids), 500):
        rows = reader.conn.execute(sa.select(e.seq).where(e.run_id.in_(ids[start : start + 500])))
        out.update(int(r.seq) for r in rows)
    rows = reader.conn.execute(sa.select(e.seq, e.kind, e.payload).where(e.kind.in_(_GLOBAL)))
    for row in rows:
        payload = json.loads(row.payload)
        kind = row.kind
        if kind == "environment.recorded":
            hit = payload.get("digest") in env_set
        elif kind == "tree.recorded":
            hit = payload.get("digest") in digest_set
        elif kind == "dataset.versioned":
            hit = (payload.get("name"), payload.get("version")) in dataset_set or payload.get(
                "digest"
            ) in digest_set
        elif kind == "model.registered":
            hit = (payload.get("name"), payload.get("version")) in model_set
        elif kind == "model.alias_moved":
            hit = payload.get("name") in model_names
        else:
            target = payload.get("target")
            if payload.get("target_type") == "model":
                hit = target in model_refs
            else:
                hit = target in run_set or target in digest_set or target in dataset_refs
        if hit:
            out.add(int(row.seq))
    return out


def contiguous(reader: Reader, first: int) -> list[dict[str, Any]]:
    """Every event from seq ``first`` to the last, each with all its stored fields."""
    e = t.audit_events.c
    q = sa.select(e.seq, e.at, e.actor, e.kind, e.run_id, e.payload, e.prev, e.digest, e.identity)
    rows = reader.conn.execute(q.where(e.seq >= first).order_by(e.seq))
    out = []
    for r in rows:
        item: dict[str, Any] = {
            "seq": int(r.seq),
            "at": float(r.at),
            "actor": r.actor,
            "kind": r.kind,
            "run_id": r.run_id,
            "payload": r.payload,
            "prev": r.prev,
            "digest": r.digest,
        }
        # Absent for events written before identities were recorded (their digest omits it).
        if r.identity is not None:
            item["identity"] = r.identity
        out.append(item)
    return out
