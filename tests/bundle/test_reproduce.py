"""`pedigree reproduce result.pedigree`: re-running a bundle's target in an empty folder on the
same machine as another would (no store, no git repository, no remote), verdict recorded."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from tests.conftest import Project


@pytest.mark.slow
def test_a_bundle_reproduces_identically_in_an_empty_folder(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    original = json.loads(project.pedigree("show", "last", "--json").out)
    # Nothing of the original project may help: the bundle is copied away and the project
    # (its repository, its store and its data) is gone.
    elsewhere = tmp_path / "regulator"
    elsewhere.mkdir()
    copy = elsewhere / "result.pedigree"
    shutil.copyfile(bundled, copy)
    shutil.rmtree(project.root)

    res = project.pedigree("reproduce", str(copy), "--json", cwd=elsewhere)
    assert res.code == 0, res.out + res.err
    result = json.loads(res.out)
    assert result["verdict"] == "identical", result
    assert result["original"] == original["id"]
    assert "made one in" in res.err
    assert any("cloned from the git bundle" in n for n in result["notes"])
    assert {o["path"] for o in result["outputs"]} == {"out/model.txt"}

    # The verdict is recorded in the store made here, against the imported original.
    shown = json.loads(project.pedigree("show", original["id"], "--json", cwd=elsewhere).out)
    assert shown["imported_from"].startswith("bundle:")
    assert [r["verdict"] for r in shown["reproductions"]] == ["identical"]
    rep = json.loads(project.pedigree("show", result["id"], "--json", cwd=elsewhere).out)
    assert rep["reproduction_of"] == {"original": original["id"], "verdict": "identical"}
    assert rep["code"]["commit"] == original["code"]["commit"]
    assert project.pedigree("audit", "verify", cwd=elsewhere).code == 0

    # Again: the bundle is imported once; a second reproduction is recorded beside the first.
    res = project.pedigree("reproduce", str(copy), "--json", cwd=elsewhere)
    assert res.code == 0, res.out + res.err
    assert json.loads(res.out)["verdict"] == "identical"
    runs = json.loads(
        project.pedigree("runs", "--where", "kind != 'sweep'", "--json", cwd=elsewhere).out
    )
    assert sorted(r["kind"] for r in runs) == ["reproduction", "reproduction", "run"]


def test_an_edited_bundle_is_not_reproduced(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.pedigree"
    with zipfile.ZipFile(bundled) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("code/files/"):
                data = data + b"import os; os.system('echo owned')\n"
            zout.writestr(info.filename, data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = project.pedigree("reproduce", str(bad), cwd=elsewhere)
    assert res.code == 5
    assert res.err.strip().splitlines()[-1].startswith("error: ")
    assert "failed verification" in res.err
    assert "nothing was imported" in res.err


@pytest.mark.slow
def test_a_no_data_bundle_reproduces_as_failed_saying_what_is_missing(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    out = tmp_path / "nodata.pedigree"
    assert project.pedigree("bundle", "last", "-o", str(out), "--no-data").code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = project.pedigree("reproduce", str(out), "--json", cwd=elsewhere)
    assert res.code == 2, res.out + res.err
    result = json.loads(res.out)
    assert result["verdict"] == "failed"
    assert "missing from the object store" in result["reason"]
