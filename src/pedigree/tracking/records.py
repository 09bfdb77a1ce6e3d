"""The run object people and programs read: what ``show --json`` and ``runs --json`` print."""

from __future__ import annotations

import json
from typing import Any

from pedigree.times import iso

__all__ = ["run_record"]


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def run_record(
    row: Any,
    params: dict[str, Any],
    metrics: dict[str, float],
    environment: dict[str, Any] | None,
    *,
    detail: bool = False,
) -> dict[str, Any]:
    """One run as a plain JSON-ready dict.

    ``detail`` adds what only ``show`` needs: the package list, the recorded invocation and the
    untracked files.
    """
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
        "status": row.status,
        "command": _loads(row.command),
        "cwd": row.cwd,
        "exit_code": row.exit_code,
        "error": row.error,
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
        record["invocation"] = {k: v for k, v in invocation.items() if k != "machine"}
    return record
