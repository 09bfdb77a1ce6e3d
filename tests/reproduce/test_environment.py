"""Choosing the interpreter a rebuilt environment starts from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pedigree.errors import CannotReproduce
from pedigree.reproduce.environment import _interpreter


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_a_shim_that_does_not_run_is_skipped_for_the_recorded_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyenv puts a `python3.99` on PATH that only says the version is not selected.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "python3.99", 'echo "pyenv: python3.99: command not found" >&2; exit 127')
    recorded = _script(tmp_path / "python", "echo 3.99")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert _interpreter("3.99.1", recorded) == (recorded, [])
    with pytest.raises(CannotReproduce, match=r"Python 3\.99 \(recorded: 3\.99\.1\) is not"):
        _interpreter("3.99.1", None)


def test_an_interpreter_of_another_version_is_not_taken(tmp_path: Path) -> None:
    other = _script(tmp_path / "python", "echo 3.98")
    with pytest.raises(CannotReproduce):
        _interpreter("3.99.0", other)
