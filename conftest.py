"""Doctests: every docstring example under src/pedigree runs (``--doctest-modules``), each in a
fresh temporary folder, with no Pedigree settings from the developer's environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Modules that act when imported: the start-up hook injected into tracked processes, and
# Alembic's migration environment.
collect_ignore_glob = ["src/pedigree/_inject/*", "src/pedigree/store/migrations/*"]


@pytest.fixture(autouse=True)
def _doctest_workspace(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not isinstance(request.node, pytest.DoctestItem):
        return
    for key in list(os.environ):
        if key.startswith("PEDIGREE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PEDIGREE_USER", "doctest")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
