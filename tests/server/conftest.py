"""A real team server for the tests: ``pedigree server`` as a subprocess on 127.0.0.1, over a
tmp project whose users and tokens were made with the local CLI (``pedigree users add``,
``pedigree tokens create``), and real ``pedigree`` subprocesses as its clients."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import PYTHON, CliResult, git

ROLES = ("admin", "researcher", "reviewer", "auditor")
USERS = {"admin": "ada", "researcher": "rex", "reviewer": "rita", "auditor": "otto"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(home: Path) -> dict[str, str]:
    """The environment of every process of these tests: no Pedigree settings of the developer,
    a home of its own (git identity, and ~/.config for credentials)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEDIGREE_")}
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        PEDIGREE_HTTP_ATTEMPTS="2",
    )
    return env


def run_cli(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 180, stdin: str | None = None
) -> CliResult:
    proc = subprocess.run(
        [PYTHON, "-m", "pedigree.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    """A running team server and what its tests need to talk to it."""

    url: str
    port: int
    root: Path  # the server's project
    client_dir: Path  # a folder of the clients' own (a git repository, no .pedigree)
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    args: tuple[str, ...] = ()

    def local(self, *args: str, **kw: Any) -> CliResult:
        """``pedigree`` on the server's machine, on its store (administration)."""
        return run_cli(*args, cwd=self.root, env=self.env, **kw)

    def client_env(self, role: str | None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in self.env.items() if not k.startswith("PEDIGREE_")}
        env.update(PEDIGREE_URI=self.url, PEDIGREE_HTTP_ATTEMPTS="2", **extra)
        if role is not None:
            env["PEDIGREE_TOKEN"] = self.tokens[role]
        return env

    def cli(self, role: str | None, *args: str, cwd: Path | None = None, **extra: str) -> CliResult:
        """``pedigree`` on a client, through the server, with the token of ``role``."""
        return run_cli(*args, cwd=cwd or self.client_dir, env=self.client_env(role, **extra))

    def request(
        self,
        method: str,
        path: str,
        *,
        role: str | None = None,
        token: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        hdrs = dict(headers or {})
        token = token or (self.tokens[role] if role else None)
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return Answer(resp.status, dict(resp.getheaders()), resp.read())
        finally:
            conn.close()

    def start(self) -> None:
        assert self.log is not None
        out = open(self.log, "ab")  # noqa: SIM115 - the server's whole life
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "pedigree.cli.main", "server", "--port", str(self.port), *self.args],
            cwd=self.root,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if self.request("GET", "/healthz").status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self.proc = None


def make_user(server: Server, role: str) -> str:
    """A user of ``role`` with a fresh token, made with the local CLI; returns the token."""
    name = USERS[role]
    res = server.local("users", "add", name, "--role", role)
    assert res.code == 0, res.err
    res = server.local("tokens", "create", "--user", name, "--json")
    assert res.code == 0, res.err
    token = json.loads(res.out)["token"]
    assert isinstance(token, str)
    assert len(token) >= 32
    return token


def start_server(
    base: Path, *, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Server:
    """A server over a new project under ``base``; ``extra_env`` (``PEDIGREE_URI`` of a
    database, ``PEDIGREE_OBJECTS`` of a bucket...) applies to the server's side."""
    env = base_env(base / "home")
    root = base / "served"
    root.mkdir()
    git(root, "init", "-q")
    client_dir = base / "client"
    client_dir.mkdir()
    git(client_dir, "init", "-q")
    (client_dir / "README.md").write_text("research\n")
    git(client_dir, "add", ".")
    subprocess.run(
        ["git", "commit", "-qm", "initial"], cwd=client_dir, env=env, check=True, timeout=60
    )
    port = free_port()
    server = Server(
        url=f"http://127.0.0.1:{port}",
        port=port,
        root=root,
        client_dir=client_dir,
        env=env,
        log=base / "server.log",
        args=args,
    )
    server.env.update(extra_env or {})
    res = server.local("init")
    assert res.code == 0, res.err
    for role in ROLES:
        server.tokens[role] = make_user(server, role)
    server.start()
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a module's tests (its users and tokens made once)."""
    srv = start_server(tmp_path_factory.mktemp("server"))
    try:
        yield srv
    finally:
        srv.stop()
