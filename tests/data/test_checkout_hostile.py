"""`data checkout` acts only on records the audit chain vouches for (issue 19 C)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.audit.history import tamper
from tests.conftest import Project


def test_a_dataset_path_edited_behind_pedigrees_back_is_not_checked_out(
    any_project: Project, cli: Any, tmp_path: Path
) -> None:
    project = any_project
    project.write("data/fx.csv", "eurusd,1.09\n")
    assert cli("data", "add", "data/fx.csv").code == 0
    outside = tmp_path / "outside.csv"
    tamper(
        project.tracker().project.uri,
        f"UPDATE datasets SET path = '{outside}' WHERE name = 'data/fx.csv'",
        "UPDATE datasets SET path = '../../outside.csv' WHERE name = 'data/fx.csv'",
    )
    (project.root / "data" / "fx.csv").unlink()
    res = cli("data", "checkout", "data/fx.csv@v1")
    assert res.code == 1
    assert "error: the record fails `pedigree audit verify`" in res.err
    assert "nothing was checked out" in res.err
    assert not outside.exists()
    assert not (project.root / "data" / "fx.csv").exists()
