"""File names that are not UTF-8 never crash a command (issue 19 D)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Project

BAD = b"out\xffname.txt"


def test_data_add_of_a_folder_holding_a_non_utf8_name_is_a_one_line_error(
    project: Project, cli: Any
) -> None:
    folder = project.root / "d"
    folder.mkdir()
    (folder / "good.txt").write_text("ok\n")
    with open(os.path.join(os.fsencode(folder), BAD), "w") as f:
        f.write("x")
    res = project.pedigree("data", "add", "d")
    assert res.code == 2, res.err
    lines = res.err.strip().splitlines()
    assert lines == [
        "error: d/out\\xffname.txt: the file name is not UTF-8, and Pedigree records only "
        "UTF-8 names (rename it to have it recorded)"
    ]
    assert json.loads(cli("data", "ls", "--json").out) == []  # nothing half-recorded


def test_a_run_that_writes_a_non_utf8_name_is_recorded_without_it(project: Project) -> None:
    project.write("s.py", f"open({BAD!r}, 'w').write('x')\nprint('hi')\n")
    res = project.pedigree("run", "--", sys.executable, "s.py")
    assert res.code == 0, res.err
    assert "internal error" not in res.err
    assert res.err.count("the file name is not UTF-8") == 1
    shown = json.loads(project.pedigree("show", "last", "--json").out)
    assert shown["status"] == "finished"
    assert shown["code"]["commit"]  # commit and environment are kept
    assert shown["environment"]
    assert shown["stdout_digest"]
    assert all("name.txt" not in o["path"] for o in shown["outputs"])
    assert (Path(os.fsdecode(os.path.join(os.fsencode(project.root), BAD)))).exists()
