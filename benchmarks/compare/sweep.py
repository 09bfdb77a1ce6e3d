"""sweep: 40 trivial trials; Pedigree's own overhead per trial.

MLflow and DVC have no sweep runner of their own to compare with (MLflow leaves it to Hyperopt
or Optuna, DVC's ``exp run --queue`` needs a pipeline), so the reference is the same command
run with plain ``subprocess``, one after the other: ``python trial.py I`` for I = 0..39, where
``trial.py`` prints I*I and does not import Pedigree. Pedigree's side is
``pedigree sweep -e bench -p i=0,...,39 -j 1 --json -- python trial.py {i}``: every trial a run
with its params, code, environment, stdout and file capture recorded, all children of one sweep
run. The figure is seconds per trial; the difference per round is Pedigree's overhead per trial
(it includes the ``pedigree sweep`` start and its closing table, spread over the trials).
``benchmarks/bench_sweep.py`` measures the ``-j 2`` speed-up on longer trials.

Checked on both sides: every trial ran once with its own I and printed I*I (for Pedigree, read
back from the store: 40 finished trials under the sweep, each with ``params.i`` and its stored
stdout).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .env import fresh_git_repo, tool
from .harness import Case, Side, Timed, alternate, expect, not_run

WORKLOAD = "sweep"
TRIAL = "import sys\ni = int(sys.argv[1])\nprint(i * i)\n"


def _pedigree(root: Path, trials: int) -> Timed:
    argv = [
        tool("pedigree") or "pedigree",
        "sweep",
        "-q",
        "--json",
        "-e",
        "bench",
        "-p",
        "i=" + ",".join(map(str, range(trials))),
        "-j",
        "1",
        "--",
        sys.executable,
        "trial.py",
        "{i}",
    ]
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=root, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"pedigree sweep exited {out.returncode}: {out.stderr[-800:]}")
    return Timed(seconds / trials, json.loads(out.stdout))


def _plain(root: Path, trials: int) -> Timed:
    t0 = time.perf_counter()
    outs = [
        subprocess.run(
            [sys.executable, "trial.py", str(i)], cwd=root, capture_output=True, text=True
        )
        for i in range(trials)
    ]
    seconds = time.perf_counter() - t0
    return Timed(seconds / trials, [(o.returncode, o.stdout) for o in outs])


def check_plain(answer: list[tuple[int, str]], trials: int) -> None:
    expect(len(answer) == trials, f"{len(answer)} trials ran")
    for i, (code, stdout) in enumerate(answer):
        expect(code == 0 and stdout == f"{i * i}\n", f"trial {i}: exit {code}, {stdout!r}")


def check_pedigree(root: Path, report: dict[str, Any], trials: int) -> None:
    from pedigree import api
    from pedigree.api import Tracker

    counts = report["counts"]
    expect(counts["finished"] == trials == counts["planned"], f"sweep counts {counts}")
    rows = report["trials"]
    expect(sorted(int(t["params"]["i"]) for t in rows) == list(range(trials)), "trial params")
    tracker = Tracker.from_env(root)
    try:
        stored = tracker.runs(parent=report["sweep"]["id"])
        expect(len(stored) == trials, f"{len(stored)} trials stored under the sweep")
        for rec in stored:
            i = int(rec["params"]["i"])
            run = tracker.get_run(rec["id"])
            expect(run["status"] == "finished" and run["exit_code"] == 0, f"trial {i} status")
            out = tracker.read_blob(run["stdout_digest"]).decode()
            expect(out == f"{i * i}\n", f"trial {i} stored stdout {out!r}")
    finally:
        api.close_all()


def available() -> str | None:
    exe = tool("pedigree")
    if exe is None:
        return "pedigree is not installed"
    out = subprocess.run([exe, "sweep", "--help"], capture_output=True, text=True)
    if out.returncode != 0:
        return f"`pedigree sweep` is not available: {(out.stderr or out.stdout).strip()[-300:]}"
    return None


def run(work: Path, *, pairs: int, warmup: int, sweep_trials: int, **_: object) -> list[Case]:
    name = f"{sweep_trials} trivial trials, one at a time"
    missing = available()
    if missing:
        return [not_run(WORKLOAD, name, ["pedigree sweep", "plain subprocess"], missing)]
    root = fresh_git_repo(work / "sweep", {"trial.py": TRIAL})
    exe = tool("pedigree") or "pedigree"
    subprocess.run([exe, "init"], cwd=root, check=True, capture_output=True)
    case = alternate(
        WORKLOAD,
        name,
        [
            Side(
                "pedigree sweep",
                run=lambda: _pedigree(root, sweep_trials),
                check=lambda a: check_pedigree(root, a, sweep_trials),
                role="subject",
            ),
            Side(
                "plain subprocess",
                run=lambda: _plain(root, sweep_trials),
                check=lambda a: check_plain(a, sweep_trials),
                role="reference",
            ),
        ],
        pairs=pairs,
        warmup=warmup,
        note="seconds per trial; Pedigree's overhead per trial = the difference",
        unit="trial",
    )
    case.extra.update(trials=sweep_trials, jobs=1)
    return [case]
