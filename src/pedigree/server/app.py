"""The team server's HTTP face: a FastAPI app over the project's stores.

Every request but ``/healthz`` and ``/openapi.json`` carries ``Authorization: Bearer <token>``.
The token proves a user (``pedigree.identity.authenticate``), and each request runs over a
:class:`~pedigree.context.Context` whose actor is that user, ``authenticated``; the role decides
what the route may do (``may``) and, for a batch of events, which kinds may be appended
(``may_append``). The routes are the store interface served to the remote client
(``pedigree.store.remote``, ``pedigree.objects.remote``) plus the few operations that need the
database itself (``audit verify``, ``audit log``).

Errors are ``{"error": {"code": ..., "message": ...}}``: the code names the class of
:mod:`pedigree.errors` in snake case (``pedigree.errors.error_code``; the client raises the same
class), the status is that class's ``http_status``. Bad input is 400 or 422, never a 500; failed
authentications are counted per client address and answered 429 past
:data:`FAILED_AUTH_LIMIT` a minute, and logged without the token.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations, which name
# dependencies made inside create_app, when the routes are defined.
import asyncio
import collections
import contextlib
import logging
import os
import pathlib
import re
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from pedigree import __version__
from pedigree.api import Tracker
from pedigree.api.server import ADMIN_READS, READ_METHODS, ServerAPI
from pedigree.config import Project
from pedigree.context import Actor
from pedigree.digest import Digest, hasher
from pedigree.errors import (
    Conflict,
    InvalidInput,
    InvalidValue,
    NotFound,
    PedigreeError,
    RateLimited,
    Unauthenticated,
    error_code,
)
from pedigree.identity import Forbidden, may, may_append
from pedigree.objects.base import ObjectStore
from pedigree.store.wire import WireError, decode, dumps

__all__ = ["FAILED_AUTH_LIMIT", "ROUTES", "create_app", "may_any"]

log = logging.getLogger("pedigree.server")

FAILED_AUTH_LIMIT = 10  # failed authentications per client address per minute, then 429
_WINDOW = 60.0
_CHUNK = 1 << 20
_BATCH_ID = r"^[A-Za-z0-9_.:-]{8,80}$"
_DIGEST_PATH = re.compile(r"^blake3:[0-9a-f]{64}$")

# Declares the bearer token in the OpenAPI description; a missing or malformed header is
# answered by principal_of (401, JSON body), not by FastAPI.
_BEARER = HTTPBearer(auto_error=False, description="an API token: `pedigree tokens create`")

# A batch of events needs one of these (each event then needs its own: ``may_append``).
_WRITE = "record|review|admin"

# Every route with the capability it needs (``None``: no token needed; ``a|b``: either). The
# authorization test walks this table with every role; docs/server.md prints it.
ROUTES: dict[tuple[str, str], str | None] = {
    ("GET", "/healthz"): None,
    ("GET", "/api/v1/whoami"): "read",
    ("GET", "/api/v1/head"): "read",
    ("POST", "/api/v1/read/{method}"): "read",
    ("POST", "/api/v1/events"): _WRITE,
    ("POST", "/api/v1/heartbeat"): "record",
    ("HEAD", "/api/v1/objects/{digest}"): "read",
    ("GET", "/api/v1/objects/{digest}"): "read",
    ("PUT", "/api/v1/objects/{digest}"): "record",
    ("HEAD", "/api/v1/uploads/{digest}"): "record",
    ("GET", "/api/v1/objects"): "read",
    ("POST", "/api/v1/objects/{digest}/verify"): "read",
    # Reads, which every role may make: `report`, `reproduce` and `data checkout` verify the
    # record before they vouch for it or act on it, whoever runs them.
    ("GET", "/api/v1/audit/anchor"): "read",
    ("POST", "/api/v1/audit/log"): "read",
    ("POST", "/api/v1/audit/verify"): "read",
}


# -- models --------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(
        description="the error's class of pedigree.errors in snake case (run_not_found, "
        "unauthenticated, forbidden, four_eyes, stale_read, invalid_value...)"
    )
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    version: str


class WhoAmI(BaseModel):
    user: str
    role: str


class Seq(BaseModel):
    seq: int = Field(description="the sequence number of the last event of the log")


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    args: list[Any] = Field(default_factory=list, max_length=64)
    kwargs: dict[str, Any] = Field(default_factory=dict)


class ReadOut(BaseModel):
    head: int
    value: Any = Field(description="the typed answer, in pedigree.store.wire's encoding")


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=40)
    payload: str = Field(description="the payload as the audit log holds it (canonical JSON)")


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch: str = Field(pattern=_BATCH_ID, description="the client's id for this batch")
    expect_head: int | None = Field(
        default=None, ge=0, description="refuse (409) unless the log's head is still this"
    )
    events: list[EventIn] = Field(max_length=10_000)


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(min_length=1, max_length=36)
    host: str = Field(min_length=1, max_length=250)
    pid: int = Field(ge=0, le=2**31 - 1)


class DigestsOut(BaseModel):
    digests: list[str]
    more: bool


class Stored(BaseModel):
    digest: str
    stored: bool


class Verified(BaseModel):
    digest: str
    ok: bool


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    anchor: str | None = Field(
        default=None, pattern=r"^\s*(blake3:)?[0-9a-fA-F]{64}\s*$", description="audit anchor"
    )
    max_problems: int = Field(default=50, ge=1, le=10_000)
    tables: bool = True


class AuditLogIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str | None = Field(default=None, max_length=80)
    actor: str | None = Field(default=None, max_length=250)
    since: float | None = None
    limit: int | None = Field(default=None, ge=1, le=1_000_000)
    payload: bool = False


# -- authentication ------------------------------------------------------------------------------


class _FailedAuth:
    """Failed authentications per client address over the last minute."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> collections.deque[float]:
        times = self._seen.setdefault(address, collections.deque())
        while times and times[0] < now - _WINDOW:
            times.popleft()
        return times

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self.limit

    def failed(self, address: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(address, now).append(now)
            if len(self._seen) > 10_000:  # forget quiet addresses
                for key in [k for k, v in self._seen.items() if not v]:
                    del self._seen[key]


class Principal(BaseModel):
    user: str
    role: str


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _status_code(exc: PedigreeError) -> tuple[int, str]:
    """The HTTP status and ``error.code`` of an error (:func:`pedigree.errors.error_code`);
    every failed authentication is the same ``unauthenticated`` (a caller probing tokens learns
    nothing)."""
    status = int(getattr(exc, "http_status", 500))
    if status == 401:
        return 401, "unauthenticated"
    return status, error_code(exc)


def create_app(
    project: Project,
    *,
    store_uri: str | None = None,
    objects_uri: str | None = None,
    failed_auth_limit: int = FAILED_AUTH_LIMIT,
) -> FastAPI:
    """The team server over ``project``'s stores (or the ones ``store_uri``/``objects_uri``
    name): the metadata store is opened (and migrated) now, so a bad URI fails at start."""
    from pedigree.context import shared_store
    from pedigree.credentials import is_remote
    from pedigree.objects import open_object_store

    uri = store_uri or project.uri
    if is_remote(uri):
        raise InvalidInput(
            "the team server serves a database (sqlite:///... or postgresql://...), not another "
            f"server ({uri}); unset PEDIGREE_URI or pass --store"
        )
    store = shared_store(uri)
    objects: ObjectStore = open_object_store(objects_uri or project.objects_location)
    base = project.dir if project.dir.is_dir() else pathlib.Path(tempfile.gettempdir())
    scratch = base / "server-tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    limiter = _FailedAuth(failed_auth_limit)
    uploads: dict[str, asyncio.Lock] = {}

    def tracker(actor: Actor | None = None) -> Tracker:
        return Tracker(project, store=store, objects=objects, actor=actor)

    _sync_policy(tracker(), project)

    app = FastAPI(
        title="Pedigree team server",
        version=__version__,
        description=(
            "One shared, authenticated record for a research team. Every route but /healthz "
            "needs `Authorization: Bearer <token>` (`pedigree tokens create`)."
        ),
        responses={
            400: {"model": ErrorBody},
            401: {"model": ErrorBody},
            403: {"model": ErrorBody},
            404: {"model": ErrorBody},
            409: {"model": ErrorBody},
            422: {"model": ErrorBody},
            429: {"model": ErrorBody},
        },
    )

    # -- errors ----------------------------------------------------------------------------------

    @app.exception_handler(PedigreeError)
    async def _pedigree_error(request: Request, exc: PedigreeError) -> JSONResponse:
        status, code = _status_code(exc)
        if status >= 500:
            log.error("%s %s failed: %s: %s", request.method, request.url.path, code, exc)
        return _error(status, code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        return _error(422, "invalid_input", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "invalid_input"}
        message = str(exc.detail) if exc.detail else "error"
        if exc.status_code == 404:
            message = f"no route {request.method} {request.url.path}"
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), message)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s: internal error", request.method, request.url.path)
        return _error(500, "internal_error", f"internal error: {type(exc).__name__}")

    # -- who is asking ---------------------------------------------------------------------------

    def principal_of(request: Request, authorization: str | None) -> Principal:
        address = request.client.host if request.client else "unknown"
        if limiter.blocked(address):
            raise RateLimited(
                f"too many failed authentications from {address}; wait a minute and try again"
            )
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            # Not a guess at a token: answered, not counted.
            raise Unauthenticated(
                "this server needs a token: set PEDIGREE_TOKEN or run `pedigree login URL`"
            )
        try:
            found = ServerAPI(tracker().ctx).authenticate(token)
        except PedigreeError as exc:
            status, _ = _status_code(exc)
            if status != 401:
                raise
            limiter.failed(address)
            # The reason, never the token (nor any part of it).
            log.warning("authentication failed from %s: %s", address, exc.message)
            raise Unauthenticated(exc.message) from None
        return Principal(user=str(found.user), role=str(found.role))

    def need(permission: str) -> Callable[..., Principal]:
        def check(
            request: Request,
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
        ) -> Principal:
            authorization = f"{bearer.scheme} {bearer.credentials}" if bearer else None
            who = principal_of(request, authorization)
            if not may_any(who.role, permission):
                what = permission.replace("|", " or ")
                raise Forbidden(f"the role {who.role} may not {what} ({who.user})")
            return who

        return check

    def api_for(who: Principal) -> ServerAPI:
        return ServerAPI(tracker(Actor(who.user, authenticated=True)).ctx)

    DigestPath = Annotated[
        str, Path(pattern=_DIGEST_PATH.pattern, description="blake3:<64 hex digits>")
    ]
    Reader_ = Annotated[Principal, Depends(need("read"))]
    Recorder = Annotated[Principal, Depends(need("record"))]
    Writer = Annotated[Principal, Depends(need(_WRITE))]

    # -- routes ----------------------------------------------------------------------------------

    @app.get("/healthz", response_model=Health, tags=["server"])
    def healthz() -> Health:
        """Whether the server is up (no token needed)."""
        return Health(status="ok", version=__version__)

    @app.get("/api/v1/whoami", response_model=WhoAmI, tags=["server"])
    def whoami(who: Reader_) -> WhoAmI:
        """The token's user and role."""
        return WhoAmI(user=who.user, role=who.role)

    @app.get("/api/v1/head", response_model=Seq, tags=["store"])
    def head(who: Reader_) -> Seq:
        """The sequence number of the log's last event."""
        return Seq(seq=api_for(who).head())

    @app.post(
        "/api/v1/read/{method}",
        response_model=ReadOut,
        tags=["store"],
        responses={200: {"model": ReadOut}},
    )
    def read(method: str, body: ReadIn, who: Reader_) -> Response:
        """One query of the store's read interface (a public ``Reader`` method), answered from
        one snapshot with the head of the log it saw. Reading writes nothing."""
        if method not in READ_METHODS:
            raise NotFound(f"no read named {method!r}")
        if method in ADMIN_READS and not may(who.role, "admin"):
            raise Forbidden(f"the role {who.role} may not read tokens ({who.user})")
        try:
            args = decode(body.args)
            kwargs = decode(body.kwargs)
        except WireError as exc:
            raise InvalidInput(f"{method}: {exc.message}") from None
        seq, value = api_for(who).read(method, args, kwargs)
        data = b'{"head":%d,"value":%s}' % (seq, dumps(value))
        return Response(data, media_type="application/json")

    @app.post("/api/v1/events", response_model=Seq, tags=["store"])
    def append(body: EventsIn, who: Writer) -> Seq:
        """Append a batch of typed events as the token's user, once per batch id (a retried
        batch answers the first delivery's seq and records nothing). Every event's kind must be
        one the role may append; with ``expect_head``, 409 when the log moved since."""
        for item in body.events:
            if not may_append(who.role, item.kind):
                raise Forbidden(
                    f"the role {who.role} may not record {item.kind} events ({who.user})"
                )
        api = api_for(who)
        events = api.events([item.model_dump() for item in body.events])
        seq = api.append(events, batch=body.batch, expect_head=body.expect_head)
        return Seq(seq=seq)

    @app.post("/api/v1/heartbeat", response_model=Seq, tags=["store"])
    def heartbeat(body: HeartbeatIn, who: Recorder) -> Seq:
        """A running run's recorder is alive (operational state, not part of the record)."""
        api = api_for(who)
        api.heartbeat(body.run_id, host=body.host, pid=body.pid)
        return Seq(seq=api.head())

    def _digest(text: str) -> Digest:
        if not _DIGEST_PATH.match(text):
            raise InvalidValue(f"not a digest: {text[:80]!r} (expected blake3:<64 hex>)")
        return Digest.parse(text)

    @app.head("/api/v1/objects/{digest}", tags=["objects"])
    def has_object(digest: DigestPath, who: Reader_) -> Response:
        """200 with the size when the server holds the object, 404 otherwise."""
        d = _digest(digest)
        # No body (HEAD); the media type is the one the route answers otherwise.
        if not objects.has(d):
            return Response(status_code=404, media_type="application/json")
        size = str(objects.size(d))
        return Response(
            status_code=200, headers={"Content-Length": size}, media_type="application/json"
        )

    @app.get(
        "/api/v1/objects/{digest}",
        tags=["objects"],
        response_class=Response,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def get_object(digest: DigestPath, who: Reader_) -> Response:
        """The object's bytes, streamed (verified against the digest first)."""
        d = _digest(digest)
        fd, tmp = tempfile.mkstemp(dir=scratch, prefix="get-")
        os.close(fd)
        try:
            objects.get_file(d, tmp)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return FileResponse(
            tmp,
            media_type="application/octet-stream",
            background=BackgroundTask(_unlink, tmp),
        )

    @app.put(
        "/api/v1/objects/{digest}",
        response_model=Stored,
        status_code=201,
        tags=["objects"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        },
    )
    async def put_object(
        digest: DigestPath,
        request: Request,
        who: Recorder,
        offset: Annotated[int, Query(ge=0, description="resume a partial upload here")] = 0,
    ) -> Stored:
        """Store bytes under their digest. The body streams to the upload's partial file,
        hashed as it arrives; bytes that do not hash to the digest are refused (400) and
        nothing is stored. An object already held is not written again.

        Resumable: an upload cut short keeps what arrived (``HEAD /api/v1/uploads/{digest}``
        says how much), and a ``PUT`` with ``?offset=`` that many bytes sends only the rest;
        an offset that is not what the server holds is a 409."""
        d = _digest(digest)
        if await run_in_threadpool(objects.has, d):
            async for _ in request.stream():
                pass
            return Stored(digest=str(d), stored=False)
        partial = scratch / f"upload-{d.hex}"
        lock = uploads.setdefault(d.hex, asyncio.Lock())
        if lock.locked():
            raise Conflict(f"{d} is being uploaded by another request; try again")
        async with lock:
            held = partial.stat().st_size if partial.exists() else 0
            if offset != held:
                raise Conflict(
                    f"the server holds {held} bytes of {d}, not {offset}: resume at {held}"
                )
            h = hasher()
            if held:
                await run_in_threadpool(_hash_into, h, partial)
            try:
                with open(partial, "ab") as out:
                    async for chunk in _chunks(request):
                        h.update(chunk)
                        out.write(chunk)
            except ClientDisconnect:
                # What arrived stays, for the client to resume (it will not read this answer).
                log.info("upload of %s cut short at %d bytes", d, _size(partial))
                raise InvalidInput(f"the upload of {d} was cut short") from None
            got = h.hexdigest()
            try:
                if got != d.hex:
                    raise InvalidValue(
                        f"the bytes sent hash to blake3:{got}, not {d}: nothing was stored"
                    )
                await run_in_threadpool(objects.put_file, partial, d)
            finally:
                _unlink(str(partial))
                uploads.pop(d.hex, None)
        return Stored(digest=str(d), stored=True)

    @app.head("/api/v1/uploads/{digest}", tags=["objects"])
    def upload_offset(digest: DigestPath, who: Recorder) -> Response:
        """How many bytes of an unfinished upload the server holds (``Upload-Offset``); 404
        when none."""
        d = _digest(digest)
        partial = scratch / f"upload-{d.hex}"
        if not partial.exists():
            return Response(status_code=404, media_type="application/json")
        return Response(
            status_code=200,
            headers={"Upload-Offset": str(_size(partial))},
            media_type="application/json",
        )

    @app.get("/api/v1/objects", response_model=DigestsOut, tags=["objects"])
    def list_objects(
        who: Reader_,
        after: Annotated[str, Query(max_length=80)] = "",
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> DigestsOut:
        """The digests held, in order, a page at a time (``after`` the last one seen)."""
        found = sorted(str(d) for d in objects.iter_digests() if str(d) > after)
        return DigestsOut(digests=found[:limit], more=len(found) > limit)

    @app.post("/api/v1/objects/{digest}/verify", response_model=Verified, tags=["objects"])
    def verify_object(digest: DigestPath, who: Reader_) -> Verified:
        """Re-hash a stored object (422 ``IntegrityError`` when it no longer matches)."""
        d = _digest(digest)
        objects.verify(d)
        return Verified(digest=str(d), ok=True)

    @app.get("/api/v1/audit/anchor", tags=["audit"])
    def anchor(who: Reader_) -> dict[str, Any]:
        """The head of the log ({seq, digest, at}), to keep outside the store."""
        return tracker(Actor(who.user, True)).audit.anchor()

    @app.post("/api/v1/audit/log", tags=["audit"])
    def audit_log(body: AuditLogIn, who: Reader_) -> list[dict[str, Any]]:
        """The events of the log, oldest first, filtered as ``pedigree audit log`` filters."""
        return tracker(Actor(who.user, True)).audit.log(**body.model_dump())

    @app.post("/api/v1/audit/verify", tags=["audit"])
    def audit_verify(body: VerifyIn, who: Reader_) -> dict[str, Any]:
        """Check the hash chain and that every table agrees with the log. Reads only."""
        report = tracker(Actor(who.user, True)).audit.verify(
            anchor=body.anchor, max_problems=body.max_problems, tables=body.tables
        )
        return report.to_json()

    # MLflow's client, unchanged, records here (pedigree.server.mlflow_api, docs/mlflow.md).
    from pedigree.server.mlflow_api import mlflow_router

    app.include_router(
        mlflow_router(principal_of, lambda w: tracker(Actor(w.user, True)).ctx, scratch)
    )

    # The web UI at / behind a login (docs/ui.md); the API routes above are matched first and
    # their tokens work as before.
    with contextlib.suppress(ImportError):  # without jinja2: the API alone
        from pedigree.web import create_ui
        from pedigree.web.auth import SessionAuth

        app.mount("/", create_ui(tracker, auth=SessionAuth(tracker)))
    return app


def _size(path: pathlib.Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _hash_into(h: Any, path: pathlib.Path) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


async def _chunks(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


def _sync_policy(tracker: Tracker, project: Project) -> None:
    """Record the server config's approvals policy (``[approvals]``), if it changed since the
    last one recorded: what was in force when is part of the record."""
    from pedigree.identity.policy import configured_policy, sync_policy

    sync_policy(tracker.ctx, configured_policy(project, authenticated=True))


def may_any(role: str, capabilities: str) -> bool:
    """Whether ``role`` has one of ``capabilities`` (``"record|admin"``)."""
    return any(may(role, c) for c in capabilities.split("|"))
