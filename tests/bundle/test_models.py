"""A registered model version as a bundle's target: model:NAME@ALIAS and model:NAME/N."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from tests.bundle.conftest import verify_in_empty
from tests.conftest import PYTHON, Project

TRAIN = """\
import pathlib
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/model.txt").write_text("weights 0.25\\n")
"""


@pytest.fixture
def model_bundle(project: Project, tmp_path: Path) -> Path:
    project.write(".gitignore", "out/\n")
    project.write("train.py", TRAIN)
    project.commit("train")
    assert project.pedigree("run", "--", PYTHON, "train.py").code == 0
    res = project.pedigree("model", "register", "tsmom", "--from", "last:out/model.txt")
    assert res.code == 0, res.err
    assert project.pedigree("model", "alias", "tsmom", "staging", "1").code == 0
    out = tmp_path / "model.pedigree"
    res = project.pedigree("bundle", "model:tsmom@staging", "-o", str(out), "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["target"]["kind"] == "model"
    return out


def test_a_model_alias_bundle_proves_where_the_alias_points(
    project: Project, model_bundle: Path, tmp_path: Path
) -> None:
    names = zipfile.ZipFile(model_bundle).namelist()
    assert "records/model.json" in names
    assert "report.html" in names
    res = verify_in_empty(project, model_bundle, tmp_path)
    assert res.code == 0, res.out
    result = json.loads(res.out)
    assert result["checked"]["models"] == 1
    assert result["checked"]["runs"] == 1
    assert result["target"] == "model tsmom/1 (staging)"
    model = json.loads(zipfile.ZipFile(model_bundle).read("records/model.json"))
    assert (model["name"], model["version"], model["aliases"]) == ("tsmom", 1, {"staging": 1})
    # The same version by number bundles too.
    out = tmp_path / "v1.pedigree"
    assert project.pedigree("bundle", "model:tsmom/1", "-o", str(out)).code == 0
    assert verify_in_empty(project, out, tmp_path).code == 0


def test_a_forged_alias_fails_even_resealed(
    project: Project, model_bundle: Path, tmp_path: Path
) -> None:
    from pedigree.bundle import format as fmt

    with zipfile.ZipFile(model_bundle) as zin:
        manifest = json.loads(zin.read("manifest.json"))
        model = json.loads(zin.read("records/model.json"))
        members = {n: zin.read(n) for n in zin.namelist()}
    model["aliases"] = {"production": 1, "staging": 1}
    new = json.dumps(model).encode()
    for m in manifest["members"]:
        if m["path"] == "records/model.json":
            m.update(digest=fmt.digest_bytes(new), size=len(new))
    members["records/model.json"] = new
    members["manifest.json"] = fmt.manifest_bytes(fmt.seal(manifest))
    bad = tmp_path / "forged.pedigree"
    with zipfile.ZipFile(bad, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    res = verify_in_empty(project, bad, tmp_path)
    assert res.code == 5
    problems = json.loads(res.out)["problems"]
    assert {
        "part": "records/model.json",
        "problem": "its aliases differ from the model.alias_moved events",
    } in problems


def test_importing_a_model_bundle_brings_the_run_and_says_the_version_is_not_registered(
    project: Project, model_bundle: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    assert project.pedigree("init", cwd=other).code == 0
    res = project.pedigree("bundle", "import", str(model_bundle), "--json", cwd=other)
    assert res.code == 0, res.err
    summary = json.loads(res.out)
    assert len(summary["runs_imported"]) == 1
    assert summary["target_run"] == summary["runs_imported"][0]
    assert any("model version tsmom/1 is not registered here" in n for n in summary["notes"])
    assert project.pedigree("audit", "verify", cwd=other).code == 0


@pytest.mark.slow
def test_a_model_bundle_reproduces_the_run_that_made_it(
    project: Project, model_bundle: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = project.pedigree("reproduce", str(model_bundle), "--json", cwd=elsewhere)
    assert res.code == 0, res.out + res.err
    assert json.loads(res.out)["verdict"] == "identical"
