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
``run.metrics``             run_id, points [[key, step, value|null(NaN), ts], ...]; the log
                            holds them packed: {keys, data} (``pedigree.audit.codec``)
``run.captured``            run_id, code {commit, branch, remote, dirty, patch_digest, extra},
                            environment_digest, invocation
``run.io``                  run_id, items [{role, path, digest, size, kind, declared, modified}]
``run.attached``            run_id, items (outputs only) — an artifact made from a run after it
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

from pedigree.audit.codec import Columns, columns, pack_columns
from pedigree.jsonutil import canonical_json

__all__ = ["RUN_SCOPED_WHILE_RUNNING", "Event", "log_payload", "prepare"]

# Kinds that change a run and so are refused once the run has ended.
RUN_SCOPED_WHILE_RUNNING = frozenset(
    {"run.updated", "run.params", "run.metrics", "run.captured", "run.io", "run.ended"}
)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None


def log_payload(event: Event) -> str:
    """The payload as the audit log holds it: canonical JSON, with metric points packed.

    >>> log_payload(Event("run.metrics", {"run_id": "r", "points": [["m", 0, 1.0, 2.0]]}))
    '{"points":{"data":"AAAAAAAAAAAAAAAAAAAAAPA/AAAAAAAAAEA=","keys":["m"]},"run_id":"r"}'
    """
    return prepare(event)[0]


def prepare(event: Event) -> tuple[str, Event]:
    """The payload as the audit log holds it, and the event to apply to the tables.

    A ``run.metrics`` event may carry its points as a list (what the SDK buffers), as
    :class:`~pedigree.audit.codec.Columns`, or packed (an event read back from a log); the log
    always holds them packed (:mod:`pedigree.audit.codec`). Packing a list makes its columns on
    the way, and the projector is handed those (it takes any of the three forms) rather than
    making them again.
    """
    payload = event.payload
    if event.kind != "run.metrics":
        return canonical_json(payload), event
    points = payload.get("points")
    if type(points) is list:
        cols = columns(points)
    elif type(points) is Columns:
        cols = points
    else:  # packed already: logged as it is, unpacked by the projector
        return canonical_json(payload), event
    packed = pack_columns(cols)
    applied = Event(event.kind, {**payload, "points": cols}, event.run_id)
    if payload.keys() == {"points", "run_id"}:
        # canonical_json of it, without scanning the long base64 text for characters to
        # escape: it has none.
        run_id = canonical_json(payload["run_id"])
        keys = canonical_json(packed["keys"])
        return (
            f'{{"points":{{"data":"{packed["data"]}","keys":{keys}}},"run_id":{run_id}}}',
            applied,
        )
    return canonical_json({**payload, "points": packed}), applied
