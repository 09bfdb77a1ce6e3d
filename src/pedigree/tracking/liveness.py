"""Telling a running run from one whose recorder stopped, without writing anything.

The recorder of a run (``pedigree run``, or a script recording itself) beats every
``HEARTBEAT_SECONDS`` into the store's liveness table. A run still recorded as ``running`` whose
recorder has not beaten for :data:`STALE_SECONDS`, or whose recorder was on this host and its
process is gone, has crashed: reads show it as ``crashed`` (:func:`shown_status`), and only
``pedigree doctor --fix`` records it so (:func:`stopped_runs` finds them), in the name of whoever
runs it. A read never appends to the record: an auditor reading the store leaves no trace.

>>> from pedigree.store.reads.runs import RunRow
>>> row = RunRow(id="r", experiment="e", name=None, kind="run", parent_id=None,
...     status="running", command=None, cwd=None, user=None, host="elsewhere", pid=1, seed=None,
...     started_at=0.0, ended_at=None, exit_code=None, error=None, code_commit=None,
...     code_branch=None, code_remote=None, code_dirty=None, code_patch_digest=None,
...     code_extra=None, environment_digest=None, invocation=None, stdout_digest=None,
...     stderr_digest=None, heartbeat_at=100.0)
>>> recorder_stopped(row, now=150.0), recorder_stopped(row, now=200.0)
(False, True)
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

from pedigree.procs import pid_alive

if TYPE_CHECKING:
    from pedigree.store.reader import Reader
    from pedigree.store.reads.runs import RunRow

__all__ = [
    "CRASHED_ERROR",
    "STALE_SECONDS",
    "recorder_stopped",
    "shown_status",
    "stopped_runs",
]

# Nine missed heartbeats: a recorder busy hashing a large output still beats well within it.
STALE_SECONDS = 90.0
CRASHED_ERROR = "the recording process stopped responding"


def recorder_stopped(row: RunRow, *, now: float | None = None, host: str | None = None) -> bool:
    """Whether a run recorded as running has lost its recorder (False for an ended run)."""
    if row.status != "running":
        return False
    now = time.time() if now is None else now
    last = row.heartbeat_at if row.heartbeat_at is not None else row.started_at
    if now - last > STALE_SECONDS:
        return True
    rhost, rpid = row.live_host or row.host, row.live_pid or row.pid
    here = socket.gethostname() if host is None else host
    return rhost == here and rpid is not None and rpid > 0 and not pid_alive(rpid)


def shown_status(row: RunRow, *, now: float | None = None) -> tuple[str, str | None]:
    """The status and error a read shows: ``crashed`` for a run whose recorder stopped, even
    before anyone records it so; the stored values otherwise."""
    if recorder_stopped(row, now=now):
        return "crashed", CRASHED_ERROR
    return row.status, row.error


def stopped_runs(reader: Reader) -> list[RunRow]:
    """The runs recorded as running whose recorder stopped, oldest first."""
    now = time.time()
    host = socket.gethostname()
    return [r for r in reader.running_runs() if recorder_stopped(r, now=now, host=host)]
