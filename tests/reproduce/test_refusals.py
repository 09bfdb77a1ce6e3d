"""`pedigree reproduce` refuses, before starting anything, what cannot be re-run, and
`--timeout` stops a re-run that would hang (real runs, real subprocesses)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from tests.conftest import PYTHON, Project

from pedigree.reproduce.rerunnable import unrunnable

IN_PROCESS = """\
import pedigree
with pedigree.start_run(experiment="adhoc") as run:
    run.log_metric("x", 1.0)
"""


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ([PYTHON], "interactive Python session"),
        ([PYTHON, ""], "interactive Python session"),
        (["python3", "-u"], "interactive Python session"),
        (["python", "-i", "x.py"], "interactive Python session"),
        (["python", "-"], "standard input (python -)"),
        (["python", "-c"], "python -c, whose code was not recorded"),
        (["python", "-m", "ipykernel_launcher", "-f", "/r/kernel-9.json"], "Jupyter kernel"),
        (["/v/bin/python", "/v/lib/ipykernel_launcher.py", "-f", "k.json"], "Jupyter kernel"),
        (["ipython"], "interactive ipython session"),
        (["jupyter", "console"], "interactive Python session"),
        (["bash"], "interactive bash session"),
        (["sh", "-s"], "interactive sh session"),
    ],
)
def test_commands_that_cannot_run_again(command: list[str], why: str) -> None:
    reason = unrunnable(command)
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize(
    "command",
    [
        ["python", "train.py", "--window", "50"],
        ["python", "-W", "ignore", "-X", "dev", "train.py"],
        ["python", "-Wignore", "train.py"],
        ["python", "-c", "print(1)"],
        ["python", "-m", "mypackage.train"],
        ["sh", "-c", "awk 1 in.csv > out.csv"],
        ["bash", "run.sh"],
        ["./train.sh"],
        ["papermill", "in.ipynb", "out.ipynb"],
    ],
)
def test_commands_that_can(command: list[str]) -> None:
    assert unrunnable(command) is None


def run_count(project: Project) -> int:
    res = project.pedigree("runs", "--json")
    assert res.code == 0, res.err
    return len(json.loads(res.out))


def refused(project: Project, needle: str) -> None:
    before = run_count(project)
    assert before >= 1
    res = project.pedigree("reproduce", "last")
    assert res.code == 2, res.err
    assert res.err.startswith("error: run ")
    assert needle in res.err
    assert len(res.err.strip().splitlines()) == 1
    assert "Traceback" not in res.err
    assert run_count(project) == before  # nothing was started or recorded


def test_a_run_from_python_reading_stdin_is_refused(project: Project) -> None:
    proc = subprocess.run(
        [PYTHON, "-"], input=IN_PROCESS, cwd=project.root, env=project.env, text=True
    )
    assert proc.returncode == 0
    refused(project, "standard input (python -)")


def test_a_run_under_pedigree_run_python_dash_is_refused(project: Project) -> None:
    proc = subprocess.run(
        [PYTHON, "-m", "pedigree.cli.main", "run", "-q", PYTHON, "-"],
        input="print('hi')\n",
        cwd=project.root,
        env=project.env,
        text=True,
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hi\n"
    refused(project, "standard input (python -)")


def test_a_run_from_a_kernel_is_refused(project: Project) -> None:
    kernel = "import sys\nsys.argv = ['/k/ipykernel_launcher.py', '-f', '/k/kernel-1.json']\n"
    proc = subprocess.run(
        [PYTHON, "-c", kernel + IN_PROCESS], cwd=project.root, env=project.env, text=True
    )
    assert proc.returncode == 0
    refused(project, "Jupyter kernel")


SLOW = """\
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # it must then be killed
print("started", flush=True)
time.sleep(float(os.environ.get("SLEEP_FOR", "0")))
print("done")
"""


@pytest.mark.slow
def test_timeout_stops_a_rerun_that_would_hang(project: Project) -> None:
    project.write("slow.py", SLOW)
    project.commit("slow")
    res = project.pedigree("run", "-q", PYTHON, "slow.py")
    assert res.code == 0, res.err
    started = time.monotonic()
    res = project.pedigree(
        "reproduce", "last", "--timeout", "1", "--json", env={"SLEEP_FOR": "120"}
    )
    took = time.monotonic() - started
    assert res.code == 2, res.err
    out = json.loads(res.out)
    assert out["verdict"] == "failed"
    assert "killed" in out["reason"]
    assert took < 60
    rep = json.loads(project.pedigree("show", out["id"], "--json").out)
    assert rep["status"] == "killed"
    assert rep["error"] == "timed out after 1 s"


def test_a_bad_timeout_is_a_usage_error(project: Project) -> None:
    res = project.pedigree("reproduce", "last", "--timeout", "0")
    assert res.code == 2
    assert "Traceback" not in res.err
