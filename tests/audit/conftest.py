"""A store with a full history, built once per backend and copied for each test that changes it."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.audit.history import History, build_history, copy_sqlite, project_tracker
from tests.conftest import TEMPLATE_DB

from pedigree.testing.postgres import TemporaryPostgres


@dataclass
class Golden:
    backend: str
    uri: str
    root: Path
    history: History


def _git_project(root: Path) -> None:
    root.mkdir(parents=True)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (
        ["init", "-q"],
        ["config", "user.email", "t@example.com"],
        ["config", "user.name", "T"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, env=env)
    (root / "backtest.py").write_text("print('backtest')\n")
    subprocess.run(["git", "add", "."], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "initial"], cwd=root, check=True, env=env)
    (root / "backtest.py").write_text("print('backtest, changed')\n")  # an uncommitted change


def _build(root: Path, uri: str | None) -> Golden:
    from pedigree import api
    from pedigree.config import init_project

    _git_project(root)
    init_project(root)
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("PEDIGREE_"):
                mp.delenv(key)
        mp.setenv("PEDIGREE_USER", "tester")
        if uri is not None:
            mp.setenv("PEDIGREE_URI", uri)
        mp.chdir(root)
        tracker = project_tracker(root)
        store_uri = tracker.project.uri
        history = build_history(tracker, root)
        api.close_all()
    return Golden("sqlite" if uri is None else "postgresql", store_uri, root, history)


@pytest.fixture(scope="module")
def golden_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Golden:
    return _build(tmp_path_factory.mktemp("golden") / "repo", None)


@pytest.fixture(scope="module")
def golden_pg(tmp_path_factory: pytest.TempPathFactory, pg_server: TemporaryPostgres) -> Golden:
    name = f"golden_{uuid.uuid4().hex[:10]}"
    uri = pg_server.create_database(name, template=TEMPLATE_DB)
    return _build(tmp_path_factory.mktemp("golden") / "repo", uri)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def golden(request: pytest.FixtureRequest) -> Golden:
    """The full history, on SQLite and on PostgreSQL (read-only: use ``scratch`` to change it)."""
    name = "golden_sqlite" if request.param == "sqlite" else "golden_pg"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def scratch(golden: Golden, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A private copy of the golden store, to tamper with."""
    if golden.backend == "sqlite":
        yield copy_sqlite(golden.uri, tmp_path / "copy.db")
        return
    pg: TemporaryPostgres = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    golden_db = golden.uri.split("?")[0].rsplit("/", 1)[-1]
    yield pg.create_database(name, template=golden_db)
    pg.drop_database(name)
