"""Recording runs: the events that create, fill and end a run.

Every path that records a run (the SDK in-process, the ``pedigree run`` recorder, a sweep, a
reproduction, later the team server) turns what it is told into events here, and each event
checks its own values when built (:mod:`pedigree.store.events`).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pedigree.context import Context
from pedigree.ids import new_id
from pedigree.store import events as ev

if TYPE_CHECKING:
    from pedigree.capture.code import CodeState
    from pedigree.capture.environment import Environment

__all__ = [
    "HEARTBEAT_SECONDS",
    "capture_events",
    "create_run",
    "end_run",
    "heartbeat",
    "log_metrics",
    "log_params",
    "update_run",
]

HEARTBEAT_SECONDS = 10.0
# The software facts that define an environment; the rest describe the machine and live per run.
_MACHINE_KEYS = ("hostname", "user", "cpu", "cpu_count", "kernel", "os_release", "container")


def create_run(
    ctx: Context,
    *,
    experiment: str,
    name: str | None = None,
    kind: str = "run",
    parent_id: str | None = None,
    command: Sequence[str] | None = None,
    cwd: str | None = None,
    params: dict[str, Any] | None = None,
    seed: int | None = None,
    pid: int | None = None,
    tags: Mapping[str, Any] | None = None,
) -> str:
    """Record a new running run (with its parameters and tags, if any); returns its id."""
    run_id = new_id()
    events: list[ev.Event] = [
        ev.RunCreated(
            id=run_id,
            experiment=experiment,
            name=name,
            kind=kind,
            parent_id=parent_id,
            command=list(command) if command is not None else None,
            cwd=cwd or os.getcwd(),
            user=ctx.user,
            host=socket.gethostname(),
            pid=pid or os.getpid(),
            seed=seed,
            started_at=time.time(),
        )
    ]
    if params:
        events.append(ev.RunParams(run_id=run_id, params=dict(params)))
    if tags:
        from pedigree.tracking.tags import tag_events
        from pedigree.values import check_tags

        events += tag_events(run_id, check_tags(dict(tags)), {}, actor=ctx.user)
    ctx.append(events)
    return run_id


def update_run(ctx: Context, run_id: str, **fields: Any) -> None:
    """Change the experiment, name or seed of a running run."""
    allowed = {k: v for k, v in fields.items() if k in ("experiment", "name", "seed")}
    if allowed:
        ctx.append([ev.RunUpdated(run_id=run_id, **allowed)])


def log_params(ctx: Context, run_id: str, params: dict[str, Any]) -> None:
    if params:
        ctx.append([ev.RunParams(run_id=run_id, params=params)])


def log_metrics(ctx: Context, run_id: str, points: list[list[Any]]) -> None:
    """Points are ``[key, step, value or None for NaN, timestamp]``."""
    if points:
        ctx.append([ev.RunMetrics(run_id=run_id, points=points)])


def capture_events(
    ctx: Context,
    run_id: str,
    *,
    code: CodeState | None,
    environment: Environment | None,
    invocation: dict[str, Any],
) -> list[ev.Event]:
    """The events that record what a run ran: its code, environment and invocation."""
    events: list[ev.Event] = []
    env_digest = None
    machine: dict[str, Any] = {}
    if environment is not None:
        data = environment.to_json()
        machine = {k: data.pop(k) for k in _MACHINE_KEYS if k in data}
        machine["platform"] = data.get("platform")
        env_digest = environment.digest
        with ctx.read() as reader:
            known = reader.environment(env_digest) is not None
        if not known:
            events.append(
                ev.EnvironmentRecorded(
                    digest=env_digest,
                    python=data.get("python"),
                    platform=data.get("platform"),
                    packages_digest=data.get("packages_digest"),
                    data=data,
                )
            )
    code_json = None
    if code is not None:
        c = code.to_json()
        code_json = {
            "commit": c.get("commit"),
            "branch": c.get("branch"),
            "remote": c.get("remote"),
            "dirty": c.get("dirty"),
            "patch_digest": c.get("patch_digest"),
            "extra": {
                "repo_root": c.get("repo_root"),
                "untracked": c.get("untracked", []),
                "notes": c.get("notes", []),
            },
        }
    events.append(
        ev.RunCaptured(
            run_id=run_id,
            code=code_json,
            environment_digest=env_digest,
            invocation={**invocation, "machine": machine},
        )
    )
    return events


def end_run(
    ctx: Context,
    run_id: str,
    status: str,
    *,
    exit_code: int | None = None,
    error: str | None = None,
    stdout_digest: str | None = None,
    stderr_digest: str | None = None,
    extra_events: Sequence[ev.Event] = (),
) -> None:
    """End a run with its status, recording ``extra_events`` (what it captured) with it."""
    end = ev.RunEnded(
        run_id=run_id,
        status=status,
        exit_code=exit_code,
        ended_at=time.time(),
        error=error,
        stdout_digest=stdout_digest,
        stderr_digest=stderr_digest,
    )
    ctx.append([*extra_events, end])


def heartbeat(ctx: Context, run_id: str) -> None:
    """Say that this process still records the run (operational state, not audited)."""
    ctx.store.heartbeat(run_id, host=socket.gethostname(), pid=os.getpid())
