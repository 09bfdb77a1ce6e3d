"""`pedigree get`: every target kind back byte for byte, verified, never clobbering."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Project

from pedigree.digest import Digest


def js(cli: Any, *args: str) -> Any:
    res = cli(*args, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def make_run(project: Project) -> str:
    """A run that writes a file and a folder (declared outputs)."""
    tracker = project.tracker()
    project.write("models/tsmom.pkl", "weights-v1")
    project.write("reports/a.txt", "alpha")
    project.write("reports/sub/b.txt", "beta")
    with tracker.start_run(experiment="tsmom") as run:
        run.produce(project.root / "models" / "tsmom.pkl")
        run.produce(project.root / "reports")
        run_id = run.id
    return str(run_id)


def test_get_run_outputs_file_and_folder(any_project: Project, cli: Any, tmp_path: Path) -> None:
    run_id = make_run(any_project)
    out = js(cli, "get", f"{run_id}:models/tsmom.pkl", "-o", str(tmp_path / "m.pkl"))
    assert (tmp_path / "m.pkl").read_text() == "weights-v1"
    assert out["kind"] == "file"
    assert out["written"] == 1
    assert out["source"] == f"output models/tsmom.pkl of run {run_id}"

    # A folder comes back whole; an existing folder receives it... as its contents.
    out = js(cli, "get", "last:reports", "-o", str(tmp_path / "r"))
    assert out["kind"] == "dir"
    assert out["files"] == 2
    assert (tmp_path / "r" / "a.txt").read_text() == "alpha"
    assert (tmp_path / "r" / "sub" / "b.txt").read_text() == "beta"

    # One file inside a folder output.
    js(cli, "get", "last:reports/sub/b.txt", "-o", str(tmp_path))
    assert (tmp_path / "b.txt").read_text() == "beta"

    # Again: nothing to write.
    again = js(cli, "get", "last:reports", "-o", str(tmp_path / "r"))
    assert (again["written"], again["unchanged"]) == (0, 2)


def test_get_by_digest_prefix_and_dataset(any_project: Project, cli: Any, tmp_path: Path) -> None:
    any_project.write("data/prices/jan.csv", "1\n")
    any_project.write("data/prices/feb.csv", "2\n")
    version = js(cli, "data", "add", "data/prices", "--name", "prices")
    js(cli, "get", "prices@v1", "-o", str(tmp_path / "p"))
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["feb.csv", "jan.csv"]
    js(cli, "get", "prices@v1:jan.csv", "-o", str(tmp_path / "j.csv"))
    assert (tmp_path / "j.csv").read_text() == "1\n"

    # Text output abbreviates digests: that prefix names it too; default destination: here.
    prefix = version["digest"][: len("blake3:") + 12]
    here = any_project.root / "restored"
    here.mkdir()
    os.chdir(here)
    res = cli("get", prefix)
    assert res.code == 0, res.err
    assert (here / "prices" / "jan.csv").read_text() == "1\n"
    assert "2 written" in res.out


def test_never_overwrites_other_content_without_force(
    project: Project, cli: Any, tmp_path: Path
) -> None:
    make_run(project)
    dest = tmp_path / "m.pkl"
    dest.write_text("my own work")
    res = cli("get", "last:models/tsmom.pkl", "-o", str(dest))
    assert res.code == 4
    assert res.err.startswith("error: ")
    assert "Traceback" not in res.err
    assert dest.read_text() == "my own work"
    assert cli("get", "last:models/tsmom.pkl", "-o", str(dest), "--force").code == 0
    assert dest.read_text() == "weights-v1"


def test_missing_or_corrupt_object_leaves_nothing(
    project: Project, cli: Any, tmp_path: Path
) -> None:
    make_run(project)
    tracker = project.tracker()
    digest = tracker.get_run("last")["outputs"][0]["digest"]
    objects_root = project.root / ".pedigree" / "objects"
    hexpart = Digest.parse(digest).hex
    obj = objects_root / hexpart[:2] / hexpart[2:]
    os.chmod(obj, 0o644)
    obj.write_text("weights-v2")  # same length, other bytes
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    res = cli("get", "last:models/tsmom.pkl", "-o", str(tmp_path / "m.pkl"))
    assert res.code == 5, res.err
    assert list(tmp_path.iterdir()) == []
    obj.unlink()
    res = cli("get", digest, "-o", str(tmp_path / "m.pkl"))
    assert res.code == 3, res.err
    assert digest in res.err
    assert list(tmp_path.iterdir()) == []


def test_bad_targets(project: Project, cli: Any) -> None:
    make_run(project)
    for target, code in [
        ("last:nowhere.pkl", 3),
        ("blake3:" + "0" * 64, 3),
        ("nosuch@v1", 3),
        ("just-words", 3),
        ("last:../x", 2),
    ]:
        res = cli("get", target)
        assert res.code == code, (target, res.err)
        assert res.err.count("\n") <= 2
        assert "Traceback" not in res.err


def test_python_get_returns_a_read_only_cached_path(project: Project) -> None:
    import pedigree

    make_run(project)
    path = pedigree.get("last:models/tsmom.pkl")
    assert path.read_text() == "weights-v1"
    assert project.root / ".pedigree" in path.parents
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert pedigree.get("last:models/tsmom.pkl") == path
    folder = pedigree.get("last:reports")
    assert (folder / "sub" / "b.txt").read_text() == "beta"
    with pytest.raises(pedigree.PedigreeError):
        pedigree.get("last:nowhere")


def test_get_from_an_s3_object_store(project: Project, s3_location: str) -> None:
    env = {**os.environ, "PEDIGREE_OBJECTS": s3_location}  # with the fixture's S3 settings
    project.write("data/prices/jan.csv", "1\n")
    project.write("data/prices/feb.csv", "2\n")
    res = project.pedigree("data", "add", "data/prices", "--name", "prices", "--json", env=env)
    assert res.code == 0, res.err
    assert not any((project.root / ".pedigree" / "objects").glob("*/*"))  # all of it in S3
    out = project.root / "restored"
    res = project.pedigree("get", "prices@v1", "-o", str(out), "--json", env=env)
    assert res.code == 0, res.err
    assert json.loads(res.out)["written"] == 2
    assert (out / "jan.csv").read_text() == "1\n"
    res = project.pedigree("get", "prices@v1:feb.csv", "-o", str(out / "f.csv"), env=env)
    assert res.code == 0, res.err
    assert (out / "f.csv").read_text() == "2\n"
