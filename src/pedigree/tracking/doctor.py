"""``pedigree doctor``: what needs attention in a project's store, and the repairs.

Two cheap checks:

- runs recorded as ``running`` whose recorder stopped (:mod:`pedigree.tracking.liveness`): reads
  already show them as ``crashed``; the repair records it, in the name of whoever runs it, so the
  record itself says so;
- spool folders left behind by a recorder that died (``.pedigree/spool/<run id>``), whose run has
  ended or is unknown: the repair removes them.

Reads never write, so nothing else closes a crashed run: a team runs ``pedigree doctor --fix``
(by hand or from cron) when it wants the record to catch up.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.context import Context
from pedigree.store import events as ev
from pedigree.times import iso
from pedigree.tracking.liveness import CRASHED_ERROR, STALE_SECONDS, stopped_runs

if TYPE_CHECKING:
    from pedigree.store.reader import Reader
    from pedigree.store.reads.runs import RunRow

__all__ = ["Checkup", "StoppedRun", "checkup", "repair"]


@dataclass(frozen=True, slots=True)
class StoppedRun:
    """A run still recorded as running whose recorder stopped."""

    id: str
    experiment: str
    name: str | None
    host: str | None
    pid: int | None
    started_at: float
    last_heartbeat: float | None

    @classmethod
    def of(cls, row: RunRow) -> StoppedRun:
        return cls(
            id=row.id,
            experiment=row.experiment,
            name=row.name,
            host=row.live_host or row.host,
            pid=row.live_pid or row.pid,
            started_at=row.started_at,
            last_heartbeat=row.heartbeat_at,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "experiment": self.experiment,
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "started_at": iso(self.started_at),
            "last_heartbeat": iso(self.last_heartbeat),
        }


@dataclass(frozen=True, slots=True)
class Checkup:
    """What ``pedigree doctor`` found; ``fixed`` once :func:`repair` dealt with it."""

    stopped_runs: tuple[StoppedRun, ...] = ()
    stale_spools: tuple[str, ...] = ()
    fixed: bool = False

    @property
    def healthy(self) -> bool:
        return not self.stopped_runs and not self.stale_spools

    def to_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "fixed": self.fixed,
            "stopped_runs": [r.to_json() for r in self.stopped_runs],
            "stale_spools": list(self.stale_spools),
        }


def _stale_spools(ctx: Context, reader: Reader, *, now: float) -> list[str]:
    folder = ctx.project.spool_dir
    try:
        entries = sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []
    # A folder younger than a heartbeat's grace may belong to a run being created right now.
    old = [p for p in entries if now - _mtime(p) > STALE_SECONDS]
    rows = reader.run_rows([p.name for p in old])
    return [str(p) for p in old if p.name not in rows or rows[p.name].status != "running"]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()


def checkup(ctx: Context) -> Checkup:
    """Look; change nothing."""
    with ctx.read() as reader:
        stopped = tuple(StoppedRun.of(r) for r in stopped_runs(reader))
        spools = tuple(_stale_spools(ctx, reader, now=time.time()))
    return Checkup(stopped_runs=stopped, stale_spools=spools)


def repair(ctx: Context, found: Checkup) -> Checkup:
    """Record the runs of ``found`` whose recorder is still stopped as ``crashed`` (one write,
    in the acting user's name), then remove the spool folders of runs that have ended (those
    just recorded as crashed included)."""
    wanted = {r.id for r in found.stopped_runs}

    def build(reader: Reader) -> Sequence[ev.Event]:
        # Checked again inside the write: a recorder may have come back since the look.
        now = time.time()
        return [
            ev.RunEnded(run_id=r.id, status="crashed", ended_at=now, error=CRASHED_ERROR)
            for r in stopped_runs(reader)
            if r.id in wanted
        ]

    if wanted:
        ctx.write(build)
    with ctx.read() as reader:
        spools = _stale_spools(ctx, reader, now=time.time())
    for path in spools:
        with contextlib.suppress(OSError):
            shutil.rmtree(path)
    return replace(found, stale_spools=tuple(spools), fixed=True)
