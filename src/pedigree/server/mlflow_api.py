"""The team server's MLflow-compatible endpoint: the ``/api/2.0/mlflow/`` routes the real
``mlflow`` client calls, and the ``/api/2.0/mlflow-artifacts/`` artifact proxy.

``MLFLOW_TRACKING_URI=http://<server>`` with ``MLFLOW_TRACKING_TOKEN=<a Pedigree token>`` (the
client sends it as ``Authorization: Bearer``) makes unchanged MLflow code record ordinary
Pedigree runs under the token's user (``pedigree.api.mlflow``). Reads need the ``read``
capability, everything that records ``record``.

These routes answer as MLflow does, not as the rest of the server: bodies are protobuf JSON
(an int64 may arrive as a number or a string), and errors are
``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}`` with MLflow's statuses (404, 400,
401, 403...), a route MLflow has and this endpoint does not is ``ENDPOINT_NOT_FOUND`` (404).
Each handler parses its own body (never FastAPI's 422 shape) and turns every error into that
shape; an unexpected one is logged and answered ``INTERNAL_ERROR``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from pedigree.api.mlflow import ExperimentBook, MlflowAPI, MlflowError, mlflow_error
from pedigree.context import Context
from pedigree.errors import PedigreeError
from pedigree.identity import Forbidden, may

__all__ = ["PREFIX", "mlflow_router"]

log = logging.getLogger("pedigree.server.mlflow")

PREFIX = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
_MAX_BODY = 64 << 20  # a JSON request (log_batch is at most 1 MB in MLflow)

Authenticate = Callable[[Request, str | None], Any]  # -> a principal with .user and .role
ContextFor = Callable[[Any], Context]
Handler = Callable[[MlflowAPI, dict[str, Any]], Any]


def _answer(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


def mlflow_router(authenticate: Authenticate, context_for: ContextFor, scratch: Path) -> APIRouter:
    """The MLflow routes over the server's authentication (``authenticate(request, header)``
    raises for a bad token) and its per-request contexts (``context_for(principal)``)."""
    router = APIRouter(tags=["mlflow"])
    book = ExperimentBook()

    def api(request: Request, capability: str) -> MlflowAPI:
        who = authenticate(request, request.headers.get("authorization"))
        if not may(who.role, capability):
            raise Forbidden(f"the role {who.role} may not {capability} ({who.user})")
        return MlflowAPI(context_for(who), book)

    async def body_of(request: Request) -> dict[str, Any]:
        if request.method in ("GET", "DELETE"):
            return dict(request.query_params)
        raw = await request.body()
        if len(raw) > _MAX_BODY:
            raise MlflowError("The request body is too large", "INVALID_PARAMETER_VALUE")
        if not raw.strip():
            return dict(request.query_params)
        try:
            data = json.loads(raw)
        except ValueError:
            raise MlflowError("The request body is not JSON", "MALFORMED_REQUEST") from None
        if not isinstance(data, dict):
            raise MlflowError("The request body is not a JSON object", "MALFORMED_REQUEST")
        return data

    async def handle(request: Request, capability: str, fn: Handler) -> Response:
        try:
            body = await body_of(request)

            def work() -> Any:
                return fn(api(request, capability), body)

            result = await run_in_threadpool(work)
        except PedigreeError as exc:
            status, code, message = mlflow_error(exc)
            if status >= 500:
                log.error("%s %s failed: %s", request.method, request.url.path, message)
            return _answer(status, code, message)
        except Exception as exc:  # never a traceback to the client
            log.exception("%s %s: internal error", request.method, request.url.path)
            return _answer(500, "INTERNAL_ERROR", f"internal error: {type(exc).__name__}")
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    def route(method: str, path: str, capability: str, fn: Handler) -> None:
        async def endpoint(request: Request) -> Response:
            return await handle(request, capability, fn)

        endpoint.__name__ = "mlflow_" + path.strip("/").replace("/", "_").replace("-", "_")
        router.add_api_route(
            PREFIX + path, endpoint, methods=[method], include_in_schema=True, summary=path
        )

    def model_route(method: str, path: str, capability: str, fn: Handler) -> None:
        async def endpoint(model_id: str, request: Request) -> Response:
            return await handle(request, capability, lambda a, b: fn(a, {**b, "_id": model_id}))

        endpoint.__name__ = "mlflow_model_" + method.lower() + str(len(path))
        router.add_api_route(PREFIX + path, endpoint, methods=[method], summary=path)

    # -- experiments
    route("GET", "/experiments/get-by-name", "read",
          lambda a, b: a.get_experiment_by_name(str(b.get("experiment_name") or "")))  # fmt: skip
    route("GET", "/experiments/get", "read",
          lambda a, b: a.get_experiment(str(b.get("experiment_id") or "")))  # fmt: skip
    route("POST", "/experiments/create", "record", lambda a, b: a.create_experiment(b))
    route("POST", "/experiments/search", "read", lambda a, b: a.search_experiments(b))
    route("GET", "/experiments/search", "read", lambda a, b: a.search_experiments(b))
    # -- runs
    route("POST", "/runs/create", "record", lambda a, b: a.create_run(b))
    route("POST", "/runs/update", "record", lambda a, b: a.update_run(b))
    route("GET", "/runs/get", "read",
          lambda a, b: a.get_run(str(b.get("run_id") or b.get("run_uuid") or "")))  # fmt: skip
    route("POST", "/runs/search", "read", lambda a, b: a.search_runs(b))
    route("POST", "/runs/log-metric", "record", lambda a, b: a.log_metric(b))
    route("POST", "/runs/log-parameter", "record", lambda a, b: a.log_param(b))
    route("POST", "/runs/set-tag", "record", lambda a, b: a.set_tag(b))
    route("POST", "/runs/delete-tag", "record", lambda a, b: a.delete_tag(b))
    route("POST", "/runs/log-batch", "record", lambda a, b: a.log_batch(b))
    route("POST", "/runs/log-inputs", "record", lambda a, b: a.log_inputs(b))
    route("POST", "/runs/outputs", "record", lambda a, b: a.log_outputs(b))
    route("GET", "/metrics/get-history", "read", _history)
    route("GET", "/artifacts/list", "read",
          lambda a, b: a.list_run_artifacts(str(b.get("run_id") or b.get("run_uuid") or ""),
                                            str(b.get("path") or "")))  # fmt: skip
    # -- logged models (MLflow 3: log_model, autolog)
    route("POST", "/logged-models", "record", lambda a, b: a.create_logged_model(b))
    route("POST", "/logged-models/search", "read", lambda a, b: a.search_logged_models(b))
    model_route("GET", "/logged-models/{model_id}", "read",
                lambda a, b: a.get_logged_model(b["_id"]))  # fmt: skip
    model_route("PATCH", "/logged-models/{model_id}", "record",
                lambda a, b: a.finalize_logged_model(b["_id"], b))  # fmt: skip
    model_route("PATCH", "/logged-models/{model_id}/tags", "record",
                lambda a, b: a.set_logged_model_tags(b["_id"], b))  # fmt: skip
    model_route("POST", "/logged-models/{model_id}/params", "record",
                lambda a, b: a.log_logged_model_params(b["_id"], b))  # fmt: skip

    # -- the artifact proxy
    @router.get(ARTIFACTS, summary="list artifacts")
    async def list_artifacts(request: Request) -> Response:
        return await handle(
            request, "read", lambda a, b: a.list_artifacts(str(b.get("path") or ""))
        )

    @router.put(ARTIFACTS + "/{path:path}", summary="upload an artifact")
    async def put_artifact(path: str, request: Request) -> Response:
        fd, tmp = tempfile.mkstemp(dir=scratch, prefix="mlflow-put-")
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in request.stream():
                    out.write(chunk)
            return await _with_body(
                handle, request, "record", lambda a, b: a.put_artifact(path, Path(tmp))
            )
        finally:
            _unlink(tmp)

    @router.get(ARTIFACTS + "/{path:path}", summary="download an artifact")
    async def get_artifact(path: str, request: Request) -> Response:
        def download(a: MlflowAPI, _: Mapping[str, Any]) -> Response:
            fd, tmp = tempfile.mkstemp(dir=scratch, prefix="mlflow-get-")
            os.close(fd)
            try:
                a.download_artifact(path, Path(tmp))
            except BaseException:
                _unlink(tmp)
                raise
            return FileResponse(
                tmp,
                media_type="application/octet-stream",
                background=BackgroundTask(_unlink, tmp),
            )

        return await handle(request, "read", download)

    @router.get("/api/3.0/mlflow/server-info", summary="server capabilities")
    async def server_info() -> Response:
        """What MLflow 3's client asks before it logs (no token, as in MLflow): no workspaces,
        no multipart transfers. A 404 here would make it ask again before every upload."""
        return JSONResponse(
            {
                "store_type": None,
                "workspaces_enabled": False,
                "trace_archival_enabled": False,
                "multipart_uploads_enabled": False,
                "multipart_downloads_enabled": False,
            }
        )

    # -- what MLflow has and this endpoint does not
    @router.api_route(
        "/api/3.0/mlflow/{rest:path}",
        methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
        include_in_schema=False,
    )
    async def unknown_v3(rest: str, request: Request) -> Response:
        return await unknown(rest, request)

    @router.api_route(
        PREFIX + "/{rest:path}",
        methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
        include_in_schema=False,
    )
    async def unknown(rest: str, request: Request) -> Response:
        log.info("MLflow route not served: %s %s", request.method, request.url.path)
        return _answer(
            404,
            "ENDPOINT_NOT_FOUND",
            f"this Pedigree server does not serve {request.method} {request.url.path}",
        )

    return router


async def _with_body(
    handle: Callable[[Request, str, Handler], Any], request: Request, capability: str, fn: Handler
) -> Response:
    """``handle`` for a request whose body was already consumed (an upload): the body is
    read as empty."""
    request._body = b""  # the stream was read into the file; body_of sees nothing more
    result: Response = await handle(request, capability, fn)
    return result


def _history(a: MlflowAPI, b: Mapping[str, Any]) -> Any:
    return a.metric_history(
        str(b.get("run_id") or b.get("run_uuid") or ""),
        str(b.get("metric_key") or ""),
        b.get("max_results"),
        str(b.get("page_token") or "") or None,
    )


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
