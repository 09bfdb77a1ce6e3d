"""Shared fixtures: isolated environment, real git repositories, real stores (SQLite and a
throwaway PostgreSQL server), and the CLI run in-process or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pedigree.testing.postgres import TemporaryPostgres

PYTHON = sys.executable
TEMPLATE_DB = "pedigree_template"


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's Pedigree settings or git identity."""
    for key in list(os.environ):
        if key.startswith("PEDIGREE_"):
            monkeypatch.delenv(key)
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("PEDIGREE_USER", "tester")


@pytest.fixture(autouse=True)
def _fresh_sdk_state() -> Iterator[None]:
    """Each test starts with no active run, no declared params and no open stores."""
    yield
    from pedigree import api, sdk

    sdk.end_run()
    sdk._declared.clear()
    api.close_all()


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TemporaryPostgres]:
    """One throwaway PostgreSQL cluster per test process, with a migrated template database."""
    from pedigree.store import open_store

    pg = TemporaryPostgres().start()
    try:
        store = open_store(pg.create_database(TEMPLATE_DB))
        store.close()
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def pg_uri(pg_server: TemporaryPostgres) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    uri = pg_server.create_database(name, template=TEMPLATE_DB)
    yield uri
    pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on the embedded SQLite store and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_uri"))


# -- projects and git ------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A git repository with one commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README.md").write_text("research\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "initial")
    return repo


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@dataclass
class Project:
    """A git repository with a Pedigree store, and ways to drive it."""

    root: Path
    env: dict[str, str]

    def tracker(self):  # type: ignore[no-untyped-def]
        from pedigree.api import Tracker

        return Tracker.from_env(self.root)

    def pedigree(
        self,
        *args: str,
        cwd: Path | None = None,
        timeout: float = 120,
        env: dict[str, str] | None = None,
    ) -> CliResult:
        """Run the real `pedigree` command in a subprocess."""
        proc = subprocess.run(
            [PYTHON, "-m", "pedigree.cli.main", *args],
            cwd=cwd or self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def write(self, relpath: str, text: str) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def commit(self, message: str = "change") -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", message)


@pytest.fixture
def project(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A git repository with `pedigree init` done; the working directory is its root."""
    from pedigree.config import init_project
    from pedigree.store import open_store

    proj, _ = init_project(git_repo)
    open_store(proj.uri).close()
    monkeypatch.chdir(git_repo)
    return Project(git_repo, dict(os.environ))


@pytest.fixture
def pg_project(git_repo: Path, pg_uri: str, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Like ``project``, with the metadata in PostgreSQL (PEDIGREE_URI)."""
    from pedigree.config import init_project

    monkeypatch.setenv("PEDIGREE_URI", pg_uri)
    init_project(git_repo)
    monkeypatch.chdir(git_repo)
    return Project(git_repo, dict(os.environ))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_project(request: pytest.FixtureRequest) -> Project:
    """The same test on a SQLite project and on a PostgreSQL project."""
    name = "project" if request.param == "sqlite" else "pg_project"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `pedigree` in-process (fast); returns exit code, stdout and stderr."""
    from pedigree.cli.main import main

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
