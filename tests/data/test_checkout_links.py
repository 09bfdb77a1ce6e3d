"""`data checkout` never writes through a symlink it did not create (issue 19 G)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import Project


def test_a_checkout_refuses_a_symlinked_folder_inside_its_target(
    project: Project, cli: Any, tmp_path: Path
) -> None:
    project.write("ds/sub/f.txt", "version one\n")
    project.write("ds/top.txt", "top\n")
    assert cli("data", "add", "ds").code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(project.root / "ds" / "sub")
    os.symlink(elsewhere, project.root / "ds" / "sub")

    for extra in ([], ["--force"], ["--force", "--clean"]):
        res = cli("data", "checkout", "ds@v1", *extra)
        assert res.code == 4, res.err
        assert "is a symlink" in res.err
        assert "Traceback" not in res.err
        assert res.err.count("\n") <= 2  # the error line (and its hint)
        assert list(elsewhere.iterdir()) == []  # nothing written through the link
    assert os.path.islink(project.root / "ds" / "sub")


def test_a_checkout_elsewhere_is_not_affected_by_links_in_the_source(
    project: Project, cli: Any, tmp_path: Path
) -> None:
    project.write("ds/sub/f.txt", "version one\n")
    assert cli("data", "add", "ds").code == 0
    out = tmp_path / "out"
    res = cli("data", "checkout", "ds@v1", "--to", str(out))
    assert res.code == 0, res.err
    assert (out / "sub" / "f.txt").read_text() == "version one\n"
