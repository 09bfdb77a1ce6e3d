"""The selection context of a sweep trial (best of N, its rank, the other runs on the same data),
through the real CLI on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
from typing import Any

from tests.conftest import Project

PYTHON = sys.executable

SCRIPT = """\
import sys
import pedigree

p = pedigree.params(x=1)
with pedigree.start_run(experiment="ctx") as run:
    run.use("data.csv")
    if p.x == 3:
        sys.exit(3)
    run.log_metric("score", float(p.x))
"""


def _json(project: Project, *args: str) -> Any:
    res = project.pedigree(*args, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def _sweep(project: Project, values: str) -> dict[str, Any]:
    res = project.pedigree(
        "sweep", "--json", "-e", "ctx", "-p", f"x={values}", "--metric", "score",
        "--", PYTHON, "trial.py",
    )  # fmt: skip
    assert res.code in (0, 1), res.err  # a failed trial makes the sweep exit 1
    return json.loads(res.out)  # type: ignore[no-any-return]


def test_a_sweep_trial_shows_its_selection_context(any_project: Project) -> None:
    project = any_project
    project.write("trial.py", SCRIPT)
    project.write("data.csv", "a,b\n1,2\n")
    project.commit("trial")

    # One run before the sweep on the same data, one on other data: only the first counts.
    assert project.pedigree("run", "-q", "-e", "ctx", "--", PYTHON, "trial.py").code == 0
    project.write("data.csv", "a,b\n1,3\n")
    assert project.pedigree("run", "-q", "-e", "ctx", "--", PYTHON, "trial.py").code == 0
    project.write("data.csv", "a,b\n1,2\n")

    report = _sweep(project, "1,2,3,4")  # x=3 fails: counted as a trial, never ranked
    sweep_id = report["sweep"]["id"]
    by_x = {t["params"]["x"]: t["id"] for t in report["trials"]}
    best = _json(project, "show", by_x[4])
    assert best["selection"] == {
        "sweep": sweep_id,
        "experiment": "ctx",
        "metric": "score",
        "direction": "maximize",
        "trials": 4,
        "rank": 1,
        "selected": True,
        "other_runs": 1,
    }
    assert report["selection"] == best["selection"]  # sweep --json / sweep show --json
    second = _json(project, "show", by_x[2])["selection"]
    assert (second["rank"], second["selected"]) == (2, False)
    failed = _json(project, "show", by_x[3])["selection"]
    assert (failed["rank"], failed["selected"], failed["trials"]) == (None, False, 4)

    # A second sweep on the same data: the first sweep's 4 trials and the single run are others.
    again = _sweep(project, "5,6")
    assert again["selection"]["other_runs"] == 5
    assert again["selection"]["trials"] == 2
    # ... and the first sweep's winner now sees the second sweep's 2 trials too.
    assert _json(project, "show", by_x[4])["selection"]["other_runs"] == 3

    text = project.pedigree("show", by_x[4])
    assert text.code == 0, text.err
    assert "best of 4 trials by score (maximize), rank 1" in text.out
    assert "3 other runs of ctx on the same data" in text.out
    assert "rank 2 of 4 trials" in project.pedigree("show", by_x[2]).out

    shown = _json(project, "sweep", "show", sweep_id)
    assert shown["selection"]["sweep"] == sweep_id


def test_a_run_outside_a_sweep_has_no_selection_context(project: Project) -> None:
    project.write("trial.py", SCRIPT)
    project.write("data.csv", "a\n1\n")
    project.commit("trial")
    assert project.pedigree("run", "-q", "--", PYTHON, "trial.py").code == 0
    record = _json(project, "show", "last")
    assert record["selection"] is None
    assert "selected" not in project.pedigree("show", "last").out


def test_an_approval_of_a_sweep_trial_records_how_it_was_selected(project: Project) -> None:
    project.write("trial.py", SCRIPT)
    project.write("data.csv", "a,b\n1,2\n")
    project.commit("trial")
    report = _sweep(project, "1,2")
    best = report["trials"][0]["id"]
    context = _json(project, "show", best)["selection"]

    approved = _json(project, "approve", best, "-n", "checked")
    assert approved["selection"] == context

    # The audit chain holds it (what the reviewer was shown), and the text output says it.
    logged = [
        e for e in _json(project, "audit", "log", "--run", best) if e["kind"] == "approval.recorded"
    ]
    assert logged[0]["payload"]["selection"] == context
    text = project.pedigree("approve", report["trials"][1]["id"])
    assert text.code == 0, text.err
    assert "trial: rank 2 of 2 trials by score (maximize)" in text.out
    assert project.pedigree("audit", "verify").code == 0

    # A run outside a sweep: nothing to record.
    assert project.pedigree("run", "-q", "-e", "ctx", "--", PYTHON, "trial.py").code == 0
    assert _json(project, "approve", "last")["selection"] is None
