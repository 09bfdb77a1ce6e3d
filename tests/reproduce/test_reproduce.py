"""`pedigree reproduce` end to end: real git repositories, real subprocesses, every verdict."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import PYTHON, CliResult, Project, git

TRAIN = """\
import pathlib
import pedigree

p = pedigree.params(scale=2)
values = [float(x) for x in pathlib.Path("data/prices.csv").read_text().split()]
score = sum(values) * p.scale * FACTOR
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/model.txt").write_text(f"{score:.6f}\\n")
EXTRA
with pedigree.start_run() as run:
    run.log_metric("score", METRIC)
print(f"score {score:.6f}")
"""


def train(factor: str = "1", metric: str = "score", extra: str = "") -> str:
    return TRAIN.replace("FACTOR", factor).replace("METRIC", metric).replace("EXTRA", extra)


def setup(project: Project, script: str) -> None:
    project.write(".gitignore", "data/\nout/\n")
    project.write("data/prices.csv", "1\n2\n3.5\n")
    project.write("train.py", script)
    project.commit("train")


def record(project: Project, *extra: str) -> dict[str, Any]:
    res = project.pedigree(
        "run",
        "--param",
        "scale=3",
        "--seed",
        "7",
        "--input",
        "data/prices.csv",
        "--output",
        "out/model.txt",
        *extra,
        "--",
        PYTHON,
        "train.py",
    )
    assert res.code == 0, res.err
    return show(project, "last")


def show(project: Project, ref: str) -> dict[str, Any]:
    res = project.pedigree("show", ref, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]


def reproduce(project: Project, *args: str) -> tuple[CliResult, dict[str, Any]]:
    res = project.pedigree("reproduce", *args, "--json")
    return res, (json.loads(res.out) if res.out.strip() else {})


def tree_state(project: Project) -> tuple[str, str, list[str]]:
    status = git(project.root, "status", "--porcelain", "--ignored")
    worktrees = git(project.root, "worktree", "list", "--porcelain")
    files = sorted(
        f"{p.relative_to(project.root)}:{p.read_bytes()!r}"
        for p in project.root.rglob("*")
        if p.is_file() and ".git" not in p.parts and ".pedigree" not in p.parts
    )
    return status, worktrees, files


def test_identical_and_linked_to_the_original(any_project: Project) -> None:
    project = any_project
    setup(project, train())
    original = record(project)
    assert original["metrics"] == {"score": 19.5}
    assert [i["path"] for i in original["inputs"]] == ["data/prices.csv"]
    before = tree_state(project)
    res, out = reproduce(project, original["id"][:10])
    assert res.code == 0, res.err
    assert out["verdict"] == "identical"
    assert out["original"] == original["id"]
    assert out["outputs"] == [
        {
            "path": "out/model.txt",
            "original": original["outputs"][0]["digest"],
            "reproduced": original["outputs"][0]["digest"],
            "same": True,
        }
    ]
    assert out["stdout"]["same"] is True
    assert out["metrics"][0]["key"] == "score"
    assert out["metrics"][0]["same"] is True
    assert out["environment"]["same"] is True
    # The user's tree is untouched and git has forgotten the temporary worktree.
    assert tree_state(project) == before
    # The reproduction is a run of its own, linked both ways, with the same params and seed.
    rep = show(project, out["id"])
    assert rep["kind"] == "reproduction"
    assert rep["reproduction_of"] == {"original": original["id"], "verdict": "identical"}
    assert rep["params"] == {"scale": 3}
    assert rep["seed"] == 7
    assert rep["code"]["commit"] == original["code"]["commit"]
    assert [o["digest"] for o in rep["outputs"]] == [o["digest"] for o in original["outputs"]]
    again = show(project, original["id"])
    assert [(r["id"], r["verdict"]) for r in again["reproductions"]] == [(out["id"], "identical")]
    # show's text and lineage display it.
    assert "identical" in project.pedigree("show", original["id"]).out
    down = project.pedigree("lineage", original["id"], "--down")
    assert down.code == 0, down.err
    assert f"reproduced by run {out['id'][:8]}" in down.out
    assert "reproduction of" in down.out


def test_a_folder_output_compares_by_its_tree_digest(any_project: Project) -> None:
    project = any_project
    weights = 'pathlib.Path("out/weights").mkdir(exist_ok=True)\n' + (
        'pathlib.Path("out/weights/w.bin").write_bytes(bytes(range(256)))'
    )
    setup(project, train(extra=weights))
    res = project.pedigree("run", "--output", "out", "--", PYTHON, "train.py")
    assert res.code == 0, res.err
    original = show(project, "last")
    folder = next(o for o in original["outputs"] if o["path"] == "out")
    assert folder["kind"] == "dir"
    res, out = reproduce(project, "last")
    assert res.code == 0, res.err
    assert out["verdict"] == "identical", out["differences"]
    assert {"path": "out", "original": folder["digest"], "reproduced": folder["digest"],
            "same": True} in out["outputs"]  # fmt: skip
    assert all(o["same"] for o in out["outputs"])


def test_uncommitted_changes_are_reproduced_from_the_recorded_patch(project: Project) -> None:
    setup(project, train())
    project.write("train.py", train(factor="10"))  # not committed
    project.write("helper.txt", "an untracked file the run saw\n")
    original = record(project)
    assert original["code"]["dirty"] is True
    assert original["metrics"] == {"score": 195.0}
    git(project.root, "checkout", "--", "train.py")  # the working tree moves on
    (project.root / "helper.txt").unlink()
    res, out = reproduce(project, "last")
    assert res.code == 0, res.err
    assert out["verdict"] == "identical", out
    rep = show(project, out["id"])
    assert rep["code"]["patch_digest"] == original["code"]["patch_digest"]
    assert [u["path"] for u in rep["code"]["untracked"]] == ["helper.txt"]
    assert not (project.root / "helper.txt").exists()


def test_equivalent_when_only_bytes_differ_and_metrics_agree(project: Project) -> None:
    extra = (
        'pathlib.Path("out/model.txt").write_text(f"{score}\\n{__import__(\'time\').time_ns()}")'
    )
    setup(project, train(extra=extra))
    record(project)
    res, out = reproduce(project, "last")
    assert res.code == 0, res.err
    assert out["verdict"] == "equivalent"
    assert out["outputs"][0]["same"] is False
    assert out["metrics"][0]["within"] is True
    assert any("out/model.txt differs" in d for d in out["differences"])


def test_diverged_for_a_non_deterministic_script(project: Project) -> None:
    # Randomness that no seed controls: the score itself differs on every run.
    noisy = 'score + int.from_bytes(__import__("os").urandom(4), "big") / 2**32'
    setup(project, train(metric=noisy))
    record(project)
    res, out = reproduce(project, "last", "--rtol", "1e-6")
    assert res.code == 1, res.err
    assert out["verdict"] == "diverged"
    assert any(d.startswith("metric score:") for d in out["differences"])
    assert "diverged" in project.pedigree("show", out["original"]).out
    text = project.pedigree("reproduce", "last~", "--rtol", "1e-6")
    assert text.code == 3  # `last~` is not a run


def test_tolerance_turns_a_small_difference_into_equivalent(project: Project) -> None:
    noisy = 'score + int.from_bytes(__import__("os").urandom(4), "big") / 2**40'
    setup(project, train(metric=noisy))
    record(project)
    res, out = reproduce(project, "last", "--atol", "0.01", "--ignore-stdout")
    assert res.code == 0, res.err
    # Outputs equal and stdout not judged, but the metric moved (within tolerance): not identical.
    assert out["verdict"] == "equivalent"
    assert out["stdout"] is None
    (score,) = out["metrics"]
    assert not score["same"]
    assert score["within"]
    res, out = reproduce(project, "last", "--atol", "0", "--rtol", "0")
    assert res.code == 1
    assert out["verdict"] == "diverged"


def test_missing_commit_fails_naming_the_commit_and_remote(project: Project) -> None:
    setup(project, train())
    git(project.root, "remote", "add", "origin", "https://example.com/quant/research.git")
    project.write("train.py", train(factor="2"))
    project.commit("experiment")
    original = record(project)
    commit = original["code"]["commit"]
    # The commit disappears: history rewritten and garbage-collected.
    git(project.root, "reset", "-q", "--hard", "HEAD~1")
    git(project.root, "reflog", "expire", "--expire=now", "--all")
    git(project.root, "gc", "-q", "--prune=now")
    before = tree_state(project)
    res = project.pedigree("reproduce", original["id"])
    assert res.code == 2
    assert f"commit {commit} is not in the repository" in res.err
    assert "https://example.com/quant/research.git" in res.err
    assert "Traceback" not in res.err
    assert tree_state(project) == before
    # Nothing changed but the recorded (failed) reproduction.
    again = show(project, original["id"])
    assert [r["verdict"] for r in again["reproductions"]] == ["failed"]
    rep = show(project, again["reproductions"][0]["id"])
    assert rep["status"] == "failed"
    assert commit in rep["error"]


def test_missing_object_fails_naming_the_digest_and_path(project: Project) -> None:
    setup(project, train())
    original = record(project)
    digest = original["inputs"][0]["digest"]
    hexpart = digest.partition(":")[2]
    stored = project.root / ".pedigree" / "objects" / hexpart[:2] / hexpart[2:]
    if stored.exists():
        stored.chmod(0o644)
        stored.unlink()
    project.write("data/prices.csv", "corrected by the vendor\n")  # the bytes are gone
    res = project.pedigree("reproduce", "last")
    assert res.code == 2
    assert f"input data/prices.csv ({digest}) is missing from the object store" in res.err
    assert (project.root / "data/prices.csv").read_text() == "corrected by the vendor\n"


def test_bad_arguments_record_nothing(project: Project) -> None:
    setup(project, train())
    original = record(project)
    for args, code, message in (
        (("last", "--rtol", "abc"), 2, "'abc' is not a number"),
        (("last", "--atol", "-1"), 2, "must be a finite number >= 0"),
        (("0000ffff",), 3, "no run"),
        (("last", "--env", "docker"), 2, "'docker' is not one of"),
    ):
        res = project.pedigree("reproduce", *args)
        assert res.code == code, (args, res.err)
        assert message in res.err, (args, res.err)
    assert show(project, original["id"])["reproductions"] == []
    assert len(json.loads(project.pedigree("runs", "--json").out)) == 1


def test_inputs_come_back_from_the_store_when_the_project_changed(project: Project) -> None:
    setup(project, train())
    project.pedigree("data", "add", "data/prices.csv")
    original = record(project)
    project.write("data/prices.csv", "100\n")  # the vendor corrected the file
    res, out = reproduce(project, original["id"])
    assert res.code == 0, res.err
    assert out["verdict"] == "identical"
    assert (project.root / "data/prices.csv").read_text() == "100\n"


def test_a_program_git_ignores_runs_from_the_project(project: Project) -> None:
    """`venv/bin/python train.py`: the checkout has no venv/ (ignored), the project does."""
    setup(project, train())
    project.write(".gitignore", "data/\nout/\ntools/\n")
    project.commit("ignore tools")
    wrapper = project.write("tools/py", f'#!/bin/sh\nexec "{PYTHON}" "$@"\n')
    wrapper.chmod(0o755)
    res = project.pedigree("run", "--input", "data/prices.csv", "--", "tools/py", "train.py")
    assert res.code == 0, res.err
    res, out = reproduce(project, "last")
    assert res.code == 0, res.err
    assert out["verdict"] == "identical", out


@pytest.mark.slow
def test_rebuild_makes_a_virtualenv_with_the_recorded_packages(
    project: Project, tmp_path: Path
) -> None:
    """A tiny environment with one local package; pip installs it again from a wheelhouse."""
    wheelhouse = tmp_path / "wheels"
    make_wheel(wheelhouse, "tinydep", "1.2.0", "VALUE = 41\n")
    venv = tmp_path / "venv"
    subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True)
    pip_env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-q", "tinydep==1.2.0"],
        check=True,
        env={**project.env, **pip_env},
    )
    setup(project, train(extra="import tinydep\nscore += tinydep.VALUE"))
    res = project.pedigree(
        "run", "--input", "data/prices.csv", "--", str(venv / "bin/python"), "train.py"
    )
    assert res.code == 0, res.err
    original = show(project, "last")
    packages = dict(original["environment"]["packages"])
    assert packages["tinydep"] == "1.2.0"
    res = project.pedigree("reproduce", "last", "--env", "rebuild", "--json", env=pip_env)
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["verdict"] == "identical"
    assert out["environment"]["same"] is True, out["environment"]
    rep = show(project, out["id"])
    # It ran on the rebuilt interpreter, and that environment is the recorded one (same digest).
    assert rep["command"][0].startswith(str(project.root / ".pedigree/cache/envs"))
    assert rep["environment"]["digest"] == original["environment"]["digest"]
    assert dict(rep["environment"]["packages"])["tinydep"] == "1.2.0"
    # Without the package (and the cached environment) the rebuild fails, and says why.
    shutil.rmtree(project.root / ".pedigree/cache/envs")
    res = project.pedigree(
        "reproduce",
        "last",
        "--env",
        "rebuild",
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "empty")},
    )
    assert res.code == 2
    assert "pip could not install the recorded packages" in res.err


def make_wheel(folder: Path, name: str, version: str, code: str) -> Path:
    """A minimal pure-Python wheel, written by hand (no build backend, no network)."""
    import base64
    import hashlib
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": code.encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={h},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return wheel
