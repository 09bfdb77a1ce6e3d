"""Reads never write: a run whose recorder died shows as crashed, and only `pedigree doctor
--fix` records it so."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import Project

from pedigree.tracking.liveness import CRASHED_ERROR, STALE_SECONDS, recorder_stopped


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _head(project: Project) -> tuple[int, str]:
    with project.tracker().ctx.read() as reader:
        seq, digest = reader.conn.execute(
            sa.text('SELECT "seq", "digest" FROM "audit_head" WHERE "id" = 1')
        ).one()
    return int(seq), str(digest)


def _last_event(project: Project) -> Any:
    with project.tracker().ctx.read() as reader:
        return reader.conn.execute(
            sa.text('SELECT "actor", "kind", "run_id" FROM "audit_events" ORDER BY "seq" DESC')
        ).first()


@pytest.fixture
def dead_run(any_project: Project) -> tuple[Project, str]:
    """A run still recorded as running whose recorder (on this host) is gone."""
    tracker = any_project.tracker()
    run_id = tracker.create_run(experiment="e", name="lost", pid=_dead_pid())
    tracker.log_metrics(run_id, [["sharpe", 0, 1.5, time.time()]])
    return any_project, run_id


def test_a_run_whose_recorder_died_shows_as_crashed(dead_run: tuple[Project, str], cli) -> None:  # type: ignore[no-untyped-def]
    _project, run_id = dead_run
    rec = json.loads(cli("show", run_id, "--json").out)
    assert rec["status"] == "crashed"
    assert rec["error"] == CRASHED_ERROR
    assert rec["ended_at"] is None  # not recorded yet: doctor --fix records it
    (listed,) = json.loads(cli("runs", "--json").out)
    assert (listed["id"], listed["status"]) == (run_id, "crashed")
    assert "crashed" in cli("runs").out
    # --where reads the stored status: the run is still recorded as running.
    assert [
        r["id"] for r in json.loads(cli("runs", "--where", "status = 'running'", "--json").out)
    ] == [run_id]


@pytest.mark.parametrize(
    "command",
    [
        ("show", "{run}"),
        ("show", "{run}", "--json"),
        ("runs",),
        ("runs", "--json"),
        ("logs", "{run}"),
        ("lineage", "{run}"),
        ("report", "{run}", "-o", "{tmp}/report.html"),
        ("audit", "verify"),
    ],
)
def test_reads_append_nothing(
    dead_run: tuple[Project, str],
    command: tuple[str, ...],
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Any,
) -> None:
    project, run_id = dead_run
    before = _head(project)
    res = cli(*(a.format(run=run_id, tmp=tmp_path) for a in command))
    assert res.code == 0, res.err
    assert _head(project) == before


def test_doctor_lists_then_fixes_in_the_name_of_who_runs_it(
    dead_run: tuple[Project, str],
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, run_id = dead_run
    before = _head(project)
    res = cli("doctor")
    assert res.code == 1
    assert f"run {run_id} (e lost): recorder stopped" in res.out
    assert "pedigree doctor --fix" in res.out
    found = json.loads(cli("doctor", "--json").out)
    assert found["healthy"] is False
    assert found["fixed"] is False
    assert [r["id"] for r in found["stopped_runs"]] == [run_id]
    assert found["stopped_runs"][0]["pid"] is not None
    assert _head(project) == before  # looking is a read

    monkeypatch.setenv("PEDIGREE_USER", "ops")
    res = cli("doctor", "--fix")
    assert res.code == 0, res.err
    assert f"run {run_id} (e lost): recorded as crashed" in res.out
    assert _head(project)[0] == before[0] + 1
    event = _last_event(project)
    assert (event.actor, event.kind, event.run_id) == ("ops", "run.ended", run_id)
    rec = json.loads(cli("show", run_id, "--json").out)
    assert (rec["status"], rec["error"]) == ("crashed", CRASHED_ERROR)
    assert rec["ended_at"] is not None
    assert rec["metrics"] == {"sharpe": 1.5}
    # The stored status is crashed now, and nothing is left to fix.
    assert json.loads(cli("runs", "--where", "status = 'crashed'", "--json").out)[0]["id"] == run_id
    res = cli("doctor")
    assert (res.code, res.out) == (0, "nothing to fix\n")
    assert json.loads(cli("doctor", "--fix", "--json").out) == {
        "healthy": True,
        "fixed": True,
        "stopped_runs": [],
        "stale_spools": [],
    }


def test_a_live_recorder_is_left_alone(project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    tracker = project.tracker()
    run_id = tracker.create_run(experiment="e")  # this process: alive
    assert json.loads(cli("show", run_id, "--json").out)["status"] == "running"
    res = cli("doctor", "--fix")
    assert (res.code, res.out) == (0, "nothing to fix\n")
    assert json.loads(cli("show", run_id, "--json").out)["status"] == "running"


def test_a_spool_left_by_a_dead_recorder_is_found_and_removed(
    project: Project,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    tracker = project.tracker()
    run_id = tracker.create_run(experiment="e")
    tracker.end_run(run_id, "finished")
    running = tracker.create_run(experiment="e")
    spools = project.tracker().project.spool_dir
    old = time.time() - 2 * STALE_SECONDS
    for rid in (run_id, running):
        (spools / rid).mkdir(parents=True)
        (spools / rid / "stdout.log").write_text("x")
        os.utime(spools / rid, (old, old))
    found = json.loads(cli("doctor", "--json").out)
    assert found["stale_spools"] == [str(spools / run_id)]  # the running run's is in use
    assert cli("doctor", "--fix").code == 0
    assert not (spools / run_id).exists()
    assert (spools / running).exists()


def test_a_heartbeat_from_another_host_counts_until_it_is_stale(project: Project) -> None:
    tracker = project.tracker()
    run_id = tracker.create_run(experiment="e")
    tracker.store.heartbeat(run_id, host="elsewhere", pid=_dead_pid())
    with tracker.ctx.read() as reader:
        row = reader.run_rows([run_id])[run_id]
    assert row.live_host == "elsewhere"
    assert row.heartbeat_at is not None
    # Another host's pid cannot be checked from here: only the heartbeat's age tells.
    assert not recorder_stopped(row)
    assert recorder_stopped(row, now=row.heartbeat_at + STALE_SECONDS + 1)
    tracker.end_run(run_id, "finished")
    with tracker.ctx.read() as reader:
        row = reader.run_rows([run_id])[run_id]
    assert row.heartbeat_at is None
    assert not recorder_stopped(row, now=time.time() + 10 * STALE_SECONDS)
