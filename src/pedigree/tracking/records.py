"""The run object people and programs read: what ``show --json`` and ``runs --json`` print."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pedigree.times import iso
from pedigree.tracking.liveness import shown_status

if TYPE_CHECKING:
    from pedigree.store.reader import Reader
    from pedigree.store.reads.runs import RunRow

__all__ = ["load_records", "run_record"]

# Adds fields to run records: (reader, records, detail).
Enricher = Callable[["Reader", list[dict[str, Any]], bool], None]


def _enrichers() -> list[Enricher]:
    """What other areas add to a run: ``inputs``/``outputs`` [{path, digest, size, kind,
    declared, modified}], ``reproductions`` [{id, verdict, at}] and ``reproduction_of``
    {original, verdict}, ``approvals`` [{decision, note, actor, at}], ``tags`` {key: value}
    (``show`` adds ``tag_history`` [{key, value, actor, at}]). ``show`` (``detail``) also
    gets ``selection``: a sweep trial's context
    (:func:`pedigree.selection.context.selection_context`) or None."""
    from pedigree.audit.approvals import enrich_records as approvals
    from pedigree.data.linking import enrich_records as io
    from pedigree.identity.records import enrich_records as identities
    from pedigree.reproduce.records import enrich_records as reproductions
    from pedigree.selection.context import enrich_records as selection
    from pedigree.tracking.imported import enrich_records as imports
    from pedigree.tracking.tags import enrich_records as tags

    return [io, reproductions, approvals, selection, imports, identities, tags]


def load_records(reader: Reader, ids: Sequence[str], *, detail: bool) -> list[dict[str, Any]]:
    """The run records of ``ids`` (in that order; unknown ids are left out), as ``show --json``
    (``detail``) and ``runs --json`` print them."""
    rows = reader.run_rows(ids)
    params = reader.params(ids)
    metrics = reader.latest_metrics(ids)
    envs: dict[str, dict[str, Any] | None] = {}
    for row in rows.values():
        d = row.environment_digest
        if d and d not in envs:
            envs[d] = reader.environment(d)
    records = [
        run_record(
            rows[i],
            params[i],
            metrics[i],
            envs.get(rows[i].environment_digest or ""),
            detail=detail,
        )
        for i in ids
        if i in rows
    ]
    for enrich in _enrichers():
        enrich(reader, records, detail)
    return records


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def _capture(invocation: dict[str, Any]) -> dict[str, Any]:
    mark = invocation.get("capture")
    if not isinstance(mark, dict):
        return {"files": None, "reasons": [], "trace": None}
    return {
        "files": mark.get("files"),
        "reasons": list(mark.get("reasons") or []),
        "trace": mark.get("trace"),
    }


def run_record(
    row: RunRow,
    params: dict[str, Any],
    metrics: dict[str, float],
    environment: dict[str, Any] | None,
    *,
    detail: bool = False,
) -> dict[str, Any]:
    """One run as a plain JSON-ready dict.

    ``detail`` adds what only ``show`` needs: the package list, the recorded invocation and the
    untracked files. A running run whose recorder stopped shows as ``crashed``
    (:mod:`pedigree.tracking.liveness`).
    """
    status, error = shown_status(row)
    extra = _loads(row.code_extra) or {}
    invocation = _loads(row.invocation) or {}
    machine = invocation.get("machine") or {}
    env = environment or {}
    record: dict[str, Any] = {
        "id": row.id,
        "experiment": row.experiment,
        "name": row.name,
        "kind": row.kind,
        "parent": row.parent_id,
        "status": status,
        "command": _loads(row.command),
        "cwd": row.cwd,
        "exit_code": row.exit_code,
        "error": error,
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
        "duration": (row.ended_at - row.started_at) if row.ended_at is not None else None,
        "user": row.user,
        "host": row.host,
        "seed": row.seed,
        "params": params,
        "metrics": metrics,
        "code": {
            "commit": row.code_commit,
            "branch": row.code_branch,
            "remote": row.code_remote,
            "dirty": row.code_dirty,
            "patch_digest": row.code_patch_digest,
        },
        "environment": {
            "digest": row.environment_digest,
            "python": env.get("python"),
            "implementation": env.get("implementation"),
            "platform": machine.get("platform") or env.get("platform"),
            "packages_digest": env.get("packages_digest"),
        },
        "stdout_digest": row.stdout_digest,
        "stderr_digest": row.stderr_digest,
        # The completeness of its file capture (pedigree.capture.files): files = complete,
        # partial or off, with reasons; all None for a run recorded before the mark existed
        # (or still running).
        "capture": _capture(invocation),
    }
    if detail:
        record["code"]["repo_root"] = extra.get("repo_root")
        record["code"]["untracked"] = extra.get("untracked", [])
        record["code"]["notes"] = extra.get("notes", [])
        record["environment"].update(
            {
                "executable": env.get("executable"),
                "os": env.get("os"),
                "machine": env.get("machine"),
                "packages": env.get("packages", []),
                **{k: v for k, v in machine.items() if k != "platform"},
            }
        )
        record["invocation"] = {
            k: v for k, v in invocation.items() if k not in ("machine", "capture")
        }
    return record
