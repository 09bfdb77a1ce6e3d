"""A sweep's winner, bundled, reproduced from the bundle alone by a fresh Pedigree install."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.bundle.conftest import fresh_install
from tests.conftest import PYTHON, Project

BACKTEST = """\
import pathlib
import pedigree

p = pedigree.params(window=10)
prices = [float(x) for x in pathlib.Path("data/prices.csv").read_text().split()]
score = sum(prices[-p.window:]) / p.window
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/signal.txt").write_text(f"{p.window} {score:.6f}\\n")
with pedigree.start_run() as run:
    run.log_metric("score", score)
"""


@pytest.mark.slow
def test_a_sweep_winner_reproduces_identically_from_its_bundle(
    project: Project, tmp_path: Path
) -> None:
    project.write(".gitignore", "data/\nout/\n")
    project.write("data/prices.csv", "\n".join(str(i) for i in range(1, 41)) + "\n")
    project.write("backtest.py", BACKTEST)
    project.commit("backtest")
    res = project.pedigree(
        "sweep", "-e", "ma", "-p", "window=2,5,20", "--metric", "score",
        "--", PYTHON, "backtest.py", "--input", "data/prices.csv",
    )  # fmt: skip
    assert res.code == 0, res.out + res.err
    trials = [
        r
        for r in json.loads(project.pedigree("runs", "--json").out)
        if r["kind"] == "run" and r["parent"]
    ]
    assert len(trials) == 3
    winner = max(trials, key=lambda r: r["metrics"]["score"])
    assert winner["params"] == {"window": 2}

    out = tmp_path / "winner.pedigree"
    assert project.pedigree("bundle", winner["id"], "-o", str(out)).code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy = elsewhere / "winner.pedigree"
    shutil.copyfile(out, copy)
    shutil.rmtree(project.root)
    # Checked and re-run by a fresh Pedigree install in a new virtualenv.
    python = fresh_install(tmp_path / "fresh-venv")
    env = {k: v for k, v in project.env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def fresh(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(python), "-m", "pedigree.cli.main", *args]
        return subprocess.run(argv, cwd=elsewhere, env=env, capture_output=True, text=True,
                              timeout=300, check=False)  # fmt: skip

    assert fresh("bundle", "verify", str(copy)).returncode == 0
    res = fresh("reproduce", str(copy), "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(res.stdout)
    assert result["verdict"] == "identical", result
    assert result["original"] == winner["id"]
    shown = json.loads(project.pedigree("show", winner["id"], "--json", cwd=elsewhere).out)
    assert shown["params"] == {"window": 2}
    assert shown["parent"] == winner["parent"]
    assert [r["verdict"] for r in shown["reproductions"]] == ["identical"]
