"""The team server's HTTP client: the standard library's ``http.client``, one connection per
thread, kept alive.

The client side of Pedigree stays light to import (``pedigree run`` starts in a few tens of
milliseconds): no HTTP library is imported, and nothing of the server's stack. Every request the
client makes is idempotent (reads; objects addressed by their digest; event batches carrying a
batch id that the server records once), so a request whose connection failed is simply sent
again, a few times, before the server is declared unreachable.

The server answers errors as ``{"error": {"code": "run_not_found", "message": "..."}}``; the
code names a class of :mod:`pedigree.errors` (:func:`~pedigree.errors.error_code`), which the
client raises with the server's message, so a command fails through the server as it fails
locally (same one line, same exit code); a code it does not know is raised by its status.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import IO, Any

from pedigree.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PedigreeError,
    PermissionDenied,
    RateLimited,
    RemoteError,
    ServerUnreachable,
    StoreError,
    Unauthenticated,
    error_class,
)

__all__ = ["HTTPClient", "Response", "error_for"]

_BY_STATUS: dict[int, type[PedigreeError]] = {
    400: InvalidInput,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidInput,
    422: InvalidInput,
    429: RateLimited,
    503: StoreError,
}
# Connection failures worth another attempt (a server restarting, a kept-alive connection the
# server closed).
_RETRY = (ConnectionError, http.client.HTTPException, TimeoutError, OSError)
_BLOCK = 1 << 20


def error_for(status: int, body: bytes) -> PedigreeError:
    """The error the server's answer describes."""
    code, message = None, None
    try:
        err = json.loads(body)["error"]
        code, message = err.get("code"), err.get("message")
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    if not isinstance(message, str) or not message:
        message = f"the server answered HTTP {status}"
    cls = error_class(code) if isinstance(code, str) else None
    if cls is None or cls.http_status != status:
        cls = _BY_STATUS.get(status, RemoteError)
    return cls(message)


class Response:
    """An answer: its status, headers and (unless streamed) its body."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class HTTPClient:
    """Requests to one server (``base``: ``http(s)://host:port[/prefix]``) with one token."""

    def __init__(
        self,
        base: str,
        token: str | None,
        *,
        timeout: float = 120.0,
        attempts: int | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"a team server URL is http(s)://host[:port], not {base!r}")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise InvalidInput(
                "a team server URL holds no user, password, query or fragment: the token goes "
                "in PEDIGREE_TOKEN or `pedigree login`"
            )
        self.base = base.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        env = os.environ.get("PEDIGREE_HTTP_ATTEMPTS", "")
        self.attempts = attempts or (int(env) if env.isdigit() and int(env) > 0 else 4)
        self._local = threading.local()

    # -- connections ---------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self.host, self.port, timeout=self.timeout, blocksize=_BLOCK)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self._drop()

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        out = {"Accept": "application/json", "User-Agent": "pedigree"}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        out.update(extra or {})
        return out

    # -- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | IO[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        stream: bool = False,
    ) -> Response | http.client.HTTPResponse:
        """Send a request (again, on a connection failure) and return the answer.

        A status outside ``ok`` raises the error the server described. With ``stream``, the
        open :class:`http.client.HTTPResponse` is returned for the caller to read and close.
        """
        url = self.prefix + path
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        delay = 0.2
        for attempt in range(self.attempts):
            if body is not None and not isinstance(body, bytes):
                body.seek(start)
            conn = self._connection()
            try:
                conn.request(method, url, body=body, headers=self.headers(headers))
                resp = conn.getresponse()
                if resp.status in ok and stream:
                    return resp
                data = resp.read()
            except _RETRY as exc:
                self._drop()
                if attempt + 1 >= self.attempts:
                    raise ServerUnreachable(
                        f"the team server at {self.base} cannot be reached: "
                        f"{type(exc).__name__}: {exc}".rstrip(": ")
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2.5, 3.0)
                continue
            if resp.status in (502, 503, 504) and attempt + 1 < self.attempts:
                time.sleep(delay)  # a proxy in front of a restarting server
                delay = min(delay * 2.5, 3.0)
                continue
            if resp.will_close:
                self._drop()
            if resp.status not in ok:
                raise error_for(resp.status, data)
            return Response(resp.status, dict(resp.getheaders()), data)
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, method: str, path: str, payload: Any = None, **kw: Any) -> Any:
        """A JSON request and its JSON answer."""
        body = None if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if body is not None else None
        resp = self.request(method, path, body=body, headers=headers, **kw)
        assert isinstance(resp, Response)
        return resp.json() if resp.body else None
