"""Helpers of the web UI's tests: the UI app served by a real uvicorn on 127.0.0.1 (in a thread,
for the fast tests; ``pedigree ui`` as a subprocess for the browser tests), and a small HTTP
client that keeps cookies and does not follow redirects."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Client:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> Answer:
        if params:
            path = f"{path}?{urllib.parse.urlencode(params)}"
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            for key, value in response.getheaders():
                if key.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0].strip('"')
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
        finally:
            conn.close()

    def get(self, path: str, params: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, params=params)

    def post(self, path: str, data: dict[str, str]) -> Answer:
        return self.request("POST", path, data=data)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[int]:
    """``app`` on a free port of 127.0.0.1 until the block ends; yields the port."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the UI did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
