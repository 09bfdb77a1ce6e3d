"""Identity where people read the record: show, show --json, audit log, the report."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Project

from pedigree.context import Actor, Context


def test_show_audit_log_and_report_say_how_each_identity_was_known(
    project: Project,
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    tracker = project.tracker()
    run_id = tracker.create_run(experiment="ma", name="w20")
    tracker.end_run(run_id, "finished", exit_code=0)
    # A review recorded through the team server (its context's actor was authenticated).
    server = Context(tracker.ctx.project, actor=Actor("rita", authenticated=True))
    from pedigree.audit.approvals import review

    review(server, run_id, "approved", note="checked")

    shown = json.loads(cli("show", run_id, "--json").out)
    assert shown["identity"] == "self-declared"
    assert shown["recorded_by"] == tracker.user
    assert [(a["actor"], a["identity"]) for a in shown["approvals"]] == [("rita", "authenticated")]
    assert shown["approval"]["approved"] is True
    text = cli("show", run_id).out
    assert "(self-declared)" in text
    assert "by rita (authenticated)" in text

    log = json.loads(cli("audit", "log", "--run", run_id, "--json").out)
    assert [(e["kind"], e["identity"]) for e in log] == [
        ("run.created", "self-declared"),
        ("run.ended", "self-declared"),
        ("approval.recorded", "authenticated"),
    ]

    out = tmp_path / "report.html"
    res = cli("report", run_id, "-o", str(out))
    assert res.code == 0, res.err
    html = out.read_text()
    assert "(self-declared)" in html
    assert "rita" in html
    assert "(authenticated)" in html
