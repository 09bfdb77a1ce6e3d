"""`pedigree bundle import`: a verified bundle merged into another project's store, once."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from tests.conftest import Project


def _other(project: Project, tmp_path: Path) -> Path:
    """A second project, in a folder outside any git repository."""
    other = tmp_path / "other"
    other.mkdir(exist_ok=True)
    assert project.pedigree("init", cwd=other).code == 0
    return other


def test_import_merges_the_records_and_says_where_they_came_from(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    seal = json.loads(zipfile.ZipFile(bundled).read("manifest.json"))["seal"]
    original = json.loads(project.pedigree("show", "last", "--json").out)
    other = _other(project, tmp_path)
    res = project.pedigree("bundle", "import", str(bundled), "--json", cwd=other)
    assert res.code == 0, res.err
    summary = json.loads(res.out)
    assert summary["runs_imported"] == [original["id"]]
    assert summary["runs_present"] == []
    assert summary["target_run"] == original["id"]
    assert summary["objects"] >= 3  # the input, the output, the untracked file, the code

    rec = json.loads(project.pedigree("show", original["id"], "--json", cwd=other).out)
    for key in ("params", "metrics", "status", "exit_code", "user", "seed", "inputs", "outputs"):
        assert rec[key] == original[key], key
    assert rec["code"]["commit"] == original["code"]["commit"]
    assert rec["environment"]["digest"] == original["environment"]["digest"]
    assert rec["imported_from"] == f"bundle:{seal}/{original['id']}"
    came = rec["import"]
    assert came["source"] == rec["imported_from"]
    assert came["bundle"] == seal
    assert came["file"] == "result.pedigree"
    assert came["anchor"] == summary["anchor"]
    assert came["actor"] == "tester"
    assert came["code_bundle"].startswith("blake3:")
    assert "imported_from" not in original
    metrics = json.loads(project.pedigree("metrics", original["id"], "--json", cwd=other).out)
    assert [p["value"] for p in metrics["score"]] == [19.5, 20.5]

    # The imported record is part of this store's own chain, and the data came with it.
    assert project.pedigree("audit", "verify", cwd=other).code == 0
    digest = original["outputs"][0]["digest"]
    got = project.pedigree("get", digest, "-o", str(tmp_path / "model.txt"), cwd=other)
    assert got.code == 0, got.err
    assert (tmp_path / "model.txt").read_text() == "19.500000\n"

    # Idempotent: a second import adds nothing.
    again = json.loads(project.pedigree("bundle", "import", str(bundled), "--json", cwd=other).out)
    assert again["runs_imported"] == []
    assert again["runs_present"] == [original["id"]]
    assert again["events"] == 0
    runs = json.loads(project.pedigree("runs", "--json", cwd=other).out)
    assert [(r["id"], r["imported_from"]) for r in runs] == [(original["id"], rec["imported_from"])]


def test_importing_into_the_store_it_came_from_adds_nothing(
    project: Project, bundled: Path
) -> None:
    res = project.pedigree("bundle", "import", str(bundled), "--json")
    assert res.code == 0, res.err
    summary = json.loads(res.out)
    assert summary["runs_imported"] == []
    assert summary["events"] == 0
    rec = json.loads(project.pedigree("show", "last", "--json").out)
    assert "imported_from" not in rec


def test_an_unverified_bundle_is_refused_and_nothing_is_imported(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.pedigree"
    with zipfile.ZipFile(bundled) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("objects/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            zout.writestr(info.filename, data)
    other = _other(project, tmp_path)
    res = project.pedigree("bundle", "import", str(bad), cwd=other)
    assert res.code == 5
    assert res.err.startswith("error: ")
    assert res.err.count("\n") == 1
    assert "nothing was imported" in res.err
    assert json.loads(project.pedigree("runs", "--json", cwd=other).out) == []
    anchor = "blake3:" + "2" * 64
    res = project.pedigree("bundle", "import", str(bundled), "--anchor", anchor, cwd=other)
    assert res.code == 5
    assert json.loads(project.pedigree("runs", "--json", cwd=other).out) == []


def test_unsafe_truncated_or_foreign_files_are_refused_in_one_line(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    slip = tmp_path / "slip.pedigree"
    shutil.copyfile(bundled, slip)
    with zipfile.ZipFile(slip, "a") as zf:
        zf.writestr("../../escaped.txt", b"x")
    truncated = tmp_path / "truncated.pedigree"
    truncated.write_bytes(bundled.read_bytes()[:1000])
    foreign = tmp_path / "foreign.pedigree"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("hello.txt", "hi")
    other = _other(project, tmp_path)
    for bad in (slip, truncated, foreign):
        for args in (("bundle", "import", str(bad)), ("reproduce", str(bad))):
            res = project.pedigree(*args, cwd=other)
            assert res.code == 5, (bad, args, res)
            assert res.err.startswith("error: "), res.err
            assert res.err.count("\n") == 1, res.err
    assert not (tmp_path / "escaped.txt").exists()
    assert json.loads(project.pedigree("runs", "--json", cwd=other).out) == []


@pytest.mark.postgres
def test_import_into_a_postgresql_store(
    project: Project, bundled: Path, tmp_path: Path, pg_uri: str
) -> None:
    original = json.loads(project.pedigree("show", "last", "--json").out)
    other = _other(project, tmp_path)
    env = {"PEDIGREE_URI": pg_uri}
    res = project.pedigree("bundle", "import", str(bundled), "--json", cwd=other, env=env)
    assert res.code == 0, res.err
    assert json.loads(res.out)["runs_imported"] == [original["id"]]
    again = project.pedigree("bundle", "import", str(bundled), "--json", cwd=other, env=env)
    assert json.loads(again.out)["events"] == 0
    rec = json.loads(project.pedigree("show", original["id"], "--json", cwd=other, env=env).out)
    assert rec["params"] == original["params"]
    assert rec["metrics"] == original["metrics"]
    assert rec["imported_from"].startswith("bundle:blake3:")
    assert rec["import"]["file"] == "result.pedigree"
    assert project.pedigree("audit", "verify", cwd=other, env=env).code == 0
