"""The Tracker: the one entry point that the CLI, the server and the SDK call.

>>> tracker, created = Tracker.init()          # or Tracker.from_env() in an existing project
>>> run_id = tracker.create_run(experiment="ma-crossover", params={"window": 50})
>>> tracker.log_metrics(run_id, [["sharpe", 0, 1.31, 0.0]])
>>> tracker.end_run(run_id, "finished")
>>> record = tracker.get_run(run_id)
>>> record["status"], record["params"], record["metrics"]
('finished', {'window': 50}, {'sharpe': 1.31})
>>> [r["id"] for r in tracker.runs(where="metrics.sharpe > 1")] == [run_id]
True

Everything else is a namespace: ``tracker.data``, ``tracker.lineage``, ``tracker.sweeps``,
``tracker.reproduce``, ``tracker.reports``, ``tracker.audit`` (docs/sdk.md shows each).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pedigree.config import Project, find_project
from pedigree.context import Actor, Context, close_all, shared_store
from pedigree.errors import InvalidInput

if TYPE_CHECKING:
    import pandas

    from pedigree.api.audit import AuditAPI
    from pedigree.api.bundle import BundleAPI
    from pedigree.api.data import DataAPI
    from pedigree.api.identity import TokensAPI, UsersAPI
    from pedigree.api.imports import ImportsAPI
    from pedigree.api.lineage import LineageAPI
    from pedigree.api.models import ModelsAPI
    from pedigree.api.reports import ReportsAPI
    from pedigree.api.reproduce import ReproduceAPI
    from pedigree.api.sweeps import SweepsAPI
    from pedigree.client.run import ActiveRun
    from pedigree.objects.base import ObjectStore
    from pedigree.store.events import STATUSES
    from pedigree.store.remote import RemoteStore
    from pedigree.store.sql import SQLStore
    from pedigree.sweep.grid import SweepSpec
    from pedigree.tracking.doctor import Checkup
    from pedigree.tracking.launcher import LaunchResult, LaunchSpec
    from pedigree.tracking.liveness import STALE_SECONDS

__all__ = [
    "STALE_SECONDS",
    "STATUSES",
    "LaunchResult",
    "LaunchSpec",
    "SweepSpec",
    "Tracker",
    "close_all",
    "shared_store",
]


# Re-exported names, imported when first asked for: a read command needs none of them, and the
# recorder's modules behind them cost every CLI command tens of milliseconds (issue 18).
_REEXPORTS = {
    "STATUSES": "pedigree.store.events",
    "SweepSpec": "pedigree.sweep.grid",
    "LaunchResult": "pedigree.tracking.launcher",
    "LaunchSpec": "pedigree.tracking.launcher",
    "STALE_SECONDS": "pedigree.tracking.liveness",
}


def __getattr__(name: str) -> Any:
    from pedigree.lazy import lazy_attribute

    return lazy_attribute(__name__, _REEXPORTS, name)


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
        store: SQLStore | RemoteStore | None = None,
        objects: ObjectStore | None = None,
        actor: Actor | None = None,
    ) -> None:
        self.ctx = Context(project, store=store, objects=objects, actor=actor)
        self.project = project

    @classmethod
    def from_env(cls, cwd: str | os.PathLike[str] | None = None) -> Tracker:
        """The tracker of the project that holds ``cwd`` (default: the working directory)."""
        return cls(find_project(cwd))

    @classmethod
    def init(cls, path: str | os.PathLike[str] | None = None) -> tuple[Tracker, bool]:
        """Create (or find) the project at the git root above ``path`` and create or migrate its
        database; ``True`` when the project was created now (``pedigree init``)."""
        from pedigree.config import init_project

        project, created = init_project(path)
        tracker = cls(project)
        tracker.store  # noqa: B018 - opening it creates and migrates the database
        return tracker, created

    @property
    def store(self) -> SQLStore | RemoteStore:
        return self.ctx.store

    @property
    def objects(self) -> ObjectStore:
        return self.ctx.objects

    @property
    def user(self) -> str:
        return self.ctx.user

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

    @cached_property
    def bundle(self) -> BundleAPI:
        from pedigree.api.bundle import BundleAPI

        return BundleAPI(self.ctx)

    @cached_property
    def models(self) -> ModelsAPI:
        from pedigree.api.models import ModelsAPI

        return ModelsAPI(self.ctx)

    @cached_property
    def imports(self) -> ImportsAPI:
        from pedigree.api.imports import ImportsAPI

        return ImportsAPI(self.ctx)

    @cached_property
    def users(self) -> UsersAPI:
        from pedigree.api.identity import UsersAPI

        return UsersAPI(self.ctx)

    @cached_property
    def tokens(self) -> TokensAPI:
        from pedigree.api.identity import TokensAPI

        return TokensAPI(self.ctx)

    # -- writing runs --------------------------------------------------------------------------

    def create_run(self, **fields: Any) -> str:
        """Record a new running run; returns its id (see ``tracking.recording.create_run``)."""
        from pedigree.tracking import recording

        return recording.create_run(self.ctx, **fields)

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Change the experiment, name or seed of a running run."""
        from pedigree.tracking import recording

        recording.update_run(self.ctx, run_id, **fields)

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from pedigree.tracking import recording

        recording.log_params(self.ctx, run_id, params)

    def log_metrics(self, run_id: str, points: list[list[Any]]) -> None:
        """Points are ``[key, step, value or None for NaN, timestamp]``."""
        from pedigree.tracking import recording

        recording.log_metrics(self.ctx, run_id, points)

    def end_run(self, run_id: str, status: str, **fields: Any) -> None:
        from pedigree.tracking import recording

        recording.end_run(self.ctx, run_id, status, **fields)

    def heartbeat(self, run_id: str) -> None:
        from pedigree.tracking import recording

        recording.heartbeat(self.ctx, run_id)

    def start_run(
        self,
        *,
        experiment: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        seed: int | None = None,
        on_end: Callable[[ActiveRun], None] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> ActiveRun:
        """Create a run recorded by this process (the SDK outside ``pedigree run``)."""
        from pedigree.tracking.recorder import start_run

        return start_run(
            self.ctx,
            experiment=experiment,
            name=name,
            params=params,
            seed=seed,
            on_end=on_end,
            tags=tags,
        )

    def launch(
        self,
        spec: LaunchSpec,
        *,
        stream: bool = True,
        on_start: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
    ) -> LaunchResult:
        """Run a command as a recorded run and wait for it (``pedigree run``)."""
        from pedigree.tracking.launcher import launch

        return launch(self.ctx, spec, stream=stream, on_start=on_start, stop=stop)

    def sync(self) -> dict[str, Any]:
        """Deliver to the team server what waits in the outbox (``pedigree sync``): records
        made while it could not be reached. ``{"remote": False}`` on a local store."""
        remote = self.ctx.remote
        if remote is None:
            return {"remote": False}
        return {"remote": True, "server": remote.uri, **remote.sync()}

    def doctor(self, *, fix: bool = False) -> Checkup:
        """What needs attention in the store (runs whose recorder stopped, leftover spool
        folders); with ``fix``, record those runs as crashed (in the acting user's name) and
        remove the leftovers (``pedigree doctor``)."""
        from pedigree.tracking.doctor import checkup, repair

        found = checkup(self.ctx)
        return repair(self.ctx, found) if fix else found

    # -- reading runs --------------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        with self.ctx.read() as reader:
            return reader.resolve_run(ref)

    def _records(self, ids: Sequence[str], *, detail: bool) -> list[dict[str, Any]]:
        from pedigree.tracking.records import load_records

        with self.ctx.read() as reader:
            return load_records(reader, ids, detail=detail)

    def get_run(self, ref: str) -> dict[str, Any]:
        """One run, as ``pedigree show RUN --json`` prints it (reading writes nothing: a run
        whose recorder stopped shows as ``crashed``, see :meth:`doctor`)."""
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

    def runs_frame(self, *, kind: str | Sequence[str] = "run", **query: Any) -> pandas.DataFrame:
        """The runs as a pandas DataFrame, one row per run, with params.* and metrics.* columns.

        Only ordinary runs by default: ``kind`` names others ("sweep", "reproduction"), or
        "all". A parameter whose values are all integers (or all booleans) keeps that type, with
        pandas' nullable dtypes where some runs lack it.
        """
        try:
            import pandas
        except ImportError:
            raise InvalidInput("runs_frame needs pandas: pip install 'pedigree[pandas]'") from None
        if "kinds" not in query and kind != "all":
            query["kinds"] = [kind] if isinstance(kind, str) else list(kind)
        rows = []
        typed: dict[str, set[type]] = {}
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
            for k, v in rec["params"].items():
                typed.setdefault(f"params.{k}", set()).add(type(v))
            flat.update({f"metrics.{k}": v for k, v in rec["metrics"].items()})
            rows.append(flat)
        frame = pandas.DataFrame(rows)
        for col in ("started_at", "ended_at"):
            if col in frame:
                frame[col] = pandas.to_datetime(frame[col], utc=True, format="ISO8601")
        for col, types in typed.items():
            if types == {int}:
                frame[col] = frame[col].astype("Int64")
            elif types == {bool}:
                frame[col] = frame[col].astype("boolean")
        return frame

    def tag(self, ref: str, tags: dict[str, Any]) -> dict[str, Any]:
        """Set tags on a run (``pedigree tag RUN KEY=VALUE``): ``{run, changed, tags}``."""
        from pedigree.tracking.tags import tag

        return tag(self.ctx, ref, tags)

    def untag(self, ref: str, keys: Sequence[str]) -> dict[str, Any]:
        """Remove tags from a run (``pedigree untag RUN KEY``): ``{run, changed, tags}``."""
        from pedigree.tracking.tags import untag

        return untag(self.ctx, ref, keys)

    def metric_history(self, ref: str, keys: Sequence[str] = ()) -> dict[str, list[dict[str, Any]]]:
        """Every logged point of a run's metrics (or of ``keys``): ``{key: [{step, value,
        time}]}`` (``pedigree metrics RUN``)."""
        from pedigree.tracking.history import metric_history

        return metric_history(self.ctx, ref, keys)

    def metric_columns(self, ref: str) -> dict[str, tuple[list[int], list[float | None]]]:
        """Every logged point of a run's metrics as columns, ``{key: (steps, values)}`` in step
        order (NaN is None): what a chart draws (the web UI), without :meth:`metric_history`'s
        per-point timestamps, which cost more than the points at 10,000 steps."""
        import math

        with self.ctx.read() as reader:
            points = reader.metric_history(reader.resolve_run(ref))
        out: dict[str, tuple[list[int], list[float | None]]] = {}
        for key, step, value, _ts in points:
            steps, values = out.setdefault(key, ([], []))
            steps.append(step)
            values.append(None if math.isnan(value) else value)
        return out

    def abbreviations(self, ids: Sequence[str]) -> dict[str, str]:
        with self.ctx.read() as reader:
            return reader.abbreviations(ids)

    def read_blob(self, digest: str | None) -> bytes:
        if not digest:
            return b""
        from pedigree.digest import Digest

        return self.objects.get_bytes(Digest.parse(digest))
