"""Importing an evidence bundle into a store (``pedigree bundle import``).

A bundle is verified first (:func:`pedigree.bundle.verify.verify_bundle`, optionally to an
anchor): an unverified bundle imports nothing. Then, in this order:

1. its objects (inputs, outputs, the recorded patch and untracked files, and each git bundle of
   code) go into the object store, each checked against its digest, so that no record ever
   names bytes the store does not hold;
2. the events that recorded its runs, folders, environments, dataset versions and reviews (the
   ``needed`` events of ``events/chain.jsonl``) are appended to this store's own audit chain in
   their original order, with their original payloads: the imported records are the same records
   (same run ids, params, metrics with history, inputs, outputs, code, environment, verdicts);
3. for each imported run an ``import.recorded`` event names where it came from: its ``source``
   is ``bundle:<seal>/<run id>`` and its ``details`` hold the bundle's seal, file name, target,
   anchor (the head of the chain the records were written in), who wrote it and when, the
   digests the run's events had in that chain, and the stored git bundle of its commit.

Steps 2 and 3 are one append: all or nothing. Importing is idempotent: a run already in the store
(imported before, or recorded here in the first place) is left alone, as is an environment,
folder manifest or review already recorded; a second import of the same bundle adds nothing.
A dataset version whose name and number are taken here by other content is not imported (the
runs still name its digest), and the summary says so.

The new events are this store's (its actor, its time); the payloads keep the original times,
users and reviewers. ``pedigree show RUN --json`` says ``imported_from`` (the source) and
``import`` (the details).

(``tests/bundle/test_import.py`` imports real bundles into fresh stores.)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, Any

from pedigree.bundle import format as fmt
from pedigree.bundle.read import Bundle, open_bundle
from pedigree.context import Context
from pedigree.digest import Digest
from pedigree.errors import IntegrityError, InvalidInput
from pedigree.store.events import REGISTRY, Event, ImportRecorded, event

__all__ = ["SOURCE_PREFIX", "code_bundle_of", "import_bundle", "source_of"]

SOURCE_PREFIX = "bundle:"


def source_of(seal: str, run_id: str) -> str:
    """The ``import.recorded`` source of a run imported from the bundle sealed ``seal``."""
    return f"{SOURCE_PREFIX}{seal}/{run_id}"


def _label(source: str | os.PathLike[str] | IO[bytes]) -> str:
    return Path(source).name if isinstance(source, str | os.PathLike) else "the bundle"


def import_bundle(
    ctx: Context,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    anchor: str | None = None,
) -> dict[str, Any]:
    """Verify the bundle at ``source`` and merge its records into ``ctx``'s store; returns a
    summary: ``runs_imported``, ``runs_present``, ``events``, ``objects``, ``notes``, ...

    Raises :class:`IntegrityError` (nothing imported) when the bundle fails verification.
    """
    from pedigree.bundle.verify import verify_bundle

    started = time.perf_counter()
    label = _label(source)
    checked = verify_bundle(source, anchor=anchor)
    if not checked["ok"]:
        first = checked["problems"][0]
        raise IntegrityError(
            f"{label} failed verification ({len(checked['problems'])} problem(s); first: "
            f"{first['part']}: {first['problem']}); nothing was imported"
        )
    if hasattr(source, "seek"):
        source.seek(0)
    bundle = open_bundle(source)
    try:
        return _import(ctx, bundle, label, started)
    finally:
        bundle.close()


def _import(ctx: Context, bundle: Bundle, label: str, started: float) -> dict[str, Any]:
    m = bundle.manifest
    seal = str(m["seal"])
    runs: list[str] = list(m.get("runs") or [])
    code: dict[str, dict[str, Any]] = bundle.json(fmt.CODE_INFO)
    lines = bundle.read(fmt.EVENTS).decode().splitlines()
    chain = [json.loads(line) for line in lines if line.strip()]
    for ev in chain:
        if ev["kind"] not in REGISTRY:
            raise InvalidInput(
                f"{label} holds an event of kind {ev['kind']!r}, which this Pedigree does not "
                "know (it was written by a newer one); nothing was imported"
            )
    notes: list[str] = []

    # 1. Objects first: no record may name bytes the store does not hold.
    stored = 0
    code_bundles: dict[str, str] = {}
    for name in bundle.names():
        if name.startswith(("objects/", "code/patches/", "code/files/")):
            want = "blake3:" + name.rsplit("/", 1)[-1]
            got = ctx.objects.put_bytes(bundle.read(name))
            if str(got) != want:  # pragma: no cover - verify checked every member
                raise IntegrityError(f"{name}: does not hash to its name; import stopped")
            stored += 1
        elif name.startswith("code/") and name.endswith(".bundle"):
            code_bundles[name] = str(ctx.objects.put_bytes(bundle.read(name)))
            stored += 1

    with ctx.read() as reader:
        present = set(reader.run_rows(runs))
        new_runs = [r for r in runs if r not in present]
        todo = _select(reader, chain, set(new_runs), present, notes)

    # 3. Where each new run came from.
    now = time.time()
    provenance: list[Event] = []
    for run_id in new_runs:
        entry = code.get(run_id) or {}
        details = {
            "bundle": seal,
            "file": label,
            "target": (m.get("target") or {}).get("label"),
            "anchor": m.get("anchor"),
            "created": m.get("created"),
            "created_by": m.get("created_by"),
            "written_by": m.get("pedigree"),
            "events": [ev["digest"] for ev in chain if ev["run_id"] == run_id and ev["needed"]],
            "code_bundle": code_bundles.get(entry.get("bundle") or ""),
            "project": entry.get("project") or "",
        }
        provenance.append(
            ImportRecorded(
                source=source_of(seal, run_id),
                target_type="run",
                target=run_id,
                details=details,
                actor=ctx.user,
                at=now,
            )
        )
    events = [event(ev["kind"], json.loads(ev["payload"])) for ev in todo] + provenance
    if events:
        ctx.append(events)
    return {
        "file": label,
        "bundle": seal,
        "target": (m.get("target") or {}).get("label"),
        "target_run": _target_run(m),
        "anchor": m.get("anchor"),
        "runs_imported": new_runs,
        "runs_present": [r for r in runs if r in present],
        "events": len(events),
        "objects": stored,
        "notes": notes,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _target_run(manifest: dict[str, Any]) -> str | None:
    """The run to re-run: the target run, or the run that produced the target model version."""
    target = manifest.get("target") or {}
    if target.get("kind") == "model":
        run = (target.get("model") or {}).get("run")
        return str(run) if run else None
    if target.get("kind") != "run":
        return None
    nodes = target.get("nodes") or []
    return str(nodes[0]["id"]) if nodes else None


def _select(
    reader: Any,
    chain: list[dict[str, Any]],
    new_runs: set[str],
    present: set[str],
    notes: list[str],
) -> list[dict[str, Any]]:
    """The needed events not yet recorded here, in order."""
    out: list[dict[str, Any]] = []
    envs: set[str] = set()
    trees: set[str] = set()
    for ev in chain:
        if not ev.get("needed"):
            continue
        kind = ev["kind"]
        p = json.loads(ev["payload"])
        run_id = ev.get("run_id")
        if run_id is not None and run_id in present:
            continue  # that run (and what it recorded) is here already
        if run_id is not None and REGISTRY[kind].RUN_SCOPED and run_id not in new_runs:
            continue  # not one of the bundle's runs
        if kind == "environment.recorded":
            if p["digest"] in envs or reader.environment(p["digest"]) is not None:
                continue
            envs.add(p["digest"])
        elif kind == "tree.recorded":
            if p["digest"] in trees or reader.tree_known(p["digest"]):
                continue
            trees.add(p["digest"])
        elif kind == "dataset.versioned":
            here = reader.dataset_version(p["name"], p["version"])
            if here is not None:
                if here.digest != p["digest"]:
                    notes.append(
                        f"dataset {p['name']}@v{p['version']} is other content here "
                        f"({here.digest}); the bundle's ({p['digest']}) was not imported "
                        "under that name"
                    )
                continue
            if p.get("run_id") is not None and p["run_id"] not in new_runs:
                p = {**p, "run_id": None}  # its run is not in this store
                ev = {**ev, "payload": json.dumps(p)}
        elif kind.startswith("model."):
            # A version number and an alias's moves are this store's own sequence: another
            # store's cannot be merged into it. The runs and the model's bytes are imported.
            if kind == "model.registered":
                notes.append(
                    f"model version {p['name']}/{p['version']} is not registered here (register "
                    f"it with `pedigree model register {p['name']} --from {p['digest']}`)"
                )
            continue
        elif kind == "approval.recorded" and (
            p.get("target_type") == "model" or (run_id is None and _review_here(reader, p))
        ):
            continue
        out.append(ev)
    return out


def _review_here(reader: Any, p: dict[str, Any]) -> bool:
    """Whether the review of an artifact or dataset version in ``p`` is recorded here already
    (the same decision by the same reviewer at the same time)."""
    target = p["target"]
    if p["target_type"] == "dataset":
        name, _, version = str(target).rpartition("@v")
        dv = reader.dataset_version(name, int(version)) if version.isdigit() else None
        if dv is None:
            return False
        target = dv.digest
    return any(
        (a.decision, a.actor, a.at) == (p["decision"], p.get("actor"), p.get("at"))
        for a in reader.artifact_approvals([target])
    )


def code_bundle_of(ctx: Context, run_id: str) -> tuple[Digest | None, str]:
    """The stored git bundle of an imported run's commit (None when it was not imported from a
    bundle, or the bundle held no code) and where its project sat in the repository."""
    with ctx.read() as reader:
        found = reader.import_details([run_id]).get(run_id)
    details = (found or {}).get("details") or {}
    if not str((found or {}).get("source", "")).startswith(SOURCE_PREFIX):
        return None, ""
    digest = details.get("code_bundle")
    return (Digest.parse(digest) if digest else None), str(details.get("project") or "")
