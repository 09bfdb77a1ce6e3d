"""`pedigree sweep assess`: a real sweep whose trials log returns, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from tests.conftest import Project
from tests.sweep.helpers import sweep_json

pytest.importorskip("numpy")

T = 64
SEEDS = (1, 2, 3, 4, 5)
FAILING = 5  # the trial with this seed exits non-zero: counted in N, without returns

TRIAL = f"""\
import math, random, sys
import pedigree

p = pedigree.params(seed=1, tag="a")
with pedigree.start_run() as run:
    if p.seed == {FAILING}:
        sys.exit(3)
    rng = random.Random(p.seed)
    r = [rng.gauss(0.0004 * p.seed, 0.01) for _ in range({T})]
    run.log_returns(r, periods_per_year=12)
    mean = sum(r) / len(r)
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / len(r))
    run.log_metric("sharpe", mean / sd)
    run.log_metric("neg", -p.seed)
"""

NO_RETURNS = """\
import pedigree

p = pedigree.params(seed=1)
with pedigree.start_run() as run:
    run.log_metric("sharpe", float(p.seed))
"""

FIELDS = (
    "trials",
    "effective_trials",
    "sharpe",
    "sharpe_annualized",
    "skew",
    "kurtosis",
    "psr",
    "sr0",
    "dsr",
    "pbo",
)


def _returns(seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(0.0004 * seed, 0.01) for _ in range(T)]


def _sweep(project: Project) -> dict[str, Any]:
    project.write("trial.py", TRIAL)
    project.commit("trial")
    seeds = ",".join(map(str, SEEDS))
    return sweep_json(
        project,
        "-e",
        "assess",
        "-p",
        f"seed={seeds}",
        "--metric",
        "sharpe",
        "--",
        "python",
        "trial.py",
        code=1,  # one trial failed
    )


def _assess(project: Project, *args: str, code: int = 0) -> dict[str, Any]:
    res = project.pedigree("sweep", "assess", *args, "--json")
    assert res.code == code, res.err
    return json.loads(res.out) if code == 0 else {"err": res.err}


def test_assess_matches_the_selection_core(any_project: Project) -> None:
    from pedigree.selection import assess

    report = _sweep(any_project)
    best = report["best"]
    seed_of = {t["id"]: t["params"]["seed"] for t in report["trials"]}
    got = _assess(any_project, "last", "--partitions", "4")
    for name in FIELDS:
        assert name in got, name
    assert got["sweep"] == report["sweep"]["id"]
    assert got["selected"] == best
    assert (got["metric"], got["direction"]) == ("sharpe", "maximize")
    assert got["trials"] == len(SEEDS)  # the failed trial counted
    assert got["failed_trials"] == 1
    assert got["trials_with_returns"] == len(SEEDS) - 1
    assert got["observations"] == T
    assert got["periods_per_year"] == 12  # as run.log_returns recorded it
    assert got["reading"].startswith("the probability that the true Sharpe ratio exceeds")
    assert "PBO" in got["pbo_reading"]
    assert got["effective_trials_estimator"]
    assert isinstance(got["pbo_logits"], list)
    assert 0 <= got["prob_oos_loss"] <= 1

    finished = [s for s in SEEDS if s != FAILING]
    expected = assess(
        [_returns(s) for s in finished],
        finished.index(seed_of[best]),
        periods_per_year=12,
        partitions=4,
        trials=len(SEEDS),
    )
    want = expected.to_dict()
    for name in FIELDS:
        assert got[name] == pytest.approx(want[name], rel=1e-9, abs=1e-12), name
    assert got["prob_oos_loss"] == pytest.approx(want["prob_oos_loss"], abs=1e-12)

    # the table, and the overrides of the defaults
    res = any_project.pedigree("sweep", "assess", "last", "--partitions", "4")
    assert res.code == 0, res.err
    for text in ("trials (N)", "effective trials", "DSR", "PBO", "probability of loss OOS"):
        assert text in res.out
    other = _assess(
        any_project, "last", "--partitions", "4", "--metric", "neg", "--periods-per-year", "252"
    )
    assert seed_of[other["selected"]] == 1  # -seed is highest for seed 1
    assert other["periods_per_year"] == 252


def test_across_experiment_counts_other_runs_on_the_same_data(project: Project) -> None:
    _sweep(project)
    for _ in range(2):  # two more runs of the experiment, on the same (no) input data
        res = project.pedigree("run", "-e", "assess", "--", "python", "trial.py")
        assert res.code == 0, res.err
    plain = _assess(project, "last", "--partitions", "4")
    wider = _assess(project, "last", "--partitions", "4", "--across", "experiment")
    assert plain["other_runs"] == 0
    assert (wider["other_runs"], wider["trials"]) == (2, len(SEEDS) + 2)
    assert wider["sr0"] > plain["sr0"]  # more trials, a higher bar
    assert wider["dsr"] < plain["dsr"]


def test_missing_returns_is_a_clear_error(project: Project) -> None:
    project.write("plain.py", NO_RETURNS)
    project.commit("plain")
    sweep_json(project, "-p", "seed=1,2,3", "--metric", "sharpe", "--", "python", "plain.py")
    err = _assess(project, "last", code=2)["err"]
    assert "logged no 'returns' history" in err
    assert "--returns-metric" in err
    assert "Traceback" not in err
    err = _assess(project, "last", "--returns-metric", "pnl", code=2)["err"]
    assert "logged no 'pnl' history" in err
    assert _assess(project, "0000dead", code=3)


def test_help_has_an_example(project: Project) -> None:
    res = project.pedigree("sweep", "assess", "--help")
    assert res.code == 0
    assert "Example" in res.out
    assert "--across" in res.out
