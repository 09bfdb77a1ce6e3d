"""run.log_artifact and run.log_model, in-process and under `pedigree run`; a sweep trial's
registration keeps how it was selected."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from tests.conftest import Project

import pedigree

PYTHON = sys.executable

SCRIPT = """\
import pedigree

p = pedigree.params(x=1)
with pedigree.start_run(experiment="ctx") as run:
    run.use("data.csv")
    with open("model.bin", "w") as f:
        f.write(f"weights {p.x}")
    run.log_model("model.bin", "ctxm")
    run.log_artifact("data.csv")
    run.log_metric("score", float(p.x))
"""


def _json(project: Project, *args: str) -> Any:
    res = project.pedigree(*args, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def test_log_model_in_process(any_project: Project) -> None:
    tracker = any_project.tracker()
    any_project.write("out/model.bin", "w1")
    any_project.write("out/report.txt", "r")
    with tracker.start_run(experiment="e") as run:
        run.log_model(any_project.root / "out" / "model.bin", "m")
        run.log_artifact(any_project.root / "out" / "report.txt")
        run_id = run.id
    shown = tracker.models.show("m/1")
    assert (shown.version.run_id, shown.version.path) == (run_id, "out/model.bin")
    assert pedigree.get(f"{run_id}:out/report.txt").read_text() == "r"
    assert pedigree.load_model("m/1").read_text() == "w1"


def test_log_model_refuses_a_bad_name(project: Project) -> None:
    with project.tracker().start_run(experiment="e") as run, pytest.raises(pedigree.PedigreeError):
        run.log_model("x.bin", "a@b")


def test_sweep_trials_register_with_their_selection_context(project: Project) -> None:
    project.write("trial.py", SCRIPT)
    project.write("data.csv", "a,b\n1,2\n")
    project.commit("trial")
    res = project.pedigree(
        "sweep", "--json", "-e", "ctx", "-p", "x=1,2", "--metric", "score", "--", PYTHON, "trial.py"
    )
    assert res.code == 0, res.err
    report = json.loads(res.out)
    best = report["trials"][0]["id"]
    versions = {v["run_id"]: v for v in _json(project, "model", "history", "ctxm")}
    assert set(versions) == {t["id"] for t in report["trials"]}
    number = versions[best]["version"]
    shown = _json(project, "model", "show", f"ctxm/{number}")
    assert shown["selection"]["sweep"] == report["sweep"]["id"]
    assert shown["upstream"]["params"] == {"x": 2}
    text = project.pedigree("model", "show", f"ctxm/{number}")
    assert "selected:" in text.out

    # Registered again after the sweep, it records the full context, as `show` has it.
    again = _json(project, "model", "register", "ctxm", "--from", f"{best}:model.bin")
    assert again["selection"] == _json(project, "show", best)["selection"]
    assert project.pedigree("audit", "verify").code == 0
