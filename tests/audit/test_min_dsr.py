"""`[approvals] min_dsr`: a sweep winner below it needs --override, which the log keeps."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.conftest import Project
from tests.sweep.test_assess import FAILING, _sweep

pytest.importorskip("numpy")


def _policy(project: Project, min_dsr: float) -> None:
    config = project.root / ".pedigree" / "config.toml"
    text = config.read_text()
    assert "# min_dsr = 0.95" in text  # the template documents it
    config.write_text(text.replace("# min_dsr = 0.95", f"min_dsr = {min_dsr}"))


def _json(project: Project, *args: str) -> Any:
    res = project.pedigree(*args, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def test_a_winner_below_min_dsr_needs_an_override_the_log_records(any_project: Project) -> None:
    report = _sweep(any_project)
    best = report["best"]
    assessed = _json(any_project, "sweep", "assess", "last")
    assert assessed["dsr"] < 1.0
    _policy(any_project, 1.0)

    refused = any_project.pedigree("approve", best, "--note", "looks good")
    assert refused.code == 4, refused.err
    assert "min_dsr" in refused.err
    assert "--override" in refused.err
    assert f"{assessed['dsr']:.4f}" in refused.err
    assert "Traceback" not in refused.err
    kinds = [e["kind"] for e in _json(any_project, "audit", "log", "--run", best)]
    assert "approval.recorded" not in kinds  # a refusal writes nothing

    # a rejection, and a trial that is not the winner, are not the policy's business
    other = next(
        t["id"] for t in report["trials"] if t["id"] != best and t["params"]["seed"] != FAILING
    )
    assert any_project.pedigree("approve", other).code == 0
    assert any_project.pedigree("reject", best, "-n", "not yet").code == 0

    approval = _json(
        any_project, "approve", best, "--note", "looks good", "--override", "paper trading only"
    )
    assert approval["override"]["reason"] == "paper trading only"
    assert approval["override"]["min_dsr"] == 1.0
    assert approval["override"]["dsr"] == pytest.approx(assessed["dsr"])
    assert approval["override"]["sweep"] == report["sweep"]["id"]
    assert "paper trading only" in approval["note"]

    events = _json(any_project, "audit", "log", "--run", best)
    recorded = [e for e in events if e["kind"] == "approval.recorded"]
    payload = recorded[-1]["payload"]
    assert payload["override"]["reason"] == "paper trading only"
    assert payload["override"]["policy"] == "approvals.min_dsr"
    reviews = _json(any_project, "show", best)["approvals"]
    assert reviews[-1]["decision"] == "approved"
    assert "override of [approvals] min_dsr 1" in reviews[-1]["note"]
    assert "paper trading only" in reviews[-1]["note"]
    shown = any_project.pedigree("show", best)
    assert "paper trading only" in shown.out
    assert any_project.pedigree("audit", "verify").code == 0


def test_a_winner_above_min_dsr_is_approved_without_override(project: Project) -> None:
    report = _sweep(project)
    _policy(project, 0.0)
    res = project.pedigree("approve", report["best"], "--override", "just in case")
    assert res.code == 0, res.err
    assert "--override not needed" in res.err
    reviews = _json(project, "show", report["best"])["approvals"]
    assert reviews[-1]["note"] is None


def test_a_winner_without_returns_is_refused_and_a_bad_setting_is_an_error(
    project: Project,
) -> None:
    from tests.sweep.helpers import sweep_json
    from tests.sweep.test_assess import NO_RETURNS

    project.write("plain.py", NO_RETURNS)
    project.commit("plain")
    report = sweep_json(project, "-p", "seed=1,2", "--metric", "sharpe", "--", "python", "plain.py")
    _policy(project, 0.5)
    res = project.pedigree("approve", report["best"])
    assert res.code == 4, res.err
    assert "cannot be computed" in res.err
    ok = project.pedigree("approve", report["best"], "--override", "no returns: a sanity run")
    assert ok.code == 0, ok.err

    config = project.root / ".pedigree" / "config.toml"
    config.write_text(config.read_text().replace("min_dsr = 0.5", "min_dsr = 2"))
    bad = project.pedigree("approve", report["best"])
    assert bad.code == 2
    assert "min_dsr" in bad.err
