"""Metric histories: `pedigree metrics`, `show --json --history`, `pedigree.metric_history`."""

from __future__ import annotations

import json
import math
from typing import Any

from tests.conftest import Project

import pedigree


def test_every_point_comes_back(any_project: Project, cli: Any) -> None:
    with any_project.tracker().start_run(experiment="e") as run:
        for step, value in enumerate([0.5, 1.5, math.nan]):
            run.log_metric("pnl", value, step=step)
        run.log_metric("sharpe", 1.2)
        run_id = run.id
    res = cli("metrics", "last", "pnl", "--json")
    assert res.code == 0, res.err
    found = json.loads(res.out)
    assert list(found) == ["pnl"]
    assert [(p["step"], p["value"]) for p in found["pnl"]] == [(0, 0.5), (1, 1.5), (2, None)]
    assert all(p["time"] for p in found["pnl"])

    text = cli("metrics", run_id)
    assert text.code == 0, text.err
    assert "pnl  (3 points)" in text.out
    assert "sharpe  (1 points)" in text.out
    assert "nan" in text.out

    shown = json.loads(cli("show", "last", "--json", "--history").out)
    assert [p["value"] for p in shown["metric_history"]["pnl"]] == [0.5, 1.5, None]
    assert "metric_history" not in json.loads(cli("show", "last", "--json").out)

    assert [p["value"] for p in pedigree.metric_history("last", "pnl")] == [0.5, 1.5, None]

    missing = cli("metrics", "last", "nosuch")
    assert missing.code == 3
    assert "its metrics: pnl, sharpe" in missing.err
