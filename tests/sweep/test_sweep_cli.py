"""`pedigree sweep` and `pedigree sweep show`: real subprocesses, real trials, real store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime

import pytest
from tests.conftest import PYTHON, Project
from tests.sweep.helpers import runs_json, show_json, sweep_json


def test_a_grid_sweep_records_every_trial_as_a_child_of_the_sweep(trial_project: Project) -> None:
    project = trial_project
    report = sweep_json(
        project, "-e", "exp", "-p", "x=1,2", "-p", "y=a,b", "--metric", "score",
        "--", PYTHON, "trial.py", "--x={x}",
    )  # fmt: skip
    trials = report["trials"]
    # Best first by score (x * 2 for a, x * 3 for b).
    assert [(t["params"]["x"], t["params"]["y"]) for t in trials] == [
        (2, "b"), (2, "a"), (1, "b"), (1, "a"),
    ]  # fmt: skip
    assert [t["metrics"]["score"] for t in trials] == [6, 4, 3, 2]
    assert [t["rank"] for t in trials] == [1, 2, 3, 4]
    assert report["best"] == trials[0]["id"]
    assert report["counts"] == {
        "planned": 4, "recorded": 4, "finished": 4, "failed": 0, "not_run": 0,
    }  # fmt: skip
    sweep_id = report["sweep"]["id"]
    assert report["sweep"]["status"] == "finished"
    assert report["spec"]["params"] == {"x": [1, 2], "y": ["a", "b"]}
    assert report["spec"]["command"] == [PYTHON, "trial.py", "--x={x}"]

    sweep = show_json(project, sweep_id)
    assert (sweep["kind"], sweep["status"], sweep["experiment"]) == ("sweep", "finished", "exp")
    assert sweep["parent"] is None
    assert sweep["exit_code"] == 0
    assert sweep["command"][:2] == ["pedigree", "sweep"]

    children = runs_json(project, "--where", f"parent = '{sweep_id}'")
    assert sorted(r["id"] for r in children) == sorted(t["id"] for t in trials)
    for t in trials:
        rec = show_json(project, t["id"])
        assert rec["parent"] == sweep_id
        assert rec["kind"] == "run"
        assert rec["status"] == "finished"
        assert rec["experiment"] == "exp"  # the sweep's experiment wins over the script's
        x, y = rec["params"]["x"], rec["params"]["y"]
        assert rec["params"] == {"x": x, "y": y, "sleep": 0.0}
        assert rec["name"] == f"x={x} y={y}"
        assert rec["command"] == [PYTHON, "trial.py", f"--x={x}"]  # the placeholder filled
        assert rec["code"]["commit"] is not None
        logs = project.pedigree("logs", t["id"])
        assert logs.out == f"trial {x} {y} ['--x={x}']\n"
    assert {r["parent"] for r in runs_json(project) if r["kind"] == "run"} == {sweep_id}

    # `sweep show` prints the same report later, by id prefix or `last`.
    again = project.pedigree("sweep", "show", sweep_id[:13], "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out) == report
    assert json.loads(project.pedigree("sweep", "show", "last", "--json").out) == report
    table = project.pedigree("sweep", "show")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert "4 trials, grid over x (2) x y (2); by score, highest first" in lines[0]
    rows = [ln.split() for ln in lines if ln.split()[:1] in (["1"], ["2"], ["3"], ["4"])]
    assert [(r[3], r[4], r[5]) for r in rows] == [
        ("2", "b", "6"), ("2", "a", "4"), ("1", "b", "3"), ("1", "a", "2"),
    ]  # fmt: skip
    assert any(ln.startswith("best: ") and "(x=2 y=b): score 6" in ln for ln in lines)


def test_one_at_a_time_holds_the_others_at_their_base(trial_project: Project) -> None:
    report = sweep_json(
        trial_project, "--one-at-a-time", "-p", "x=2,1,4", "-p", "y=a,b", "-p", "sleep=0",
        "--metric", "score", "--minimize", "--", PYTHON, "trial.py",
    )  # fmt: skip
    points = sorted((t["params"]["x"], t["params"]["y"]) for t in report["trials"])
    assert points == [(1, "a"), (2, "a"), (2, "b"), (4, "a")]  # no second copy of the base
    assert report["spec"]["mode"] == "one-at-a-time"
    # --minimize: the lowest score first.
    assert [t["metrics"]["score"] for t in report["trials"]] == [2, 4, 6, 8]


def _intervals(project: Project, sweep_id: str) -> list[tuple[float, float]]:
    def ts(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    runs = runs_json(project, "--where", f"parent = '{sweep_id}'")
    return sorted((ts(r["started_at"]), ts(r["ended_at"])) for r in runs)


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = now = 0
    for _, delta in events:
        now += delta
        best = max(best, now)
    return best


def test_jobs_run_trials_in_parallel_and_no_more_than_asked(trial_project: Project) -> None:
    args = ("-p", "x=1,2,4,5", "-p", "sleep=0.6", "--", PYTHON, "trial.py")
    serial = sweep_json(trial_project, "-j", "1", *args)
    parallel = sweep_json(trial_project, "-j", "2", *args)
    assert _most_at_once(_intervals(trial_project, serial["sweep"]["id"])) == 1
    assert _most_at_once(_intervals(trial_project, parallel["sweep"]["id"])) == 2
    assert parallel["spec"]["jobs"] == 2
    assert parallel["counts"]["finished"] == 4


def test_a_failed_trial_does_not_stop_the_sweep(trial_project: Project) -> None:
    res = trial_project.pedigree(
        "sweep", "-p", "x=1,2,3,4", "--metric", "score", "--", PYTHON, "trial.py"
    )
    assert res.code == 1  # some trials failed
    # One line per trial as it ends; the failure says why, from the trial's stderr.
    assert "x=3: failed in" in res.err
    assert "(exit code 3: x=3 is not allowed)" in res.err
    assert res.err.count("pedigree: [") == 4
    rows = [ln.split() for ln in res.out.splitlines() if " finished " in ln]
    assert [(r[0], r[3]) for r in rows] == [("1", "4"), ("2", "2"), ("3", "1")]
    last_row = [ln for ln in res.out.splitlines() if " failed " in ln]
    assert len(last_row) == 1
    assert last_row[0].split()[0] == "-"
    assert "1 trial did not finish: pedigree logs" in res.out
    report = json.loads(trial_project.pedigree("sweep", "show", "--json").out)
    assert [t["status"] for t in report["trials"]] == ["finished"] * 3 + ["failed"]
    assert report["trials"][-1]["exit_code"] == 3
    assert report["sweep"]["status"] == "failed"
    assert report["sweep"]["error"] == "1 of 4 trials failed"


def test_an_unknown_parameter_stops_the_sweep_and_keeps_what_ran(trial_project: Project) -> None:
    res = trial_project.pedigree("sweep", "-q", "-p", "z=1,2,3", "-p", "x=1", "--",
                                 PYTHON, "trial.py")  # fmt: skip
    assert res.code == 2
    assert "error: z is not a parameter of `" in res.err
    assert "which declares sleep, x, y; the sweep stopped after 1 of 3 trials (kept)" in res.err
    assert "hint: check the spelling" in res.err
    report = json.loads(trial_project.pedigree("sweep", "show", "--json").out)
    assert [t["status"] for t in report["trials"]] == ["finished"]
    assert report["counts"]["not_run"] == 2
    assert report["sweep"]["status"] == "failed"
    assert "z is not a parameter" in report["sweep"]["error"]
    assert show_json(trial_project, report["sweep"]["id"])["exit_code"] == 2
    # A name used as a {placeholder} is a parameter of the command, declared or not.
    ok = trial_project.pedigree("sweep", "-q", "-p", "z=1,2", "--", PYTHON, "trial.py", "{z}")
    assert ok.code == 0, ok.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "error: nothing to sweep: give at least one --param"),
        (("-p", "x="), "error: --param 'x=' has no values"),
        (("-p", "x=1,,2"), "error: --param 'x=1,,2' has an empty value"),
        (("-p", "x=1", "-p", "x=2"), "error: --param x is given twice"),
        (("-p", "x=1,1"), "error: --param x lists 1 twice"),
        (("-p", "x=1", "-j", "0"), "error: -j/--jobs must be at least 1"),
        (("-p", "x=1", "--ray-address", "127.0.0.1:1"), "error: --ray-address needs --executor"),
    ],
)
def test_bad_input_is_one_line_and_records_nothing(
    trial_project: Project, args: tuple[str, ...], message: str
) -> None:
    res = trial_project.pedigree("sweep", *args, "--", PYTHON, "trial.py")
    assert res.code == 2
    assert res.err.splitlines()[0].startswith(message), res.err
    assert "Traceback" not in res.err
    assert runs_json(trial_project) == []


def test_a_missing_command_records_nothing(trial_project: Project) -> None:
    res = trial_project.pedigree("sweep", "-p", "x=1,2", "--", "no-such-program-here")
    assert res.code == 127
    assert res.err == "error: command not found: no-such-program-here\n"
    assert runs_json(trial_project) == []


def test_a_metric_no_trial_reported(trial_project: Project) -> None:
    res = trial_project.pedigree(
        "sweep", "-q", "-p", "x=1,2", "--metric", "sharpe", "--", PYTHON, "trial.py"
    )
    assert res.code == 2
    assert "error: no trial reported the metric 'sharpe'" in res.err
    assert "hint: the trials reported: args, score" in res.err
    report = json.loads(trial_project.pedigree("sweep", "show", "--json").out)
    assert [t["status"] for t in report["trials"]] == ["finished", "finished"]  # kept
    assert report["sweep"]["status"] == "failed"


def test_sweep_show_of_what_is_not_a_sweep(trial_project: Project) -> None:
    res = trial_project.pedigree("sweep", "show", "last")
    assert (res.code, res.err.splitlines()[0]) == (3, "error: there are no sweeps yet")
    report = sweep_json(trial_project, "-p", "x=1,2", "--", PYTHON, "trial.py")
    trial = report["trials"][0]["id"]
    res = trial_project.pedigree("sweep", "show", trial)
    assert res.code == 3
    assert res.err == (
        f"error: run {trial} is not a sweep\nhint: it is a trial of sweep {report['sweep']['id']}\n"
    )
    assert trial_project.pedigree("sweep", "show", "ffffffff").code == 3


def test_help_of_both_forms(project: Project) -> None:
    res = project.pedigree("sweep", "--help")
    assert res.code == 0
    assert "Usage: pedigree sweep [OPTIONS] COMMAND..." in res.out
    assert "Commands:\n  show  Print a sweep's table of trials again" in res.out
    res = project.pedigree("sweep", "show", "--help")
    assert res.code == 0
    assert res.out.startswith("Usage: pedigree sweep show [OPTIONS] [SWEEP]")
    assert "Examples:" in res.out


def test_interrupting_a_sweep_kills_its_running_trials(trial_project: Project) -> None:
    proc = subprocess.Popen(
        [PYTHON, "-m", "pedigree.cli.main", "sweep", "-q", "-j", "2", "-p", "x=1,2,4,5",
         "-p", "sleep=60", "--", PYTHON, "trial.py"],
        cwd=trial_project.root, env=trial_project.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    tracker = trial_project.tracker()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            running = tracker.runs(kinds=["run"], where="status = 'running'")
            if len(running) == 2:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the trials did not start")
        time.sleep(0.5)  # let the children reach their sleep
        # To the sweep alone (not its process group, as a terminal's Ctrl-C would): it must
        # stop its trials itself.
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "sweep interrupted; the trials that ran are kept" in err
    report = json.loads(trial_project.pedigree("sweep", "show", "--json").out)
    assert report["sweep"]["status"] == "killed"
    assert [t["status"] for t in report["trials"]] == ["killed", "killed"]
    assert report["counts"]["not_run"] == 2
    assert all(t["duration"] < 30 for t in report["trials"])
