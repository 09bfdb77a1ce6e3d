"""The Tracker: the one entry point that the CLI, the server and the SDK call.

>>> tracker = Tracker.from_env()                                   # doctest: +SKIP
>>> run_id = tracker.create_run(experiment="ma-crossover", params={"window": 50})  # doctest: +SKIP
>>> tracker.log_metrics(run_id, [["sharpe", 0, 1.31, 0.0]])        # doctest: +SKIP
>>> tracker.end_run(run_id, "finished")                            # doctest: +SKIP
>>> tracker.get_run(run_id)["metrics"]                             # doctest: +SKIP
{'sharpe': 1.31}
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.client.run import ActiveRun
from pedigree.config import Project, find_project
from pedigree.context import Actor, Context, close_all, shared_store
from pedigree.errors import InvalidInput, RunImmutable
from pedigree.store import events as ev
from pedigree.store.events import STATUSES, Event
from pedigree.tracking import recording
from pedigree.tracking.recording import HEARTBEAT_SECONDS
from pedigree.values import check_key, check_param_value

if TYPE_CHECKING:
    import pandas

    from pedigree.api.audit import AuditAPI
    from pedigree.api.data import DataAPI
    from pedigree.api.lineage import LineageAPI
    from pedigree.api.reports import ReportsAPI
    from pedigree.api.reproduce import ReproduceAPI
    from pedigree.api.sweeps import SweepsAPI
    from pedigree.capture.code import CodeState
    from pedigree.capture.environment import Environment
    from pedigree.objects.base import ObjectStore
    from pedigree.store.sql import SQLStore

__all__ = ["STATUSES", "Tracker", "close_all", "shared_store"]

# A run whose recorder has not been heard from for this long is taken as crashed.
STALE_SECONDS = 90.0


class Tracker:
    """Pedigree on one project: the facade every face (CLI, server, UI, SDK) calls.

    Runs are methods; the other areas are namespaces: :attr:`data`, :attr:`lineage`,
    :attr:`sweeps`, :attr:`reproduce`,
    :attr:`reports`, :attr:`audit`.
    """

    def __init__(
        self,
        project: Project,
        *,
        store: SQLStore | None = None,
        objects: ObjectStore | None = None,
        actor: Actor | None = None,
    ) -> None:
        self.ctx = Context(project, store=store, objects=objects, actor=actor)
        self.project = project

    @classmethod
    def from_env(cls, cwd: str | os.PathLike[str] | None = None) -> Tracker:
        """The tracker of the project that holds ``cwd`` (default: the working directory)."""
        return cls(find_project(cwd))

    @property
    def store(self) -> SQLStore:
        return self.ctx.store

    @property
    def objects(self) -> ObjectStore:
        return self.ctx.objects

    @property
    def user(self) -> str:
        return self.ctx.user

    def _append(self, events: Sequence[Event]) -> int:
        return self.ctx.append(events)

    @cached_property
    def data(self) -> DataAPI:
        from pedigree.api.data import DataAPI

        return DataAPI(self.ctx)

    @cached_property
    def lineage(self) -> LineageAPI:
        from pedigree.api.lineage import LineageAPI

        return LineageAPI(self.ctx)

    @cached_property
    def sweeps(self) -> SweepsAPI:
        from pedigree.api.sweeps import SweepsAPI

        return SweepsAPI(self.ctx)

    @cached_property
    def reports(self) -> ReportsAPI:
        from pedigree.api.reports import ReportsAPI

        return ReportsAPI(self.ctx)

    @cached_property
    def reproduce(self) -> ReproduceAPI:
        from pedigree.api.reproduce import ReproduceAPI

        return ReproduceAPI(self.ctx)

    @cached_property
    def audit(self) -> AuditAPI:
        from pedigree.api.audit import AuditAPI

        return AuditAPI(self.ctx)

    # -- writing runs --------------------------------------------------------------------------

    def create_run(self, **fields: Any) -> str:
        """Record a new running run; returns its id (see ``tracking.recording.create_run``)."""
        return recording.create_run(self.ctx, **fields)

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Change the experiment, name or seed of a running run."""
        recording.update_run(self.ctx, run_id, **fields)

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        recording.log_params(self.ctx, run_id, params)

    def log_metrics(self, run_id: str, points: list[list[Any]]) -> None:
        """Points are ``[key, step, value or None for NaN, timestamp]``."""
        recording.log_metrics(self.ctx, run_id, points)

    def end_run(self, run_id: str, status: str, **fields: Any) -> None:
        recording.end_run(self.ctx, run_id, status, **fields)

    def heartbeat(self, run_id: str) -> None:
        recording.heartbeat(self.ctx, run_id)

    def start_run(
        self,
        *,
        experiment: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> ActiveRun:
        """Create a run recorded by this process (the SDK outside ``pedigree run``)."""
        run_id = self.create_run(
            experiment=experiment,
            name=name,
            command=[sys.executable, *sys.argv],
            params=params,
            seed=seed,
        )
        sink = StoreSink(self, run_id)
        run = ActiveRun(run_id, experiment, name, sink)
        sink.start(run)
        return run

    def reap(self) -> list[str]:
        """Close as ``crashed`` every running run whose recorder is gone; return their ids."""
        now = time.time()
        host = socket.gethostname()
        with self.ctx.read() as reader:
            candidates = reader.running_runs()
        dead = []
        for row in candidates:
            last = row.heartbeat_at if row.heartbeat_at is not None else row.started_at
            gone = now - last > STALE_SECONDS
            lhost, lpid = row.lhost or row.host, row.lpid or row.pid
            if not gone and lhost == host and lpid and not _pid_alive(lpid):
                gone = True
            if gone:
                dead.append(row.id)
        for run_id in dead:
            with contextlib.suppress(RunImmutable):  # it ended in the meantime
                self.end_run(run_id, "crashed", error="the recording process stopped responding")
        return dead

    # -- reading runs --------------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        with self.ctx.read() as reader:
            return reader.resolve_run(ref)

    def _records(self, ids: Sequence[str], *, detail: bool) -> list[dict[str, Any]]:
        from pedigree.tracking.records import run_record

        with self.ctx.read() as reader:
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
            for enrich in _ENRICHERS:
                enrich(reader, records, detail)
        return records

    def get_run(self, ref: str) -> dict[str, Any]:
        """One run, as ``pedigree show RUN --json`` prints it."""
        self.reap()
        run_id = self.resolve(ref)
        return self._records([run_id], detail=True)[0]

    def runs(
        self,
        *,
        experiment: str | None = None,
        where: str | None = None,
        order_by: str | None = None,
        limit: int | None = None,
        kinds: Sequence[str] | None = None,
        parent: str | None = None,
    ) -> list[dict[str, Any]]:
        """Runs as ``pedigree runs --json`` prints them, newest first by default."""
        from pedigree.store.where import parse_order_by, parse_where

        where_ast = parse_where(where) if where else None
        order = parse_order_by(order_by) if order_by else ()
        if limit is not None and limit < 1:
            raise InvalidInput("--limit must be at least 1")
        self.reap()
        with self.ctx.read() as reader:
            ids = reader.select_runs(
                experiment=experiment,
                where=where_ast,
                order_by=order,
                limit=limit,
                kinds=kinds,
                parent=parent,
            )
        return self._records(ids, detail=False)

    def runs_frame(self, **query: Any) -> pandas.DataFrame:
        """The runs as a pandas DataFrame, one row per run, with params.* and metrics.* columns."""
        try:
            import pandas
        except ImportError:
            raise InvalidInput("runs_frame needs pandas: pip install 'pedigree[pandas]'") from None
        rows = []
        for rec in self.runs(**query):
            flat = {
                k: v
                for k, v in rec.items()
                if k not in ("params", "metrics", "code", "environment", "command")
            }
            flat["command"] = " ".join(rec["command"] or [])
            flat["commit"] = rec["code"]["commit"]
            flat["environment"] = rec["environment"]["digest"]
            flat.update({f"params.{k}": v for k, v in rec["params"].items()})
            flat.update({f"metrics.{k}": v for k, v in rec["metrics"].items()})
            rows.append(flat)
        frame = pandas.DataFrame(rows)
        for col in ("started_at", "ended_at"):
            if col in frame:
                frame[col] = pandas.to_datetime(frame[col], utc=True, format="ISO8601")
        return frame

    def abbreviations(self, ids: Sequence[str]) -> dict[str, str]:
        with self.ctx.read() as reader:
            return reader.abbreviations(ids)

    def read_blob(self, digest: str | None) -> bytes:
        if not digest:
            return b""
        from pedigree.digest import Digest

        return self.objects.get_bytes(Digest.parse(digest))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited but is not yet waited for: it is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().split(b")")[-1].split()[0] != b"Z"
    except OSError:
        return True


# Functions that add fields to run records (inputs and outputs, reproductions, approvals...).
Enricher = Callable[[Any, list[dict[str, Any]], bool], None]
_ENRICHERS: list[Enricher] = []


def _enrich_io(conn: Any, records: list[dict[str, Any]], detail: bool) -> None:
    """``inputs`` and ``outputs``: lists of {path, digest, size, kind, declared, modified}."""
    from pedigree.data.linking import enrich_records

    enrich_records(conn, records, detail)


_ENRICHERS.append(_enrich_io)


def _enrich_reproductions(conn: Any, records: list[dict[str, Any]], detail: bool) -> None:
    """``reproductions`` [{id, verdict, at}] and ``reproduction_of`` {original, verdict}."""
    from pedigree.reproduce.records import enrich_records

    enrich_records(conn, records, detail)


_ENRICHERS.append(_enrich_reproductions)


def _enrich_approvals(conn: Any, records: list[dict[str, Any]], detail: bool) -> None:
    """``approvals`` [{decision, note, actor, at}]: the reviews of each run, oldest first."""
    from pedigree.audit.approvals import enrich_records

    enrich_records(conn, records, detail)


_ENRICHERS.append(_enrich_approvals)


class StoreSink:
    """Records a run in-process: buffered writes, background capture and a heartbeat."""

    def __init__(self, tracker: Tracker, run_id: str) -> None:
        self.tracker = tracker
        self.run_id = run_id
        self.declared: list[tuple[str, str]] = []
        self._capture: tuple[CodeState, Environment, dict[str, Any]] | None = None
        self._capture_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._write_lock = threading.Lock()

    def start(self, run: ActiveRun) -> None:
        self._capture_thread = threading.Thread(
            target=self._run_capture, name=f"pedigree-capture-{self.run_id[:8]}", daemon=True
        )
        self._capture_thread.start()
        self._heartbeat = threading.Thread(
            target=self._beat,
            args=(run,),
            name=f"pedigree-beat-{self.run_id[:8]}",
            daemon=True,
        )
        self._heartbeat.start()

    def _run_capture(self) -> None:
        from pedigree.capture import capture_code, capture_environment, capture_invocation

        project = self.tracker.project
        cwd = os.getcwd()
        try:
            code = capture_code(cwd, self.tracker.objects)
            env = capture_environment(cache_dir=project.cache_dir)
            invocation = capture_invocation(
                [sys.executable, *sys.argv], cwd, os.environ, project.capture_env
            )
            self._capture = (code, env, invocation)
        except Exception as exc:  # capture must never break the script it records
            print(f"pedigree: capture failed: {exc}", file=sys.stderr)

    def _beat(self, run: ActiveRun) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                run.flush()
                self.tracker.heartbeat(self.run_id)
            except Exception as exc:
                print(f"pedigree: heartbeat failed: {exc}", file=sys.stderr)

    def log_params(self, params: dict[str, Any]) -> None:
        self.tracker.log_params(self.run_id, params)

    def log_metrics(self, points: list[list[Any]]) -> None:
        with self._write_lock:
            self.tracker.log_metrics(self.run_id, points)

    def set_seed(self, seed: int) -> None:
        self.tracker.update_run(self.run_id, seed=seed)

    def declare_io(self, role: str, path: str) -> None:
        self.declared.append((role, path))

    def update(self, fields: dict[str, Any]) -> None:
        self.tracker.update_run(self.run_id, **fields)

    def finish(self, status: str, error: str | None) -> None:
        self._stop.set()
        if self._capture_thread is not None:
            self._capture_thread.join()
        events = []
        if self._capture is not None:
            code, env, invocation = self._capture
            events = recording.capture_events(
                self.tracker.ctx, self.run_id, code=code, environment=env, invocation=invocation
            )
        events.extend(io_events(self.tracker, self.run_id, self.declared, Path(os.getcwd())))
        self.tracker.end_run(self.run_id, status, error=error, extra_events=events)


def io_events(
    tracker: Tracker,
    run_id: str,
    declared: Sequence[tuple[str, str]],
    cwd: Path,
    files: Sequence[dict[str, Any]] = (),
) -> list[Event]:
    """Events linking a run to its inputs and outputs: the declared ``(role, path)`` pairs and
    the ``file`` records the audit hook captured (see ``pedigree.data.linking``)."""
    from pedigree.data.linking import io_events as link

    return link(tracker, run_id, declared, cwd, files)
