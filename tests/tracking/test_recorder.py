"""The one recording path: records (from the spool or the SDK in-process) become typed events."""

from __future__ import annotations

import time

import pytest
from tests.conftest import Project

from pedigree.errors import Conflict, InvalidValue, RunImmutable
from pedigree.tracking.recorder import Recorder


def _record(project: Project, run_id: str) -> dict:  # type: ignore[type-arg]
    return project.tracker().get_run(run_id)  # type: ignore[no-any-return]


def test_a_bad_record_does_not_cost_the_others(
    any_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker = any_project.tracker()
    run_id = tracker.create_run(experiment="e", params={"window": 5})
    recorder = Recorder(tracker.ctx, run_id)
    recorder.ingest(
        [
            {"t": "params", "values": {"": 1}},  # refused when the event is built
            {"t": "params", "values": {"window": 6}},  # refused by the store (a conflict)
            {"t": "params", "values": {"lag": 2}, "declared": ["lag"]},
            {"t": "metrics", "points": [["pnl", 0, 1.5, time.time()]]},
            {"t": "metrics", "points": [["pnl", 1, "high", time.time()]]},
            {"t": "seed", "seed": 7},
            {"t": "attach", "name": "named"},
            {"t": "use", "path": "data.csv"},
            {"t": "opens", "cwd": "/x", "flags": {}},
            {"t": "hello", "pid": 1},
            {"t": "status", "status": "failed", "error": "caught"},
            {"t": "unknown"},
        ]
    )
    err = capsys.readouterr().err
    assert err.count("pedigree: not recorded:") == 3
    rec = _record(any_project, run_id)
    assert rec["params"] == {"lag": 2, "window": 5}
    assert rec["metrics"] == {"pnl": 1.5}
    assert (rec["seed"], rec["name"]) == (7, "named")
    assert recorder.declared_params == {"lag"}
    assert recorder.declared == [("input", "data.csv")]
    assert len(recorder.files) == 1
    assert recorder.interpreter(99) == {"t": "hello", "pid": 1}
    assert recorder.reported_status == ("failed", "caught")


def test_fields_the_launch_fixed_are_not_overridden_by_the_script(project: Project) -> None:
    tracker = project.tracker()
    run_id = tracker.create_run(experiment="cli", name="from-cli")
    Recorder(tracker.ctx, run_id, fixed={"experiment"}).ingest(
        [{"t": "attach", "experiment": "script", "name": "from-script"}]
    )
    rec = _record(project, run_id)
    assert (rec["experiment"], rec["name"]) == ("cli", "from-script")


def test_in_process_a_refusal_raises(project: Project) -> None:
    tracker = project.tracker()
    run_id = tracker.create_run(experiment="e", params={"w": 1})
    recorder = Recorder(tracker.ctx, run_id)
    with pytest.raises(InvalidValue):
        recorder.take({"t": "metrics", "points": [["m", 0, "x", 1.0]]})
    with pytest.raises(Conflict):
        recorder.take({"t": "params", "values": {"w": 2}})
    recorder.finish("finished", capture=None, cwd=project.root)
    with pytest.raises(RunImmutable):
        recorder.take({"t": "seed", "seed": 1})
    assert _record(project, run_id)["status"] == "finished"


def test_log_params_validates_like_create_run(project: Project) -> None:
    tracker = project.tracker()
    with pytest.raises(InvalidValue, match="non-empty string"):
        tracker.create_run(experiment="e", params={"": 1})
    run_id = tracker.create_run(experiment="e")
    for bad in ({"": 1}, {"a\x00b": 1}, {"big": "x" * 100_000}):
        with pytest.raises(InvalidValue):
            tracker.log_params(run_id, bad)
    assert _record(project, run_id)["params"] == {}
