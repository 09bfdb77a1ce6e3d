"""The events every write is made of.

An event is a kind, a JSON payload and (for run-scoped events) the run it concerns. The store
appends events to the hash-chained audit log and applies each to the tables in the same
transaction (``store.projections``), so the tables can always be checked against the log.

Kinds and their payloads:

==========================  ===============================================================
``run.created``             id, experiment, name, kind, parent_id, command, cwd, user, host,
                            pid, seed, started_at
``run.updated``             run_id, and any of experiment, name (only while running)
``run.params``              run_id, params {key: JSON value}
``run.metrics``             run_id, points [[key, step, value|null(NaN), ts], ...]
``run.captured``            run_id, code {commit, branch, remote, dirty, patch_digest, extra},
                            environment_digest, invocation
``run.io``                  run_id, items [{role, path, digest, size, kind, declared, modified}]
``run.attached``          run_id, items (outputs only) — an artifact made from a run after it
                            ended (a sweep's plot); adds, never replaces
``run.ended``               run_id, status, exit_code, ended_at, error, stdout_digest,
                            stderr_digest
``environment.recorded``    digest, python, platform, packages_digest, data
``tree.recorded``           digest, entries [[path, digest, size], ...]
``dataset.versioned``       name, version, digest, kind, size, file_count, path, created_at,
                            user, run_id
``reproduction.recorded``   run_id, original_id, verdict, details
``approval.recorded``       id, target_type, target, decision, note, actor, at
``sweep.created``           run_id, spec
==========================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RUN_SCOPED_WHILE_RUNNING", "Event"]

# Kinds that change a run and so are refused once the run has ended.
RUN_SCOPED_WHILE_RUNNING = frozenset(
    {"run.updated", "run.params", "run.metrics", "run.captured", "run.io", "run.ended"}
)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
