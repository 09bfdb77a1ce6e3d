"""Reading an MLflow store through MLflow's own client (``MlflowClient(tracking_uri=...)``).

Everything MLflow-specific is here: which tracking URIs are accepted, the quiet and offline
settings MLflow is opened with, and the plain records (:class:`SourceRun`,
:class:`SourceModelVersion`) the importer turns into events. ``mlflow`` is imported only when a
store is opened, so nothing else in Pedigree pays for it (or needs it installed).

Opening a store must not change it. MLflow's own client creates what it does not find (a new
SQLite database, the tables of an empty one, a ``./mlruns`` folder), so before handing it the
URI this module checks that there is an MLflow store there: the file or folder exists, and a
database holds MLflow's tables. A database of another MLflow schema version is refused with
MLflow's own advice (``mlflow db upgrade``), since the client reads only its own version.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pedigree.errors import InvalidInput, NotFound, PedigreeError, StoreError

__all__ = [
    "QUIET_ENVIRONMENT",
    "MlflowSource",
    "SourceError",
    "SourceModel",
    "SourceModelVersion",
    "SourceRun",
    "open_source",
    "redact",
]

# MLflow's documented switches: no telemetry, no git prompts, no background logging threads.
QUIET_ENVIRONMENT = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    # Its own progress bars on stderr, one per run's artifacts: ours says how far the import is.
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
_DATABASES = ("sqlite", "postgresql", "mysql", "mssql")
_HTTP = ("http", "https")
# The tables every MLflow tracking database has (MLflow creates them when they are missing:
# we refuse instead, so that a wrong URI never turns a database into an empty MLflow store).
_TABLES = {"experiments", "runs", "metrics", "params", "tags", "alembic_version"}
PAGE = 1000


class SourceError(PedigreeError):
    """The MLflow store cannot be read: a clear message, exit code 6 like the store's errors."""

    exit_code = StoreError.exit_code


def redact(uri: str) -> str:
    """The URI without a password (``postgresql://ana:secret@db/mlflow`` ->
    ``postgresql://ana:***@db/mlflow``): what the record and the messages show.

    >>> redact("postgresql://ana:secret@db:5432/mlflow")
    'postgresql://ana:***@db:5432/mlflow'
    >>> redact("sqlite:///mlflow.db")
    'sqlite:///mlflow.db'
    """
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class SourceRun:
    """One finished MLflow run, as the importer needs it."""

    run_id: str
    experiment_id: str
    experiment: str
    name: str | None
    status: str  # MLflow's: FINISHED, FAILED, KILLED, RUNNING, SCHEDULED
    start_time: float | None  # seconds
    end_time: float | None
    user: str | None
    artifact_uri: str | None
    params: dict[str, str]
    tags: dict[str, str]
    metric_keys: list[str]


@dataclass
class SourceModelVersion:
    name: str
    version: int
    source: str | None
    run_id: str | None
    status: str
    description: str | None
    created: float | None  # seconds
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class SourceModel:
    name: str
    description: str | None
    aliases: dict[str, int]
    tags: dict[str, str]
    versions: list[SourceModelVersion]


def _ms(value: Any) -> float | None:
    return None if value is None else int(value) / 1000.0


def _quiet() -> None:
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    # Telemetry is off whatever the environment says: an import reaches only its store.
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["DO_NOT_TRACK"] = "true"
    # MLflow's INFO lines ("Creating initial MLflow database tables...") are not ours to print.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _scheme(uri: str) -> str:
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", uri)
    return m.group(1).lower().split("+")[0] if m else ""


def _file_store(uri: str) -> Path:
    """The folder of a file store URI (``./mlruns``, ``/abs/mlruns``, ``file:///abs/mlruns``)."""
    if uri.startswith("file:"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput(f"--from {uri}: a file URI names a folder on this machine")
        path = Path(parts.path)
    else:
        path = Path(uri).expanduser()
    path = path.resolve()
    if not path.is_dir():
        raise NotFound(f"no MLflow store at {path}: the folder does not exist")
    # A file store has a folder per experiment, each with its meta.yaml (the default one, 0,
    # is made with the store), and .trash.
    looks = (path / ".trash").is_dir() or any(
        (child / "meta.yaml").is_file() for child in path.iterdir() if child.is_dir()
    )
    if not looks:
        raise NotFound(
            f"no MLflow store at {path}: no experiment folders (meta.yaml) in it",
            hint="give the folder MLflow writes runs to (./mlruns), or the database URI",
        )
    return path


def _sqlite_path(uri: str) -> Path:
    rest = uri.split("://", 1)[1]
    if not rest.startswith("/") or rest in ("/", "/:memory:"):
        raise InvalidInput(f"--from {uri}: give a SQLite file, as sqlite:///path/to/mlflow.db")
    path = Path(rest[1:]).expanduser()
    return path.resolve()


def _driver(uri: str) -> str:
    """``postgresql://`` names psycopg2 to SQLAlchemy (and so to MLflow); Pedigree's postgres
    extra installs psycopg 3: use it when psycopg2 is not there."""
    if not uri.startswith("postgresql://"):
        return uri
    import importlib.util

    if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg"):
        return "postgresql+psycopg://" + uri[len("postgresql://") :]
    return uri


def _check_database(uri: str) -> None:
    """A database URI must hold MLflow's tables (checked read-only)."""
    import sqlalchemy as sa

    shown = redact(uri)
    if _scheme(uri) == "sqlite":
        path = _sqlite_path(uri)
        if not path.is_file():
            raise NotFound(f"no MLflow store at {path}: the file does not exist")
        engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    else:
        engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
    except Exception as exc:
        raise SourceError(f"cannot read the MLflow store {shown}: {_first_line(exc)}") from None
    finally:
        engine.dispose()
    missing = _TABLES - tables
    if missing:
        raise NotFound(
            f"no MLflow store at {shown}: the database has no {', '.join(sorted(missing))} "
            "table (not an MLflow tracking database)"
        )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class MlflowSource:
    """An open MLflow store: experiments, finished runs, histories, artifacts, models."""

    def __init__(self, uri: str, client: Any) -> None:
        self.uri = uri
        self.shown = redact(uri)
        self.client = client
        store = getattr(getattr(client, "_tracking_client", None), "store", None)
        # A SQL tracking store: its own engine and its own table definition (MLflow's models),
        # read with plain rows. MLflow's ORM reads a history point by point into two objects
        # each (20 times slower: 500,000 points take a minute and a half), and one query per
        # run and metric would be thousands of queries.
        self._engine: Any = getattr(store, "engine", None)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the client; MLflow's errors become one line naming ``what`` failed."""
        from mlflow.exceptions import MlflowException

        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            raise SourceError(f"{what}: {_first_line(exc)}") from None
        except OSError as exc:
            named = f": {exc.filename}" if exc.filename else ""
            raise SourceError(f"{what}: {exc.strerror or exc}{named}") from None

    def experiments(self, names: list[str] | None = None) -> list[tuple[str, str]]:
        """``[(id, name)]`` of the active experiments (those named, when ``names`` is given;
        an unknown name is an error that lists the known ones)."""
        from mlflow.entities import ViewType

        found: list[tuple[str, str]] = []
        token = None
        while True:
            page = self._call(
                f"cannot list the experiments of {self.shown}",
                self.client.search_experiments,
                view_type=ViewType.ACTIVE_ONLY,
                max_results=PAGE,
                page_token=token,
            )
            found += [(e.experiment_id, e.name) for e in page]
            token = page.token
            if not token:
                break
        if names:
            by_name = {name: eid for eid, name in found}
            unknown = [n for n in names if n not in by_name]
            if unknown:
                known = ", ".join(sorted(by_name)) or "none"
                raise NotFound(
                    f"no MLflow experiment named {', '.join(map(repr, unknown))} in "
                    f"{self.shown} (its experiments: {known})"
                )
            return [(by_name[n], n) for n in dict.fromkeys(names)]
        return found

    def runs(self, experiments: list[tuple[str, str]]) -> Iterator[list[SourceRun]]:
        """Pages of the active runs of ``experiments``, oldest first."""
        from mlflow.entities import ViewType

        if not experiments:
            return
        names = dict(experiments)
        token = None
        while True:
            page = self._call(
                f"cannot list the runs of {self.shown}",
                self.client.search_runs,
                [eid for eid, _ in experiments],
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=PAGE,
                order_by=["attributes.start_time ASC"],
                page_token=token,
            )
            yield [_run(r, names) for r in page]
            token = page.token
            if not token:
                break

    def histories(self, runs: list[SourceRun]) -> dict[str, dict[str, list[Any]]]:
        """``{run id: {key: [[step, value or None for NaN, seconds], ...]}}``: every logged
        point of every metric of ``runs``, in the order MLflow keeps them (time, then step)."""
        found: dict[str, dict[str, list[Any]]] = {r.run_id: {} for r in runs}
        if self._engine is not None:
            got: dict[str, dict[str, list[Any]]] = self._call(
                "cannot read the metric histories", self._sql_histories, runs
            )
            return got
        for r in runs:
            for key in r.metric_keys:
                metrics = self._call(
                    f"the history of metric {key!r} cannot be read",
                    self.client.get_metric_history,
                    r.run_id,
                    key,
                )
                found[r.run_id][key] = [_point(m) for m in metrics]
        return found

    def _sql_histories(self, runs: list[SourceRun]) -> dict[str, dict[str, list[Any]]]:
        """:meth:`histories` from a SQL tracking store in one query, in MLflow's order (as
        ``get_metric_history`` gives them: by time, step and value), NaN as MLflow marks it."""
        from mlflow.store.tracking.dbmodels.models import SqlMetric

        table = SqlMetric.__tablename__
        found: dict[str, dict[str, list[Any]]] = {r.run_id: {} for r in runs}
        ids = [r.run_id for r in runs]
        with self._engine.connect() as conn:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            # Plain SQL through the driver: no per-row type processing (is_nan comes back as
            # 0/1 or a boolean, both of which read as false/true).
            q = conn.dialect.identifier_preparer.quote  # key and timestamp are reserved words
            run, key, step, value, is_nan, ts = (
                q(c) for c in ("run_uuid", "key", "step", "value", "is_nan", "timestamp")
            )
            sql = (
                f"SELECT {run}, {key}, {step}, {value}, {is_nan}, {ts} FROM {q(table)} "
                f"WHERE {run} IN ({', '.join([mark] * len(ids))}) "
                f"ORDER BY {run}, {key}, {ts}, {step}, {value}"
            )
            for run_id, name, number, val, nan, ms in conn.exec_driver_sql(sql, tuple(ids)):
                points = found[run_id].get(name)
                if points is None:
                    points = found[run_id][name] = []
                points.append([int(number), None if nan else float(val), ms / 1000.0])
        return found

    def artifacts(self, run: SourceRun, dst: Path) -> list[tuple[str, Path]]:
        """Download the run's artifacts into ``dst``: ``[(artifact path, local path)]`` of its
        top-level files and folders. Any that cannot be read raises :class:`SourceError`
        naming it (the run is then skipped whole)."""
        local = _local_folder(run.artifact_uri)
        if local is not None and not (local.is_dir() and any(local.iterdir())):
            # No artifacts, seen without asking the client (which reads the run again first):
            # most runs of a long import have none.
            return []
        entries = self._call(
            "its artifacts cannot be listed", self.client.list_artifacts, run.run_id
        )
        got: list[tuple[str, Path]] = []
        for entry in entries:
            local = self._call(
                f"artifact {entry.path} cannot be read",
                self.client.download_artifacts,
                run.run_id,
                entry.path,
                str(dst),
            )
            got.append((entry.path, Path(local)))
        return got

    def models(self) -> list[SourceModel]:
        """Every registered model, with its versions (oldest first) and aliases."""
        models: list[SourceModel] = []
        token = None
        while True:
            page = self._call(
                f"cannot list the registered models of {self.shown}",
                self.client.search_registered_models,
                max_results=PAGE,
                page_token=token,
            )
            for rm in page:
                models.append(
                    SourceModel(
                        name=rm.name,
                        description=rm.description or None,
                        aliases={a: int(v) for a, v in (rm.aliases or {}).items()},
                        tags=dict(rm.tags or {}),
                        versions=self._versions(rm.name),
                    )
                )
            token = page.token
            if not token:
                break
        return models

    def _versions(self, name: str) -> list[SourceModelVersion]:
        escaped = name.replace("'", "\\'")
        versions: list[SourceModelVersion] = []
        token = None
        while True:
            page = self._call(
                f"model {name}: cannot list its versions",
                self.client.search_model_versions,
                f"name = '{escaped}'",
                max_results=PAGE,
                page_token=token,
            )
            for mv in page:
                versions.append(
                    SourceModelVersion(
                        name=mv.name,
                        version=int(mv.version),
                        source=mv.source,
                        run_id=mv.run_id or None,
                        status=str(mv.status),
                        description=mv.description or None,
                        created=_ms(mv.creation_timestamp),
                        tags=dict(mv.tags or {}),
                    )
                )
            token = page.token
            if not token:
                break
        return sorted(versions, key=lambda v: v.version)

    def model_files(self, version: SourceModelVersion, dst: Path) -> Path:
        """Download a model version's files into ``dst``; returns the local file or folder."""
        import mlflow.artifacts

        what = f"model {version.name} version {version.version}: its files cannot be read"
        uri = self._call(
            what, self.client.get_model_version_download_uri, version.name, str(version.version)
        )
        local = self._call(
            what,
            mlflow.artifacts.download_artifacts,
            artifact_uri=uri,
            dst_path=str(dst),
            tracking_uri=self.uri,
            registry_uri=self.uri,
        )
        return Path(local)


def _local_folder(uri: str | None) -> Path | None:
    """The folder a local artifact location names (``file:///...`` or an absolute path)."""
    if not uri:
        return None
    if uri.startswith("file:"):
        parts = urlsplit(uri)
        return Path(parts.path) if parts.netloc in ("", "localhost") else None
    return Path(uri) if uri.startswith("/") else None


def _point(m: Any) -> list[Any]:
    value = float(m.value)
    return [int(m.step), None if math.isnan(value) else value, int(m.timestamp) / 1000.0]


def _run(r: Any, experiments: dict[str, str]) -> SourceRun:
    info, data = r.info, r.data
    tags = dict(data.tags or {})
    return SourceRun(
        run_id=info.run_id,
        experiment_id=info.experiment_id,
        experiment=experiments.get(info.experiment_id, info.experiment_id),
        name=info.run_name or tags.get("mlflow.runName") or None,
        status=str(info.status),
        start_time=_ms(info.start_time),
        end_time=_ms(info.end_time),
        user=info.user_id or tags.get("mlflow.user") or None,
        artifact_uri=info.artifact_uri,
        params=dict(data.params or {}),
        tags=tags,
        metric_keys=sorted(data.metrics or {}),
    )


def open_source(uri: str) -> MlflowSource:
    """Open the MLflow store at ``uri`` (what MLflow takes: ``sqlite:///mlflow.db``,
    ``postgresql://...``, ``http://host:5000``, a ``./mlruns`` folder or its ``file://`` URI)
    for reading, after checking that there is one there."""
    uri = uri.strip()
    if not uri:
        raise InvalidInput("--from: give the MLflow tracking URI (sqlite:///mlflow.db, ./mlruns)")
    _quiet()  # before anything imports MLflow: its telemetry decides when it is imported
    scheme = _scheme(uri)
    if scheme in _DATABASES:
        uri = _driver(uri)
        _check_database(uri)
        if scheme == "sqlite":
            uri = f"sqlite:///{_sqlite_path(uri)}"
    elif scheme in _HTTP:
        # A server that does not answer is reported after two retries, not after MLflow's
        # default of seven with exponential backoff (minutes).
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    elif scheme in ("", "file"):
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri) and scheme == "":
            raise InvalidInput(f"--from {uri}: not a tracking URI MLflow reads here")
        uri = _file_store(uri).as_uri()
        # MLflow 3 refuses file stores unless told to allow them: reading one is what we do.
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    else:
        raise InvalidInput(
            f"--from {redact(uri)}: unknown tracking URI scheme {scheme!r} (give "
            "sqlite:///mlflow.db, postgresql://..., http://host:5000 or a ./mlruns folder)"
        )
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise InvalidInput(
            "pedigree import mlflow needs MLflow: pip install 'pedigree[mlflow]'"
        ) from None
    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        # The client opens the store lazily: make it open now, so a bad store fails here.
        client.search_experiments(max_results=1)
    except MlflowException as exc:
        message = _first_line(exc)
        if "database schema" in message:
            import mlflow

            raise SourceError(
                f"the MLflow store {redact(uri)} is of another schema version than MLflow "
                f"{mlflow.__version__} reads: {message}"
            ) from None
        raise SourceError(f"cannot read the MLflow store {redact(uri)}: {message}") from None
    except OSError as exc:
        raise SourceError(
            f"cannot read the MLflow store {redact(uri)}: {exc.strerror or exc}"
        ) from None
    return MlflowSource(uri, client)
