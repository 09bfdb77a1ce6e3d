"""The web UI: server-rendered pages over the Tracker, each also served as JSON.

:func:`create_ui` makes a Starlette app. Every page has a stable URL (``/runs?where=...``,
``/runs/<id>``, ``/compare?runs=a&runs=b``, ``/sweeps/<id>``, ``/lineage?target=...``,
``/datasets/<name>``, ``/audit``, ``/approvals``) and its data at the same path under
``/api/v1/ui`` (``/api/v1/ui/runs/<id>``): both come from one function of
:mod:`pedigree.web.views`. The pages work without JavaScript (tables, links and forms); the
bundled script (``make web``) adds the charts (uPlot) and the lineage graph (Cytoscape.js with a
dagre layout), which fetch their data from those JSON routes. Every response forbids loading
anything from another host (``Content-Security-Policy: default-src 'self'``).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pedigree.api import Tracker
from pedigree.context import Actor
from pedigree.errors import InvalidInput, PedigreeError, PermissionDenied, Unauthenticated
from pedigree.web import views
from pedigree.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    Auth,
    Viewer,
    csrf_ok,
    new_csrf_token,
)

__all__ = ["CSP", "TrackerFactory", "create_ui"]

log = logging.getLogger("pedigree.web")

HERE = Path(__file__).parent
STATIC = HERE / "static"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SESSION_COOKIE = "pedigree_session"

# A tracker acting as the given user (``None``: the project's own user, as ``pedigree ui``).
TrackerFactory = Callable[[Actor | None], Tracker]
View = Callable[[Request, Tracker], dict[str, Any]]


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
    )
    env.filters["short"] = lambda v: "" if v is None else str(v)[:11]
    env.filters["value"] = _value
    env.filters["json"] = lambda v: json.dumps(v, indent=2, sort_keys=True, default=str)
    env.filters["urlencode_query"] = lambda d: urllib.parse.urlencode(d, doseq=True)
    return env


def _value(v: Any) -> str:
    """A param or metric as a table cell shows it."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True)
    return str(v)


def _arg(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value.strip() if value and value.strip() else None


def _int(request: Request, name: str, default: int) -> int:
    text = _arg(request, name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, not {text!r}") from None


def _float(request: Request, name: str) -> float | None:
    text = _arg(request, name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a number (epoch seconds), not {text!r}") from None


def _columns(request: Request) -> list[str]:
    cols: list[str] = []
    for value in request.query_params.getlist("col"):
        cols.extend(c.strip() for c in value.split(",") if c.strip())
    return cols


# -- the views, by page -------------------------------------------------------------------------


def _runs(request: Request, t: Tracker) -> dict[str, Any]:
    return views.runs(
        t,
        experiment=_arg(request, "experiment"),
        where=_arg(request, "where"),
        order_by=_arg(request, "order"),
        columns=_columns(request),
        page=_int(request, "page", 1),
    )


def _refs(request: Request) -> list[str]:
    refs: list[str] = []
    for value in request.query_params.getlist("runs"):
        refs.extend(r.strip() for r in value.split(",") if r.strip())
    return refs


VIEWS: dict[str, tuple[str, View]] = {
    # path: (template, view)
    "/experiments": ("experiments.html", lambda r, t: views.experiments(t)),
    "/runs": ("runs.html", _runs),
    "/runs/{ref}": ("run.html", lambda r, t: views.run(t, r.path_params["ref"])),
    "/runs/{ref}/metrics": ("", lambda r, t: views.run_metrics(t, r.path_params["ref"])),
    "/compare": ("compare.html", lambda r, t: views.compare(t, _refs(r))),
    "/compare/metrics": ("", lambda r, t: views.compare_metrics(t, _refs(r))),
    "/sweeps/{ref}": ("sweep.html", lambda r, t: views.sweep(t, r.path_params["ref"])),
    "/sweeps/{ref}/chart": ("", lambda r, t: views.sweep_chart(t, r.path_params["ref"])),
    "/lineage": (
        "lineage.html",
        lambda r, t: views.lineage(
            t,
            _arg(r, "target") or "last",
            depth=_int(r, "depth", 0) or None,
            direction=_arg(r, "direction") or "both",
        ),
    ),
    "/datasets": ("datasets.html", lambda r, t: views.datasets(t)),
    "/datasets/{name}": (
        "dataset.html",
        lambda r, t: views.dataset(t, r.path_params["name"], old=_arg(r, "a"), new=_arg(r, "b")),
    ),
    "/audit": (
        "audit.html",
        lambda r, t: views.audit(
            t, actor=_arg(r, "actor"), kind=_arg(r, "kind"), since=_float(r, "since")
        ),
    ),
    "/approvals": (
        "approvals.html",
        lambda r, t: views.approvals(t, experiment=_arg(r, "experiment")),
    ),
}


def create_ui(tracker_factory: TrackerFactory, *, auth: Auth | None = None) -> Starlette:
    """The UI over the trackers ``tracker_factory`` makes. Without ``auth`` (``pedigree ui``)
    nobody logs in and the project's user does everything; with it, every route needs a signed-in
    viewer and the viewer's role decides what may change."""
    env = _env()

    def viewer_of(request: Request) -> Viewer | None:
        if auth is None:
            return Viewer(name=tracker_factory(None).user, role="local", local=True)
        return auth.viewer(request)

    def tracker_for(viewer: Viewer) -> Tracker:
        if viewer.local:
            return tracker_factory(None)
        return tracker_factory(Actor(viewer.name, authenticated=True))

    def render(
        request: Request, template: str, data: dict[str, Any], status: int = 200, **extra: Any
    ) -> Response:
        token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        viewer = extra.pop("viewer", None) or viewer_of(request)
        body = env.get_template(template).render(
            data=data,
            viewer=viewer,
            csrf=token,
            request=request,
            path=request.url.path,
            query=request.url.query,
            login=auth is not None,
            **extra,
        )
        response = HTMLResponse(body, status_code=status)
        if request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(
                CSRF_COOKIE,
                token,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    def error_page(request: Request, exc: PedigreeError, as_json: bool) -> Response:
        status = exc.http_status if exc.http_status < 500 else 500
        if as_json:
            return JSONResponse(
                {"error": {"code": type(exc).__name__, "message": exc.message}}, status_code=status
            )
        return render(request, "error.html", {"message": exc.message}, status=status)

    def guarded(handler: Callable[[Request, Viewer], Response], as_json: bool) -> Any:
        def endpoint(request: Request) -> Response:
            viewer = viewer_of(request)
            if viewer is None:
                if as_json:
                    return error_page(request, Unauthenticated("sign in first"), True)
                query = f"?{request.url.query}" if request.url.query else ""
                target = urllib.parse.quote(request.url.path + query)
                return RedirectResponse(f"/login?next={target}", status_code=303)
            try:
                return handler(request, viewer)
            except PedigreeError as exc:
                return error_page(request, exc, as_json)

        return endpoint

    def page(template: str, view: View) -> Callable[[Request, Viewer], Response]:
        def handler(request: Request, viewer: Viewer) -> Response:
            data = view(request, tracker_for(viewer))
            return render(request, template, data, viewer=viewer)

        return handler

    def api(view: View) -> Callable[[Request, Viewer], Response]:
        def handler(request: Request, viewer: Viewer) -> Response:
            body = json.dumps(view(request, tracker_for(viewer)), default=str)
            return Response(body, media_type="application/json")

        return handler

    # -- forms ----------------------------------------------------------------------------------

    async def form_of(request: Request) -> dict[str, str]:
        body = (await request.body()).decode("utf-8", "replace")
        return {k: v[-1] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}

    def checked(form: dict[str, str], request: Request) -> None:
        if not csrf_ok(request, form.get(CSRF_FIELD)):
            raise PermissionDenied("the form's CSRF token is missing or wrong: reload the page")

    async def review(request: Request) -> Response:
        form = await form_of(request)
        ref = request.path_params["ref"]
        from starlette.concurrency import run_in_threadpool

        def act(req: Request, viewer: Viewer) -> Response:
            checked(form, req)
            if not viewer.may("review"):
                raise PermissionDenied(viewer.why_not("review") or "you may not review")
            decision = form.get("decision", "")
            if decision not in ("approved", "rejected"):
                raise InvalidInput("decision must be approved or rejected")
            t = tracker_for(viewer)
            t.audit.review(ref, decision, note=form.get("note") or None)
            return RedirectResponse(f"/runs/{urllib.parse.quote(ref)}#reviews", status_code=303)

        return await run_in_threadpool(guarded(act, False), request)

    async def audit_verify(request: Request) -> Response:
        form = await form_of(request)
        from starlette.concurrency import run_in_threadpool

        def act(req: Request, viewer: Viewer) -> Response:
            checked(form, req)
            if not viewer.may("audit"):
                raise PermissionDenied(viewer.why_not("audit") or "you may not audit")
            t = tracker_for(viewer)
            report = t.audit.verify()
            data = views.audit(t)
            return render(
                req,
                "audit.html",
                data,
                viewer=viewer,
                verified=report.to_json(),
                status=200 if report.ok else 409,
            )

        return await run_in_threadpool(guarded(act, False), request)

    # -- logging in (server mode) ---------------------------------------------------------------

    async def login(request: Request) -> Response:
        if auth is None:
            return RedirectResponse("/runs", status_code=303)
        nxt = request.query_params.get("next") or "/runs"
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/runs"
        anonymous = Viewer(name="", role="")
        if request.method == "GET":
            return render(request, "login.html", {"next": nxt}, viewer=anonymous)
        form = await form_of(request)
        if not csrf_ok(request, form.get(CSRF_FIELD)):
            return render(
                request,
                "login.html",
                {"next": nxt, "error": "the form expired: try again"},
                viewer=anonymous,
                status=403,
            )
        from starlette.concurrency import run_in_threadpool

        try:
            session = await run_in_threadpool(
                auth.login, form.get("username", ""), form.get("password", "")
            )
        except PedigreeError as exc:
            return render(
                request,
                "login.html",
                {"next": nxt, "error": exc.message},
                viewer=anonymous,
                status=401,
            )
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    async def logout(request: Request) -> Response:
        form = await form_of(request)
        if auth is not None and csrf_ok(request, form.get(CSRF_FIELD)):
            session = request.cookies.get(SESSION_COOKIE)
            if session:
                auth.logout(session)
        response = RedirectResponse("/login" if auth else "/runs", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def report(request: Request, viewer: Viewer) -> Response:
        t = tracker_for(viewer)
        run_id = t.resolve(request.path_params["ref"])
        html = t.reports.html(run_id)
        return Response(
            html,
            media_type="text/html",
            headers={"Content-Disposition": f'attachment; filename="pedigree-{run_id}.html"'},
        )

    routes: list[Route | Mount] = [
        Route("/", lambda r: RedirectResponse("/runs", status_code=307)),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/runs/{ref}/review", review, methods=["POST"]),
        Route("/runs/{ref}/report", guarded(report, False)),
        Route("/audit/verify", audit_verify, methods=["POST"]),
    ]
    for path, (template, view) in VIEWS.items():
        if template:
            routes.append(Route(path, guarded(page(template, view), False)))
        routes.append(Route(f"/api/v1/ui{path}", guarded(api(view), True)))
    routes.append(Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"))

    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("%s %s: internal error", request.method, request.url.path)
        message = f"internal error: {type(exc).__name__} (the server's log has the details)"
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"error": {"code": "InternalError", "message": message}}, status_code=500
            )
        return HTMLResponse(f"<!doctype html><title>Error</title><p>error: {message}</p>", 500)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        message = f"no route {request.method} {request.url.path}"
        if request.url.path.startswith("/api/"):  # the team server's JSON error, as its own
            code = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "HTTPError")
            return JSONResponse({"error": {"code": code, "message": message}}, status)
        return render(request, "error.html", {"message": message}, status=status)

    return Starlette(
        routes=routes,
        middleware=[Middleware(_SecurityHeaders)],
        exception_handlers={Exception: internal, 404: not_found, 405: not_found},
    )


class _SecurityHeaders:
    """Adds the CSP and its companions to every response (pure ASGI, so streaming stays so)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
