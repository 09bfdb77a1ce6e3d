"""pedigree.runs_frame: ordinary runs by default, integer parameters kept integers."""

from __future__ import annotations

from tests.conftest import Project

import pedigree


def test_kinds_and_dtypes(any_project: Project) -> None:
    tracker = any_project.tracker()
    sweep = tracker.create_run(experiment="ma", kind="sweep", params={"grid": "w"})
    tracker.end_run(sweep, "finished")
    for params in ({"window": 10, "long": True}, {"window": 20, "long": False}, {"rate": 0.5}):
        run_id = tracker.create_run(experiment="ma", params=params)
        tracker.end_run(run_id, "finished")

    frame = pedigree.runs_frame(experiment="ma", order_by="params.window")
    assert len(frame) == 3
    assert set(frame["kind"]) == {"run"}
    assert str(frame["params.window"].dtype) == "Int64"
    assert frame["params.window"].dropna().tolist() == [10, 20]
    assert frame["params.window"].isna().sum() == 1
    assert str(frame["params.long"].dtype) == "boolean"
    assert str(frame["params.rate"].dtype) == "float64"

    everything = pedigree.runs_frame(experiment="ma", kind="all")
    assert sorted(everything["kind"]) == ["run", "run", "run", "sweep"]
    sweeps = pedigree.runs_frame(experiment="ma", kind=["sweep"])
    assert sweeps["id"].tolist() == [sweep]
