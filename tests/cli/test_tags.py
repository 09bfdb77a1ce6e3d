"""``pedigree tag`` / ``untag``, ``run --tag``, tags in ``show`` and ``--where``, and the SDK's
``start_run(tags=...)``: the real CLI in subprocesses on a real project (SQLite)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any


def test_tag_untag_show_and_where(project: Any) -> None:
    r = project.pedigree("run", "-q", "--tag", "stage=research", "--", "python", "-c", "pass")
    assert r.code == 0, r.err
    first = json.loads(project.pedigree("show", "last", "--json").out)
    assert first["tags"] == {"stage": "research"}
    r = project.pedigree("run", "-q", "-t", "stage=research", "-t", "desk=rates", "--", "true")
    assert r.code == 0, r.err
    second = json.loads(project.pedigree("show", "last", "--json").out)["id"]

    r = project.pedigree("tag", first["id"][:13], "stage=candidate", "note=a=b")
    assert r.code == 0, r.err
    assert "tagged run" in r.out
    assert "stage=candidate" in r.out
    r = project.pedigree("tag", first["id"], "stage=candidate", "--json")
    assert json.loads(r.out)["changed"] == []  # already at that value: nothing recorded

    found = project.pedigree("runs", "--where", "tags.stage = 'candidate'", "--json")
    assert [run["id"] for run in json.loads(found.out)] == [first["id"]]
    found = project.pedigree("runs", "--where", "tags.desk is not null", "--json")
    assert [run["id"] for run in json.loads(found.out)] == [second]

    r = project.pedigree("untag", second, "desk", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["tags"] == {"stage": "research"}
    shown = json.loads(project.pedigree("show", second, "--json").out)
    assert [(h["key"], h["value"]) for h in shown["tag_history"]] == [
        ("desk", "rates"),
        ("stage", "research"),
        ("desk", None),
    ]
    text = project.pedigree("show", first["id"]).out
    assert "stage=candidate" in text

    # Every change is in the audit chain, with its actor, and the chain still verifies.
    log = project.tracker().audit.log(payload=True)
    tagged = [e for e in log if e["kind"] in ("run.tagged", "run.untagged")]
    assert [e["kind"] for e in tagged].count("run.tagged") == 5
    assert [e["payload"]["key"] for e in tagged if e["kind"] == "run.untagged"] == ["desk"]
    assert {e["run_id"] for e in tagged} == {first["id"], second}
    r = project.pedigree("audit", "verify")
    assert r.code == 0, r.out + r.err


def test_bad_tag_input_is_one_line_and_records_nothing(project: Any) -> None:
    assert project.pedigree("run", "-q", "--", "true").code == 0
    for args, code, message in [
        (("tag", "last", "stage"), 2, "KEY=VALUE"),
        (("tag", "last", "=x"), 2, "KEY=VALUE"),
        (("untag", "last", "stage"), 3, "no tag 'stage'"),
        (("tag", "ffffffff", "a=b"), 3, "no run"),
        (("run", "-q", "--tag", "oops", "--", "true"), 2, "KEY=VALUE"),
    ]:
        r = project.pedigree(*args)
        assert r.code == code, (args, r.err)
        assert r.err.startswith("error:")
        assert message in r.err
        assert len(r.err.strip().splitlines()) == 1, r.err
    runs = json.loads(project.pedigree("runs", "--json").out)
    assert len(runs) == 1
    assert runs[0]["tags"] == {}


def test_sdk_start_run_tags_in_process_and_under_pedigree_run(project: Any) -> None:
    script = project.write(
        "train.py",
        textwrap.dedent(
            """
            import pedigree
            with pedigree.start_run(experiment="e", tags={"stage": "research", "fold": 3}) as run:
                run.set_tag("stage", "candidate")
            """
        ),
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=project.root, env=project.env, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    in_process = json.loads(project.pedigree("show", "last", "--json").out)
    assert in_process["tags"] == {"fold": "3", "stage": "candidate"}

    r = project.pedigree("run", "-q", "--tag", "desk=rates", "--", "python", "train.py")
    assert r.code == 0, r.err
    launched = json.loads(project.pedigree("show", "last", "--json").out)
    assert launched["id"] != in_process["id"]
    assert launched["tags"] == {"desk": "rates", "fold": "3", "stage": "candidate"}
    stage = [h for h in launched["tag_history"] if h["key"] == "stage"]
    assert [h["value"] for h in stage] == ["research", "candidate"]


def test_help_has_examples(project: Any) -> None:
    for command in ("tag", "untag"):
        r = project.pedigree(command, "--help")
        assert r.code == 0
        assert "Examples:" in r.out


def test_runs_where_review(project: Any) -> None:
    ids = []
    for _ in range(3):
        assert project.pedigree("run", "-q", "--", "true").code == 0
        ids.append(json.loads(project.pedigree("show", "last", "--json").out)["id"])
    reviewer = {"PEDIGREE_USER": "reviewer"}
    assert project.pedigree("approve", ids[0], "--note", "ok", env=reviewer).code == 0
    assert project.pedigree("reject", ids[1], "--note", "look-ahead", env=reviewer).code == 0

    def found(where: str) -> list[str]:
        r = project.pedigree("runs", "--where", where, "--json")
        assert r.code == 0, r.err
        return sorted(run["id"] for run in json.loads(r.out))

    assert found("review = 'approved'") == [ids[0]]
    assert found("review = 'rejected'") == [ids[1]]
    assert found("review = 'none'") == [ids[2]]
    assert found("review in ('approved', 'rejected')") == sorted(ids[:2])
    r = project.pedigree("runs", "--where", "review = 'yes'")
    assert r.code == 2
    assert r.err.startswith("error: review is 'approved', 'rejected' or 'none'")
