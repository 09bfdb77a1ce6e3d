"""Four eyes: ``[approvals] allow_self`` and ``required``, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import Project

from pedigree.config import Project as ConfigProject
from pedigree.context import Actor, Context
from pedigree.identity.policy import Policy, configured_policy, sync_policy


def _configure(project: Project, **keys: object) -> None:
    path = project.root / ".pedigree" / "config.toml"
    text = path.read_text()
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    path.write_text(text.replace("[approvals]\n", "[approvals]\n" + lines, 1))


def _run(project: Project, user: str, *args: str) -> str:
    res = project.pedigree(
        "run", *args, "--", "python", "-c", "print(1)", env={"PEDIGREE_USER": user}
    )
    assert res.code == 0, res.err
    show = project.pedigree("show", "last", "--json")
    return str(json.loads(show.out)["id"])


@pytest.mark.slow
def test_by_default_a_local_researcher_approves_their_own_run(project: Project) -> None:
    run = _run(project, "ann")
    res = project.pedigree("approve", run, env={"PEDIGREE_USER": "ann"})
    assert res.code == 0, res.err
    events = json.loads(project.pedigree("audit", "log", "--json").out)
    assert "policy.changed" not in [e["kind"] for e in events]  # nothing configured, nothing said


@pytest.mark.slow
def test_four_eyes_refuses_the_author_and_counts_distinct_approvers(project: Project) -> None:
    _configure(project, allow_self=False, required=2)
    run = _run(project, "ann")
    res = project.pedigree("approve", run, env={"PEDIGREE_USER": "ann"})
    assert res.code == 9
    assert res.err.startswith("error: ann created run ")
    assert "four eyes" in res.err
    assert len(res.err.strip().splitlines()) == 1
    # A rejection by the author is allowed.
    assert project.pedigree("reject", run, env={"PEDIGREE_USER": "ann"}).code == 0
    for reviewer in ("bob", "bob", "cy"):
        assert project.pedigree("approve", run, env={"PEDIGREE_USER": reviewer}).code == 0
    shown = json.loads(project.pedigree("show", run, "--json").out)
    # ann's latest word is a rejection: two approvals, still held back.
    assert shown["approval"] == {
        "approved": False,
        "approvals": 2,
        "required": 2,
        "approvers": ["bob", "cy"],
        "rejected_by": ["ann"],
    }
    assert shown["identity"] == "self-declared"
    assert shown["recorded_by"] == "ann"
    assert {a["identity"] for a in shown["approvals"]} == {"self-declared"}
    text = project.pedigree("show", run).out
    assert "not approved: 2 of 2 required" in text
    log = json.loads(project.pedigree("audit", "log", "--json").out)
    changes = [e for e in log if e["kind"] == "policy.changed"]
    assert len(changes) == 1  # recorded once, before the first approval made under it
    assert project.pedigree("audit", "verify").code == 0


@pytest.mark.slow
def test_the_producer_of_an_input_may_not_approve_its_consumer(project: Project) -> None:
    _configure(project, allow_self=False)
    project.write("make.py", "open('prices.csv', 'w').write('1\\n')\n")
    project.write("use.py", "print(open('prices.csv').read())\n")
    made = project.pedigree("run", "--", "python", "make.py", env={"PEDIGREE_USER": "ann"})
    assert made.code == 0, made.err
    used = project.pedigree("run", "--", "python", "use.py", env={"PEDIGREE_USER": "bob"})
    assert used.code == 0, used.err
    consumer = json.loads(project.pedigree("show", "last", "--json").out)["id"]
    res = project.pedigree("approve", consumer, env={"PEDIGREE_USER": "ann"})
    assert res.code == 9, res.err
    assert "ann recorded run " in res.err
    assert f"which run {consumer} read" in res.err
    assert project.pedigree("approve", consumer, env={"PEDIGREE_USER": "cy"}).code == 0


@pytest.mark.slow
def test_bad_policy_values_are_one_line_errors(project: Project) -> None:
    _configure(project, required=0)
    run = _run(project, "ann")
    res = project.pedigree("approve", run, env={"PEDIGREE_USER": "bob"})
    assert res.code == 2
    assert "[approvals] required" in res.err
    assert "Traceback" not in res.err


def test_defaults_follow_the_kind_of_identity(tmp_path: Path) -> None:
    empty = ConfigProject(tmp_path, {})
    assert configured_policy(empty, authenticated=False) == Policy(True, 1)
    assert configured_policy(empty, authenticated=True) == Policy(False, 1)
    set_ = ConfigProject(tmp_path, {"approvals": {"allow_self": True, "required": 3}})
    assert configured_policy(set_, authenticated=True) == Policy(True, 3)


def test_sync_policy_records_only_changes(project: Project) -> None:
    from pedigree.config import find_project

    ctx = Context(find_project(project.root), actor=Actor("server", authenticated=True))
    assert sync_policy(ctx, Policy(False, 1)) is True
    assert sync_policy(ctx, Policy(False, 1)) is False
    assert sync_policy(ctx, Policy(False, 2)) is True
    with ctx.read() as reader:
        row = reader.policy()
    assert row is not None
    assert row.number == 2
    assert row.policy == {"allow_self": False, "required": 2}
    log = json.loads(project.pedigree("audit", "log", "--json").out)
    assert [e["identity"] for e in log if e["kind"] == "policy.changed"] == ["authenticated"] * 2


def test_who_added_a_dataset_version_may_not_approve_it(
    project: Project,
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _configure(project, allow_self=False)
    project.write("prices.csv", "1\n")
    monkeypatch.setenv("PEDIGREE_USER", "ann")
    assert cli("data", "add", "prices.csv", "--name", "prices").code == 0
    res = cli("approve", "prices@v1")
    assert res.code == 9
    assert res.err.strip().startswith("error: ann added prices@v1 and cannot approve it")
    monkeypatch.setenv("PEDIGREE_USER", "bob")
    assert cli("approve", "prices@v1").code == 0
