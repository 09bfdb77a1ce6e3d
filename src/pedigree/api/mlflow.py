"""What the team server's MLflow-compatible endpoint does: ``MlflowAPI`` (the facade of
``pedigree.server.mlflow_api``).

The real ``mlflow`` client, pointed at the team server (``MLFLOW_TRACKING_URI`` and
``MLFLOW_TRACKING_TOKEN``), records ordinary Pedigree runs: the same typed events every other
path records a run with (``run.created`` with the token's user, ``run.params``, ``run.metrics``,
``run.tagged``, ``run.captured`` from the ``mlflow.source.*`` tags, ``run.io`` for artifacts,
``run.ended``), so ``show``, ``lineage``, ``audit verify`` and approvals see them as any run.
The mapping is the importer's (``pedigree.interop.mlflow.importer``): an MLflow run id *is* the
Pedigree run id, times are milliseconds on the wire and seconds here, params are text (as
MLflow logs them), MLflow's ``mlflow.*`` system tags are kept as tags (searches use them:
``tags."mlflow.parentRunId"``) and also mapped to fields (``mlflow.runName`` to the name,
``mlflow.parentRunId`` to the parent, ``mlflow.source.git.commit`` to the code commit).

Pedigree has no experiment records (an experiment is the name its runs carry), so an MLflow
experiment id is derived from the name (``"0"`` is ``Default``, as in MLflow); an experiment
created without runs yet lives in the server's memory until its first run records it.
Logged models (MLflow 3's ``mlflow.<flavor>.log_model``, autolog) likewise: their files go to
the object store and, when the model names its source run, into that run's outputs under
``models/<model id>/``; their descriptions live in memory.

Errors are MLflow's: ``{"error_code": ..., "message": ...}`` with its statuses
(:func:`mlflow_error`); validation follows ``mlflow.utils.validation``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.context import Context
from pedigree.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PedigreeError,
    RateLimited,
    RunImmutable,
    Unauthenticated,
)
from pedigree.identity import Forbidden

if TYPE_CHECKING:
    from pedigree.store.events import Event
    from pedigree.store.reader import Reader
    from pedigree.store.reads.runs import RunRow
    from pedigree.store.where import Expr, OrderKey

__all__ = [
    "DEFAULT_EXPERIMENT",
    "ExperimentBook",
    "MlflowAPI",
    "MlflowError",
    "mlflow_error",
]

DEFAULT_EXPERIMENT = "Default"
# MLflow's limits (mlflow.utils.validation).
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_EXPERIMENT_NAME = 500
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_RESULTS = 50_000
_KEY = re.compile(r"^[/\w.\- :]*$")
_STATUSES = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED"}
_STATUSES.update(killed="KILLED", crashed="FAILED")
_END = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
_COMMIT_MAX = 64


class MlflowError(PedigreeError):
    """An error as MLflow reports it: an ``error_code`` and its HTTP status."""

    def __init__(
        self, message: str, code: str = "INVALID_PARAMETER_VALUE", status: int = 400
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = status


def not_found(message: str) -> MlflowError:
    return MlflowError(message, "RESOURCE_DOES_NOT_EXIST", 404)


def mlflow_error(exc: PedigreeError) -> tuple[int, str, str]:
    """(status, MLflow ``error_code``, message) of an error."""
    if isinstance(exc, MlflowError):
        return exc.http_status, exc.code, exc.message
    if isinstance(exc, Unauthenticated):
        return 401, "UNAUTHENTICATED", exc.message
    if isinstance(exc, Forbidden):
        return 403, "PERMISSION_DENIED", exc.message
    if isinstance(exc, RateLimited):
        return 429, "REQUEST_LIMIT_EXCEEDED", exc.message
    if isinstance(exc, NotFound):
        return 404, "RESOURCE_DOES_NOT_EXIST", exc.message
    if isinstance(exc, RunImmutable):
        return 400, "INVALID_STATE", exc.message
    if isinstance(exc, (InvalidInput, Conflict)):
        return 400, "INVALID_PARAMETER_VALUE", exc.message
    status = int(getattr(exc, "http_status", 500))
    if status >= 500:
        return 500, "INTERNAL_ERROR", exc.message
    return 400, "BAD_REQUEST", exc.message


# -- validation (as mlflow.utils.validation) -----------------------------------------------------


def _text(body: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise MlflowError(f"Missing value for required parameter '{name}'.")
        return ""
    if not isinstance(value, str):
        raise MlflowError(f"Invalid value {value!r} for parameter '{name}' supplied.")
    return value


def _int(value: Any, name: str, default: int | None = None) -> int | None:
    """An int64 as protobuf JSON sends it (a number or a string of one)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise MlflowError(f"Invalid value {value!r} for parameter '{name}' supplied.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MlflowError(f"Invalid value {value!r} for parameter '{name}' supplied.") from None


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or key == "":
        raise MlflowError(f"Missing value for required parameter '{what}'.")
    if len(key) > MAX_KEY:
        raise MlflowError(
            f"'{what}' exceeds the maximum length of {MAX_KEY} characters: {key[:40]!r}..."
        )
    if not _KEY.match(key):
        raise MlflowError(
            f"Invalid value {key!r} for parameter '{what}' supplied. Names may only contain "
            "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and "
            "slashes (/)."
        )
    parts = key.split("/")
    if key.startswith("/") or ".." in parts or "." in parts:
        raise MlflowError(
            f"Invalid value {key!r} for parameter '{what}' supplied. Names cannot be a path "
            "outside the run, nor contain '.' or '..' segments."
        )
    return key


def metric_value(value: Any, key: str) -> float | None:
    """A metric's value (None for NaN, as the store holds it); MLflow sends NaN and the
    infinities as strings."""
    if isinstance(value, bool) or value is None:
        raise MlflowError(f"Got invalid value {value!r} for metric '{key}' (must be a number)")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity", "nan", "inf", "-inf"):
        number = float(value.replace("Infinity", "inf"))
    else:
        raise MlflowError(f"Got invalid value {value!r} for metric '{key}' (must be a number)")
    if math.isnan(number):
        return None
    if math.isinf(number):
        # The store holds finite numbers; MLflow's SQL stores clamp the infinities the same way.
        return math.copysign(1.7976931348623157e308, number)
    return number


def _wire_value(value: float | None) -> float | str:
    return "NaN" if value is None or value != value else value


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


# -- experiments ---------------------------------------------------------------------------------


def experiment_id(name: str) -> str:
    """The MLflow id of an experiment: derived from its name, so that it needs no record."""
    if name == DEFAULT_EXPERIMENT:
        return "0"
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:13], 16))


@dataclass
class _LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    run_id: str | None
    created: int
    model_type: str = ""
    status: str = "LOGGED_MODEL_PENDING"
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> digest, size

    def to_json(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "model_id": self.model_id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "artifact_uri": (
                f"mlflow-artifacts:/{self.experiment_id}/models/{self.model_id}/artifacts"
            ),
            "status": self.status,
            "creation_timestamp_ms": self.created,
            "last_updated_timestamp_ms": self.created,
            "model_type": self.model_type,
            "tags": [{"key": k, "value": v} for k, v in sorted(self.tags.items())],
        }
        if self.run_id:
            info["source_run_id"] = self.run_id
        params = [{"key": k, "value": v} for k, v in sorted(self.params.items())]
        return {"info": info, "data": {"params": params, "metrics": []}}


class ExperimentBook:
    """What the endpoint keeps in the server's memory: experiments created but without runs
    yet, and logged models. Everything else is read from the store."""

    def __init__(self) -> None:
        self.created: dict[str, tuple[str, float]] = {}  # id -> name, creation time
        self.models: dict[str, _LoggedModel] = {}
        self.lock = threading.Lock()


# -- the endpoint --------------------------------------------------------------------------------


class MlflowAPI:
    """MLflow's tracking REST API over one request's context (actor: the token's user)."""

    def __init__(self, ctx: Context, book: ExperimentBook) -> None:
        self._ctx = ctx
        self._book = book

    # -- experiments ------------------------------------------------------------------------------

    def _names(self, reader: Reader) -> dict[str, str]:
        """Every experiment known, id -> name."""
        names = {experiment_id(n): n for n in reader.experiment_names()}
        with self._book.lock:
            for eid, (name, _) in self._book.created.items():
                names.setdefault(eid, name)
        names.setdefault("0", DEFAULT_EXPERIMENT)
        return names

    def _experiment_json(self, eid: str, name: str) -> dict[str, Any]:
        with self._book.lock:
            created = self._book.created.get(eid, (name, 0.0))[1]
        return {
            "experiment_id": eid,
            "name": name,
            "artifact_location": f"mlflow-artifacts:/{eid}",
            "lifecycle_stage": "active",
            "creation_time": _ms(created),
            "last_update_time": _ms(created),
            "tags": [],
        }

    def experiment_name(self, eid: str) -> str:
        with self._ctx.read() as reader:
            names = self._names(reader)
        if eid not in names:
            raise not_found(f"No Experiment with id={eid} exists")
        return names[eid]

    def get_experiment(self, eid: str) -> dict[str, Any]:
        if not eid:
            raise MlflowError("Missing value for required parameter 'experiment_id'.")
        return {"experiment": self._experiment_json(eid, self.experiment_name(eid))}

    def get_experiment_by_name(self, name: str) -> dict[str, Any]:
        if not name:
            raise MlflowError("Missing value for required parameter 'experiment_name'.")
        eid = experiment_id(name)
        with self._ctx.read() as reader:
            names = self._names(reader)
        if names.get(eid) != name:
            raise not_found(f"Could not find experiment with name '{name}'")
        return {"experiment": self._experiment_json(eid, name)}

    def create_experiment(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = _text(body, "name")
        if len(name) > MAX_EXPERIMENT_NAME:
            raise MlflowError(
                f"Experiment name exceeds the maximum length of {MAX_EXPERIMENT_NAME} characters"
            )
        from pedigree.values import check_key as pedigree_key

        pedigree_key(name, "experiment name")
        eid = experiment_id(name)
        with self._ctx.read() as reader:
            names = self._names(reader)
        if eid in names:
            raise MlflowError(
                f"Experiment '{name}' already exists.", "RESOURCE_ALREADY_EXISTS", 400
            )
        with self._book.lock:
            self._book.created[eid] = (name, time.time())
        return {"experiment_id": eid}

    def search_experiments(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._ctx.read() as reader:
            names = self._names(reader)
        wanted = _text(body, "filter", required=False)
        found = [
            self._experiment_json(eid, name)
            for eid, name in sorted(names.items(), key=lambda kv: kv[1])
            if not wanted or _name_filter(wanted, name)
        ]
        limit = _int(body.get("max_results"), "max_results", 1000) or 1000
        return {"experiments": found[:limit]}

    # -- runs -------------------------------------------------------------------------------------

    def _row(self, reader: Reader, run_id: str) -> RunRow:
        if not run_id:
            raise MlflowError("Missing value for required parameter 'run_id'.")
        row = reader.run_rows([run_id]).get(run_id)
        if row is None:
            raise not_found(f"Run '{run_id}' not found")
        return row

    def _runs_json(
        self, reader: Reader, ids: Sequence[str], *, history: bool = False
    ) -> list[dict[str, Any]]:
        rows = reader.run_rows(ids)
        params = reader.params(ids)
        tags = reader.tags(ids)
        latest = reader.latest_metrics(ids) if not history else {}
        out = []
        for rid in ids:
            row = rows.get(rid)
            if row is None:
                continue
            if history:
                metrics = _last_points(reader.metric_history(rid))
            else:
                metrics = [
                    {
                        "key": k,
                        "value": _wire_value(None if v != v else v),
                        "timestamp": 0,
                        "step": 0,
                    }
                    for k, v in latest[rid].items()
                ]
            out.append(
                {
                    "info": _run_info(row),
                    "data": {
                        "metrics": metrics,
                        "params": [
                            {"key": k, "value": _param_text(v)}
                            for k, v in sorted(params[rid].items())
                        ],
                        "tags": [{"key": k, "value": v} for k, v in sorted(tags[rid].items())],
                    },
                    "inputs": {},
                    "outputs": {},
                }
            )
        return out

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self._ctx.read() as reader:
            self._row(reader, run_id)
            return {"run": self._runs_json(reader, [run_id], history=True)[0]}

    def create_run(self, body: Mapping[str, Any]) -> dict[str, Any]:
        from pedigree.ids import new_id
        from pedigree.store import events as ev

        eid = _text(body, "experiment_id", required=False) or "0"
        experiment = self.experiment_name(eid)
        tags = _tag_map(body.get("tags"))
        name = _text(body, "run_name", required=False) or tags.get("mlflow.runName") or None
        if name is not None:
            tags["mlflow.runName"] = name
        started_ms = _int(body.get("start_time"), "start_time")
        started = started_ms / 1000 if started_ms is not None else time.time()
        parent = tags.get("mlflow.parentRunId")
        run_id = new_id()
        with self._ctx.read() as reader:
            if parent is not None:
                self._row(reader, parent)
        events: list[Event] = [
            ev.RunCreated(
                id=run_id,
                experiment=experiment,
                name=name,
                parent_id=parent,
                user=self._ctx.user,
                started_at=started,
            )
        ]
        events += self._tag_events(run_id, tags, {})
        events += _captured(run_id, tags)
        self._ctx.append(events)
        with self._ctx.read() as reader:
            return {"run": self._runs_json(reader, [run_id], history=True)[0]}

    def update_run(self, body: Mapping[str, Any]) -> dict[str, Any]:
        from pedigree.store import events as ev

        run_id = _text(body, "run_id", required=False) or _text(body, "run_uuid")
        status = _text(body, "status", required=False)
        name = _text(body, "run_name", required=False)
        ended_ms = _int(body.get("end_time"), "end_time")
        with self._ctx.read() as reader:
            row = self._row(reader, run_id)
            numbers = reader.tag_numbers(run_id)
        events: list[Event] = []
        if name and name != row.name:
            if row.status == "running":
                events.append(ev.RunUpdated(run_id=run_id, name=name))
            events += self._tag_events(run_id, {"mlflow.runName": name}, numbers)
        if status and status not in ("RUNNING", "SCHEDULED"):
            if status not in _END:
                raise MlflowError(f"Invalid value {status!r} for parameter 'status' supplied.")
            if row.status == "running":
                ended = ended_ms / 1000 if ended_ms is not None else time.time()
                events.append(ev.RunEnded(run_id=run_id, status=_END[status], ended_at=ended))
            elif _STATUSES.get(row.status) != status:
                raise MlflowError(
                    f"The run {run_id} has ended ({row.status}); its status cannot change to "
                    f"{status}: a record never changes after the fact.",
                    "INVALID_STATE",
                )
        if events:
            self._ctx.append(events)
        with self._ctx.read() as reader:
            return {"run_info": _run_info(self._row(reader, run_id))}

    # -- logging ----------------------------------------------------------------------------------

    def log_batch(self, body: Mapping[str, Any]) -> dict[str, Any]:
        from pedigree.store import events as ev

        run_id = _text(body, "run_id", required=False) or _text(body, "run_uuid")
        metrics = _records(body.get("metrics"), "metrics")
        params = _records(body.get("params"), "params")
        tags = _records(body.get("tags"), "tags")
        if len(metrics) > MAX_METRICS_PER_BATCH:
            raise MlflowError(
                f"A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics. "
                f"Got {len(metrics)} metrics."
            )
        if len(params) > MAX_PARAMS_TAGS_PER_BATCH or len(tags) > MAX_PARAMS_TAGS_PER_BATCH:
            raise MlflowError(
                f"A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} "
                f"params and {MAX_PARAMS_TAGS_PER_BATCH} tags. Got {len(params)} params and "
                f"{len(tags)} tags."
            )
        if len(metrics) + len(params) + len(tags) > MAX_ENTITIES_PER_BATCH:
            raise MlflowError(
                f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} "
                "metrics, params and tags in total."
            )
        points: list[list[Any]] = []
        now = time.time()
        for m in metrics:
            key = check_key(m.get("key"), "key")
            value = metric_value(m.get("value"), key)
            ts = _int(m.get("timestamp"), "timestamp")
            step = _int(m.get("step"), "step", 0) or 0
            if not -(2**63) <= step < 2**63:
                raise MlflowError(f"Invalid value {step} for parameter 'step' supplied.")
            points.append([key, step, value, ts / 1000 if ts is not None else now])
        param_map: dict[str, str] = {}
        for p in params:
            key = check_key(p.get("key"), "key")
            raw = p.get("value")
            text = "" if raw is None else str(raw)
            if len(text) > MAX_PARAM_VALUE:
                raise MlflowError(
                    f"Param value '{text[:40]}...' had length {len(text)}, which exceeded "
                    f"length limit of {MAX_PARAM_VALUE}"
                )
            if key in param_map and param_map[key] != text:
                raise MlflowError(
                    f"Duplicate parameter keys have been submitted: {key!r} with different values."
                )
            param_map[key] = text
        tag_map = _tag_map(tags)

        def build(reader: Reader) -> list[Event]:
            # In the write's transaction: the run's state, its params and its tag numbers
            # cannot change between the checks and the append.
            row = self._row(reader, run_id)
            params_new = dict(param_map)
            if params_new:
                old = reader.params([run_id])[run_id]
                for key, text in params_new.items():
                    if key in old and _param_text(old[key]) != text:
                        raise MlflowError(
                            f"Changing param values is not allowed. Param with key='{key}' was "
                            f"already logged with value='{_param_text(old[key])}' for run ID="
                            f"'{run_id}'. Attempted logging new value '{text}'."
                        )
                params_new = {k: v for k, v in params_new.items() if k not in old}
            if (points or params_new) and row.status != "running":
                raise MlflowError(
                    f"The run {run_id} has ended ({row.status}): its record cannot change after "
                    "the fact (tags can).",
                    "INVALID_STATE",
                )
            events: list[Event] = []
            if params_new:
                events.append(ev.RunParams(run_id=run_id, params=params_new))
            if points:
                events.append(ev.RunMetrics(run_id=run_id, points=points))
            current = reader.tags([run_id])[run_id]
            changed = {k: v for k, v in tag_map.items() if current.get(k) != v}
            events += self._tag_events(run_id, changed, reader.tag_numbers(run_id))
            if row.status == "running":
                events += _captured(run_id, changed)
                if "mlflow.runName" in changed and changed["mlflow.runName"] != row.name:
                    events.append(ev.RunUpdated(run_id=run_id, name=changed["mlflow.runName"]))
            return events

        self._ctx.write(build)
        return {}

    def log_metric(self, body: Mapping[str, Any]) -> dict[str, Any]:
        metric = {k: body.get(k) for k in ("key", "value", "timestamp", "step")}
        return self.log_batch({"run_id": _run_ref(body), "metrics": [metric]})

    def log_param(self, body: Mapping[str, Any]) -> dict[str, Any]:
        param = {"key": body.get("key"), "value": body.get("value")}
        return self.log_batch({"run_id": _run_ref(body), "params": [param]})

    def set_tag(self, body: Mapping[str, Any]) -> dict[str, Any]:
        tag = {"key": body.get("key"), "value": body.get("value")}
        return self.log_batch({"run_id": _run_ref(body), "tags": [tag]})

    def delete_tag(self, body: Mapping[str, Any]) -> dict[str, Any]:
        from pedigree.store import events as ev

        run_id = _text(body, "run_id")
        key = check_key(body.get("key"), "key")
        with self._ctx.read() as reader:
            self._row(reader, run_id)
            if key not in reader.tags([run_id])[run_id]:
                raise not_found(f"No tag with name: {key} in run with id {run_id}")
            number = reader.tag_numbers(run_id).get(key, 0) + 1
        self._ctx.append(
            [
                ev.RunUntagged(
                    run_id=run_id, key=key, number=number, actor=self._ctx.user, at=time.time()
                )
            ]
        )
        return {}

    def log_inputs(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Datasets and models a run used: recorded as tags of the run (``mlflow.inputs.N``:
        the dataset's name and digest), since MLflow's dataset records carry no bytes the
        lineage could follow."""
        run_id = _text(body, "run_id")
        datasets = _records(body.get("datasets"), "datasets")
        tags: dict[str, str] = {}
        for item in datasets:
            ds = item.get("dataset") if isinstance(item, dict) else None
            if not isinstance(ds, dict):
                raise MlflowError("Invalid value for parameter 'datasets' supplied.")
            name = str(ds.get("name") or "dataset")[:200]
            digest = str(ds.get("digest") or "")[:64]
            key = check_key(f"mlflow.dataset.{_safe_key(name)}", "key")
            tags[key] = f"{digest} {ds.get('source_type') or ''}".strip()
        with self._ctx.read() as reader:
            self._row(reader, run_id)
        if tags:
            self.log_batch(
                {"run_id": run_id, "tags": [{"key": k, "value": v} for k, v in tags.items()]}
            )
        return {}

    # -- metrics ----------------------------------------------------------------------------------

    def metric_history(
        self, run_id: str, key: str, max_results: Any, page_token: str | None
    ) -> dict[str, Any]:
        """A metric's every point, in step order (a page at a time with ``max_results``)."""
        limit_asked = _int(max_results, "max_results")
        if not key:
            raise MlflowError("Missing value for required parameter 'metric_key'.")
        with self._ctx.read() as reader:
            self._row(reader, run_id)
            points = reader.metric_history(run_id, key)
        start = _offset(page_token)
        limit = limit_asked or len(points) or 1
        page = points[start : start + limit]
        out: dict[str, Any] = {
            "metrics": [
                {
                    "key": k,
                    "value": _wire_value(v if v == v else None),
                    "timestamp": _ms(ts),
                    "step": s,
                }
                for k, s, v, ts in page
            ]
        }
        if start + limit < len(points):
            out["next_page_token"] = _token(start + limit)
        return out

    # -- search -----------------------------------------------------------------------------------

    def search_runs(self, body: Mapping[str, Any]) -> dict[str, Any]:
        from pedigree.store.where import Compare, Field

        ids = body.get("experiment_ids") or []
        if not isinstance(ids, list):
            raise MlflowError("Invalid value for parameter 'experiment_ids' supplied.")
        max_results = _int(body.get("max_results"), "max_results", 1000)
        if max_results is None or not 0 < max_results <= MAX_RESULTS:
            raise MlflowError(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at "
                f"most {MAX_RESULTS}"
            )
        where = parse_filter(_text(body, "filter", required=False))
        order = parse_order_by(_list(body.get("order_by"), "order_by"))
        start = _offset(body.get("page_token"))
        with self._ctx.read() as reader:
            names = self._names(reader)
            chosen = [names[str(i)] for i in ids if str(i) in names]
            if ids and not chosen:
                return {"runs": []}
            conds: list[Expr] = []
            if ids:
                conds.append(Compare(Field("attr", "experiment"), "in", tuple(chosen)))
            if where is not None:
                conds.append(where)
            from pedigree.store.where import And

            expr: Expr | None = (
                None if not conds else conds[0] if len(conds) == 1 else And(tuple(conds))
            )
            try:
                found = reader.select_runs(
                    where=expr, order_by=order, limit=start + max_results + 1
                )
            except InvalidInput as exc:
                raise MlflowError(f"Invalid filter or order: {exc.message}") from None
            page = found[start : start + max_results]
            runs = self._runs_json(reader, page)
        out: dict[str, Any] = {"runs": runs}
        if len(found) > start + max_results:
            out["next_page_token"] = _token(start + max_results)
        return out

    # -- artifacts --------------------------------------------------------------------------------

    def _artifact_target(self, path: str) -> tuple[str, str, str]:
        """('run' or 'model', its id, the path inside) of a proxy path
        ``<experiment>/<run>/artifacts/<path>`` or ``<experiment>/models/<model>/artifacts/...``."""
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
            return "model", parts[2], "/".join(parts[4:])
        if len(parts) >= 3 and parts[2] == "artifacts":
            return "run", parts[1], "/".join(parts[3:])
        raise not_found(f"No artifact location {path!r}: it names no run here")

    def _check_rel(self, rel: str) -> str:
        parts = rel.split("/")
        if not rel or ".." in parts or "." in parts or "" in parts or rel.startswith("/"):
            raise MlflowError(f"Invalid artifact path: {rel!r}")
        return rel

    def put_artifact(self, path: str, local: Path) -> dict[str, Any]:
        """Store an uploaded file in the object store, as an output of its run (or a file of
        a logged model, and then an output of the model's run under ``models/<id>/``)."""
        what, ident, rel = self._artifact_target(path)
        rel = self._check_rel(rel)
        if what == "model":
            with self._book.lock:
                model = self._book.models.get(ident)
            if model is None:
                raise not_found(f"Logged model '{ident}' not found")
            digest = self._ctx.objects.put_file(local)
            size = local.stat().st_size
            with self._book.lock:
                model.files[rel] = (str(digest), size)
            if model.run_id:
                self._record_output(model.run_id, f"models/{ident}/{rel}", str(digest), size)
            return {}
        with self._ctx.read() as reader:
            self._row(reader, ident)
        digest = self._ctx.objects.put_file(local)
        self._record_output(ident, rel, str(digest), local.stat().st_size)
        return {}

    def _record_output(self, run_id: str, rel: str, digest: str, size: int) -> None:
        from pedigree.store import events as ev

        with self._ctx.read() as reader:
            row = self._row(reader, run_id)
            held = {i.path: i.digest for i in reader.run_io([run_id])[run_id] if i.role == "output"}
        if held.get(rel) == digest:
            return
        event: Event
        if row.status == "running":
            item = {"role": "output", "path": rel, "digest": digest, "size": size}
            item.update(kind="file", declared=True, modified=False)
            event = ev.RunIO(run_id=run_id, items=[item])
        else:
            event = ev.RunAttached(
                run_id=run_id, items=[{"path": rel, "digest": digest, "size": size, "kind": "file"}]
            )
        self._ctx.append([event])

    def _files(self, path: str) -> dict[str, tuple[str, int]]:
        """The files under a proxy location (path inside -> digest, size), and the path inside."""
        what, ident, _ = self._artifact_target(path)
        if what == "model":
            with self._book.lock:
                model = self._book.models.get(ident)
                if model is None:
                    raise not_found(f"Logged model '{ident}' not found")
                return dict(model.files)
        with self._ctx.read() as reader:
            self._row(reader, ident)
            items = reader.run_io([ident])[ident]
        files: dict[str, tuple[str, int]] = {}
        trees = [i for i in items if i.role == "output" and i.kind == "dir"]
        for i in items:
            if i.role == "output" and i.kind != "dir":
                files[i.path] = (i.digest, i.size)
        if trees:
            with self._ctx.read() as reader:
                for tree in trees:
                    for entry in reader.tree_entries(tree.digest):
                        files[f"{tree.path}/{entry.path}"] = (entry.digest, entry.size)
        return files

    def artifact_file(self, path: str) -> tuple[str, int]:
        """(digest, size) of the file at a proxy path."""
        _, _, rel = self._artifact_target(path)
        found = self._files(path).get(rel)
        if found is None:
            raise not_found(f"No artifact {rel!r} at {path!r}")
        return found

    def download_artifact(self, path: str, dest: Path) -> None:
        """Write the file at a proxy path to ``dest`` (verified against its digest)."""
        from pedigree.digest import Digest

        digest, _ = self.artifact_file(path)
        self._ctx.objects.get_file(Digest.parse(digest), dest)

    def list_artifacts(self, path: str) -> dict[str, Any]:
        """The files and folders directly under a proxy location (MLflow's list, with paths
        relative to the location asked)."""
        _, _, rel = self._artifact_target(path)
        prefix = f"{rel}/" if rel else ""
        entries: dict[str, dict[str, Any]] = {}
        for file, (_, size) in self._files(path).items():
            if not file.startswith(prefix):
                continue
            rest = file[len(prefix) :]
            head, sep, _ = rest.partition("/")
            if sep:
                entries.setdefault(head, {"path": head, "is_dir": True})
            else:
                entries[head] = {"path": head, "is_dir": False, "file_size": size}
        return {"files": [entries[k] for k in sorted(entries)]}

    def list_run_artifacts(self, run_id: str, rel: str) -> dict[str, Any]:
        """``artifacts/list`` of the tracking API: paths relative to the run's root."""
        with self._ctx.read() as reader:
            row = self._row(reader, run_id)
        eid = experiment_id(row.experiment)
        base = f"{eid}/{run_id}/artifacts" + (f"/{rel.strip('/')}" if rel.strip("/") else "")
        listed = self.list_artifacts(base)["files"]
        lead = f"{rel.strip('/')}/" if rel.strip("/") else ""
        files = [{**f, "path": lead + f["path"]} for f in listed]
        return {"root_uri": f"mlflow-artifacts:/{eid}/{run_id}/artifacts", "files": files}

    # -- logged models ----------------------------------------------------------------------------

    def create_logged_model(self, body: Mapping[str, Any]) -> dict[str, Any]:
        from pedigree.ids import new_id

        eid = _text(body, "experiment_id", required=False) or "0"
        self.experiment_name(eid)
        run_id = _text(body, "source_run_id", required=False) or None
        if run_id is not None:
            with self._ctx.read() as reader:
                self._row(reader, run_id)
        given = _records(body.get("params"), "params")
        model_id = "m-" + new_id().replace("-", "")
        model = _LoggedModel(
            model_id=model_id,
            experiment_id=eid,
            name=_text(body, "name", required=False) or "model",
            run_id=run_id,
            created=int(time.time() * 1000),
            model_type=_text(body, "model_type", required=False),
            tags=_tag_map(body.get("tags")),
            params={str(p.get("key")): str(p.get("value")) for p in given},
        )
        with self._book.lock:
            self._book.models[model_id] = model
        return {"model": model.to_json()}

    def _model(self, model_id: str) -> _LoggedModel:
        with self._book.lock:
            model = self._book.models.get(model_id)
        if model is None:
            raise not_found(f"Logged model with ID '{model_id}' not found.")
        return model

    def get_logged_model(self, model_id: str) -> dict[str, Any]:
        return {"model": self._model(model_id).to_json()}

    def finalize_logged_model(self, model_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(model_id)
        status = _text(body, "status", required=False) or "LOGGED_MODEL_READY"
        with self._book.lock:
            model.status = status
        return {"model": model.to_json()}

    def set_logged_model_tags(self, model_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(model_id)
        tags = _tag_map(body.get("tags"))
        with self._book.lock:
            model.tags.update(tags)
        return {}

    def log_logged_model_params(self, model_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(model_id)
        with self._book.lock:
            for p in _records(body.get("params"), "params"):
                model.params[str(p.get("key"))] = str(p.get("value"))
        return {}

    def search_logged_models(self, body: Mapping[str, Any]) -> dict[str, Any]:
        ids = {str(i) for i in body.get("experiment_ids") or []}
        with self._book.lock:
            models = [m for m in self._book.models.values() if not ids or m.experiment_id in ids]
        return {"models": [m.to_json() for m in models]}

    def log_outputs(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A run's logged models: the model must exist; its files already are the run's outputs
        (``models/<id>/``)."""
        run_id = _text(body, "run_id")
        with self._ctx.read() as reader:
            self._row(reader, run_id)
        for item in _records(body.get("models"), "models"):
            self._model(str(item.get("model_id")))
        return {}

    # -- tags -------------------------------------------------------------------------------------

    def _tag_events(
        self, run_id: str, tags: Mapping[str, str], numbers: Mapping[str, int]
    ) -> list[Event]:
        from pedigree.tracking.tags import tag_events

        return tag_events(run_id, dict(tags), dict(numbers), actor=self._ctx.user) if tags else []


# -- helpers -------------------------------------------------------------------------------------


def _run_ref(body: Mapping[str, Any]) -> str:
    return _text(body, "run_id", required=False) or _text(body, "run_uuid")


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MlflowError(f"Invalid value {value!r} for parameter '{name}' supplied.")
    return value


def _records(value: Any, name: str) -> list[dict[str, Any]]:
    """A repeated message field: a list of JSON objects."""
    items = _list(value, name)
    for item in items:
        if not isinstance(item, dict):
            raise MlflowError(f"Invalid value {item!r} for parameter '{name}' supplied.")
    return items


def _tag_map(value: Any) -> dict[str, str]:
    tags: dict[str, str] = {}
    for t in _list(value, "tags"):
        if not isinstance(t, dict):
            raise MlflowError(f"Invalid value {t!r} for parameter 'tags' supplied.")
        key = check_key(t.get("key"), "key")
        raw = t.get("value")
        text = "" if raw is None else str(raw)
        if len(text) > MAX_TAG_VALUE:
            raise MlflowError(
                f"Tag value '{text[:40]}...' had length {len(text)}, which exceeded length limit "
                f"of {MAX_TAG_VALUE}"
            )
        tags[key] = text
    return tags


def _safe_key(name: str) -> str:
    return re.sub(r"[^/\w.\- :]", "_", name).strip("/.") or "dataset"


def _captured(run_id: str, tags: Mapping[str, str]) -> list[Event]:
    """The code and invocation the client reported (``mlflow.source.*``), as ``run.captured``."""
    from pedigree.store import events as ev

    commit = tags.get("mlflow.source.git.commit")
    code = {
        "commit": commit if commit and len(commit) <= _COMMIT_MAX else None,
        "branch": tags.get("mlflow.source.git.branch"),
        "remote": tags.get("mlflow.source.git.repoURL"),
    }
    source = {
        k.removeprefix("mlflow.source."): v
        for k, v in tags.items()
        if k.startswith("mlflow.source.") and not k.startswith("mlflow.source.git.")
    }
    if not any(code.values()) and not source:
        return []
    invocation = {"via": "mlflow", **source} if source else None
    return [
        ev.RunCaptured(
            run_id=run_id,
            code={**code, "dirty": None} if any(code.values()) else None,
            invocation=invocation,
        )
    ]


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _run_info(row: RunRow) -> dict[str, Any]:
    eid = experiment_id(row.experiment)
    info: dict[str, Any] = {
        "run_id": row.id,
        "run_uuid": row.id,
        "run_name": row.name or "",
        "experiment_id": eid,
        "user_id": row.user or "",
        "status": _STATUSES.get(row.status, "FAILED"),
        "start_time": _ms(row.started_at),
        "artifact_uri": f"mlflow-artifacts:/{eid}/{row.id}/artifacts",
        "lifecycle_stage": "active",
    }
    if row.ended_at is not None:
        info["end_time"] = _ms(row.ended_at)
    return info


def _last_points(history: Sequence[tuple[str, int, float, float]]) -> list[dict[str, Any]]:
    """MLflow's latest value of each metric: the highest step, then the latest time."""
    best: dict[str, tuple[int, float, float]] = {}
    for key, step, value, ts in history:
        old = best.get(key)
        if old is None or (step, ts) >= (old[0], old[2]):
            best[key] = (step, value, ts)
    return [
        {"key": k, "value": _wire_value(v if v == v else None), "timestamp": _ms(ts), "step": s}
        for k, (s, v, ts) in sorted(best.items())
    ]


def _offset(token: Any) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        offset = int(data["offset"])
    except (ValueError, KeyError, TypeError):
        raise MlflowError(f"Invalid page token: {str(token)[:40]!r}") from None
    if offset < 0:
        raise MlflowError(f"Invalid page token: {str(token)[:40]!r}")
    return offset


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _name_filter(text: str, name: str) -> bool:
    """``name = 'x'`` / ``name LIKE 'x%'`` of ``search_experiments`` (others keep all)."""
    m = re.match(r"^\s*(?:attributes?\.)?name\s*(=|!=|LIKE|ILIKE)\s*'(.*)'\s*$", text, re.I)
    if m is None:
        return True
    op, value = m.group(1).upper(), m.group(2)
    if op == "=":
        return name == value
    if op == "!=":
        return name != value
    pattern = "^" + re.escape(value).replace("%", ".*").replace("_", ".") + "$"
    return re.match(pattern, name, re.I if op == "ILIKE" else 0) is not None


# -- MLflow's search grammar onto Pedigree's --where -------------------------------------------

_PREFIXES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attr",
    "attributes": "attr",
    "attr": "attr",
    "run": "attr",
}
# MLflow's run attributes -> Pedigree's (times are milliseconds there, seconds here).
_ATTRS = {
    "run_id": "id",
    "run_name": "name",
    "status": "status",
    "start_time": "started_at",
    "end_time": "ended_at",
    "user_id": "user",
    "created": "started_at",
    "Created": "started_at",
}
_TIME_ATTRS = {"started_at", "ended_at"}
_FILTER_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ident>[A-Za-z_]+\.(?:`[^`]+`|"[^"]+"|[\w\-/:.]+)|[A-Za-z_]\w*)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


def _field(ident: str) -> Any:
    from pedigree.store.where import Field

    if "." not in ident:
        prefix, key = "attributes", ident
    else:
        prefix, key = ident.split(".", 1)
    ns = _PREFIXES.get(prefix.lower())
    if ns is None:
        raise MlflowError(
            f"Invalid entity type '{prefix}'. Valid values are "
            "['metric', 'parameter', 'tag', 'attribute']"
        )
    if len(key) >= 2 and key[0] == key[-1] and key[0] in '`"':
        key = key[1:-1]
    if ns == "attr":
        if key not in _ATTRS:
            raise MlflowError(
                f"Invalid attribute key '{key}' specified. Valid keys are "
                f"{sorted(set(_ATTRS) - {'Created'})}"
            )
        key = _ATTRS[key]
    return Field(ns, key)


def _literal(tok: tuple[str, str], field: Any) -> Any:
    kind, text = tok
    if kind == "string":
        value: Any = text[1:-1].replace("\\'", "'").replace('\\"', '"')
        if field.namespace == "metrics":
            raise MlflowError(f"Expected numeric value for metric '{field.key}', got {text}")
        if field.namespace == "attr" and field.key == "status":
            value = {v: k for k, v in _STATUSES.items() if k != "crashed"}.get(value, value.lower())
        return value
    if kind == "number":
        if field.namespace in ("params", "tags"):
            raise MlflowError(
                f"Parameter and tag values must be quoted strings, got {text} for "
                f"'{field.namespace}.{field.key}'"
            )
        number = float(text)
        if field.namespace == "attr" and field.key in _TIME_ATTRS:
            return number / 1000
        return (
            int(number)
            if number.is_integer() and "." not in text and "e" not in text.lower()
            else number
        )
    raise MlflowError(f"Invalid value {text!r} in the search filter")


def parse_filter(text: str) -> Expr | None:
    """MLflow's ``filter_string`` (clauses joined by AND; ``metrics.x > 1``,
    ``params.p = 'v'``, ``tags."k" != 'v'``, ``attributes.status = 'FINISHED'``,
    ``IN``/``NOT IN``/``LIKE``/``ILIKE``/``IS [NOT] NULL``) as Pedigree's ``--where``
    expression."""
    from pedigree.store.where import And, Compare

    if not text or not text.strip():
        return None
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _FILTER_TOKEN.match(text, pos)
        if m is None:
            raise MlflowError(f"Invalid filter '{text}': cannot read {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.lastgroup != "ws":
            tokens.append((m.lastgroup or "", m.group()))
    items: list[Any] = []
    i = 0

    def word(j: int) -> str:
        return tokens[j][1].upper() if j < len(tokens) and tokens[j][0] == "ident" else ""

    while i < len(tokens):
        if tokens[i][0] != "ident":
            raise MlflowError(f"Invalid filter '{text}': expected a field at {tokens[i][1]!r}")
        fld = _field(tokens[i][1])
        i += 1
        op = word(i)
        if tokens[i:] and tokens[i][0] == "op":
            sym = tokens[i][1]
            if i + 1 >= len(tokens):
                raise MlflowError(f"Invalid filter '{text}': a comparison lacks its value")
            if fld.namespace == "params" and sym not in ("=", "!="):
                raise MlflowError(
                    f"Invalid comparator '{sym}' not one of '['!=', '=', 'LIKE', 'ILIKE']'"
                )
            items.append(Compare(fld, sym, _literal(tokens[i + 1], fld)))
            i += 2
        elif op in ("LIKE", "ILIKE"):
            if i + 1 >= len(tokens):
                raise MlflowError(f"Invalid filter '{text}': LIKE lacks its pattern")
            items.append(Compare(fld, "like", _literal(tokens[i + 1], fld)))
            i += 2
        elif op == "IS":
            negate = word(i + 1) == "NOT"
            j = i + 2 if negate else i + 1
            if word(j) != "NULL":
                raise MlflowError(f"Invalid filter '{text}': expected NULL after IS")
            items.append(Compare(fld, "isnot" if negate else "is", None))
            i = j + 1
        elif op in ("IN", "NOT"):
            negate = op == "NOT"
            j = i + 1
            if negate:
                if word(j) != "IN":
                    raise MlflowError(f"Invalid filter '{text}': expected IN after NOT")
                j += 1
            if j >= len(tokens) or tokens[j][1] != "(":
                raise MlflowError(f"Invalid filter '{text}': IN needs a list in parentheses")
            j += 1
            values: list[Any] = []
            while j < len(tokens) and tokens[j][1] != ")":
                if tokens[j][1] != ",":
                    values.append(_literal(tokens[j], fld))
                j += 1
            if j >= len(tokens) or not values:
                raise MlflowError(f"Invalid filter '{text}': an IN list is not closed")
            items.append(Compare(fld, "notin" if negate else "in", tuple(values)))
            i = j + 1
        else:
            raise MlflowError(f"Invalid filter '{text}': expected a comparison after {fld}")
        if i < len(tokens):
            if word(i) != "AND":
                raise MlflowError(
                    f"Invalid filter '{text}': clauses are joined by AND (MLflow has no OR)"
                )
            i += 1
            if i >= len(tokens):
                raise MlflowError(f"Invalid filter '{text}': nothing after AND")
    if not items:
        return None
    return items[0] if len(items) == 1 else And(tuple(items))


def parse_order_by(clauses: Sequence[Any]) -> list[OrderKey]:
    """MLflow's ``order_by`` (``metrics.rmse ASC``, ``attributes.start_time DESC``)."""
    from pedigree.store.where import OrderKey

    keys: list[OrderKey] = []
    for clause in clauses:
        text = str(clause).strip()
        m = re.match(r"^(.*?)(?:\s+(ASC|DESC))?$", text, re.I | re.S)
        if m is None or not m.group(1).strip():
            raise MlflowError(f"Invalid order_by clause '{text}'")
        ident = m.group(1).strip()
        if " " in ident and not re.search(r"[`\"]", ident):
            raise MlflowError(f"Invalid order_by clause '{text}'")
        keys.append(OrderKey(_field(ident), (m.group(2) or "ASC").upper() == "DESC"))
    return keys
