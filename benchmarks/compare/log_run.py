"""log_run: N runs, each with 50 params, 20 metrics x 100 steps and 3 small files as artifacts.

Two variants, each the same on both sides:

- ``per-step``: one call per metric point (2,000 calls a run): ``run.log_metric(k, v, step=s)``
  vs ``mlflow.log_metric(k, v, step=s)``. Pedigree buffers the points in memory and writes them
  in one transaction when the run ends (or every 5,000 points / 5 s); MLflow writes and commits
  every point to SQLite as it is logged (its default, synchronous logging).
- ``batched``: the batch APIs. Pedigree: ``run.log_metrics({20 metrics}, step=s)``, 100 calls a
  run, on the same buffered path. MLflow: ``MlflowClient.log_batch`` with 1,000 points per call
  (its maximum), 2 calls a run, each one transaction. Params go in one call on both sides
  (``log_params``).

Artifacts: ``run.produce(path)`` (hashed with BLAKE3 and copied into the object store when the
run ends) vs ``mlflow.log_artifact(path)`` (copied into the local artifact root). Code capture
is on for both: each sample runs in a committed git repository, which both record.

Each sample is a fresh process (``logrun_worker.py``) with a fresh store; it logs an untimed
warm-up run, then times N runs; the figure is seconds per run. Afterwards every timed run is
read back from the SQLite file with plain SQL and checked: status finished, 50 params, 2,000
metric points whose values sum to the expected total, and the 3 artifacts with the right bytes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import blake3

from . import logrun_worker as worker
from .env import fresh_git_repo, settle, tool
from .harness import Case, Side, Timed, alternate, expect

WORKLOAD = "log_run"
POINTS = len(worker.METRICS) * worker.STEPS


def expected_sum(n: int) -> float:
    return math.fsum(
        worker.value(n, k, s) for s in range(worker.STEPS) for k in range(len(worker.METRICS))
    )


def _b3(path: Path) -> str:
    return blake3.blake3(path.read_bytes()).hexdigest()


class Project:
    """A fresh folder per sample: a git repository with the worker script and one store."""

    def __init__(self, root: Path, side: str, mlflow_template: Path | None) -> None:
        self.root = root
        self.side = side
        self.mlflow_template = mlflow_template

    def prepare(self) -> None:
        fresh_git_repo(self.root, {"logrun_worker.py": Path(worker.__file__).read_text()})
        if self.side == "pedigree":
            subprocess.run(
                [tool("pedigree") or "pedigree", "init"],
                cwd=self.root,
                check=True,
                capture_output=True,
            )
        else:
            assert self.mlflow_template is not None
            shutil.copy(self.mlflow_template, self.root / "mlflow.db")
        settle()  # the other side's writes are on disk before this side's sample

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.side == "mlflow":
            env["MLFLOW_TRACKING_URI"] = f"sqlite:///{self.root / 'mlflow.db'}"
        return env


def _worker(project: Project, mode: str, n: int) -> Timed:
    out = subprocess.run(
        [sys.executable, "logrun_worker.py", project.side, mode, str(n)],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{project.side} worker exited {out.returncode}: {out.stderr[-800:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return Timed(result["per_run_s"], {"ids": result["ids"], "root": project.root})


def check_pedigree(answer: dict[str, Any], n: int) -> None:
    root: Path = answer["root"]
    ids: list[str] = answer["ids"]
    expect(len(ids) == n, f"{len(ids)} runs recorded, expected {n}")
    db = sqlite3.connect(root / ".pedigree" / "pedigree.db")
    try:
        for i, rid in enumerate(ids):
            status = db.execute("select status from runs where id = ?", (rid,)).fetchone()
            expect(status == ("finished",), f"run {rid} status {status}")
            (params,) = db.execute(
                "select count(*) from params where run_id = ?", (rid,)
            ).fetchone()
            expect(params == len(worker.PARAMS), f"run {rid}: {params} params")
            count, total = db.execute(
                "select count(*), sum(value) from metrics where run_id = ?", (rid,)
            ).fetchone()
            expect(count == POINTS, f"run {rid}: {count} metric points, expected {POINTS}")
            expect(math.isclose(total, expected_sum(i)), f"run {rid}: metric values differ")
            outputs = dict(
                db.execute(
                    "select path, digest from run_io where run_id = ? and role = 'output'", (rid,)
                ).fetchall()
            )
            for name, _ in worker.ARTIFACTS:
                rel = f"arts/r{i}/{name}"
                want = "blake3:" + _b3(root / rel)
                expect(outputs.get(rel) == want, f"run {rid}: output {rel} is {outputs.get(rel)}")
    finally:
        db.close()
    # the bytes are in the object store, under the digest (read back and verified)
    from pedigree.digest import Digest
    from pedigree.objects import open_object_store

    objects = open_object_store(str(root / ".pedigree" / "objects"))
    last = len(ids) - 1
    for name, _ in worker.ARTIFACTS:
        path = root / f"arts/r{last}/{name}"
        stored = objects.get_bytes(Digest("blake3", _b3(path)))
        expect(stored == path.read_bytes(), f"stored bytes of {path} differ")


def check_mlflow(answer: dict[str, Any], n: int) -> None:
    root: Path = answer["root"]
    ids: list[str] = answer["ids"]
    expect(len(ids) == n, f"{len(ids)} runs recorded, expected {n}")
    db = sqlite3.connect(root / "mlflow.db")
    try:
        for i, rid in enumerate(ids):
            row = db.execute(
                "select status, artifact_uri from runs where run_uuid = ?", (rid,)
            ).fetchone()
            expect(row is not None and row[0] == "FINISHED", f"run {rid}: {row}")
            (params,) = db.execute(
                "select count(*) from params where run_uuid = ?", (rid,)
            ).fetchone()
            expect(params == len(worker.PARAMS), f"run {rid}: {params} params")
            count, total = db.execute(
                "select count(*), sum(value) from metrics where run_uuid = ?", (rid,)
            ).fetchone()
            expect(count == POINTS, f"run {rid}: {count} metric points, expected {POINTS}")
            expect(math.isclose(total, expected_sum(i)), f"run {rid}: metric values differ")
            folder = Path(row[1].removeprefix("file://"))
            for name, _ in worker.ARTIFACTS:
                stored = folder / name
                want = root / f"arts/r{i}/{name}"
                expect(
                    stored.is_file() and _b3(stored) == _b3(want),
                    f"run {rid}: artifact {name} missing or different",
                )
    finally:
        db.close()


def mlflow_template(work: Path) -> Path:
    """An empty MLflow database with its schema made (its migrations take seconds, untimed)."""
    path = work / "log_run" / "mlflow-template.db"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{path}"}
        code = "import mlflow; mlflow.MlflowClient().search_experiments()"
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return path


def run(
    work: Path, *, pairs: int, warmup: int, log_runs: int, log_runs_per_step: int, **_: object
) -> list[Case]:
    template = mlflow_template(work)
    cases = []
    for mode, n in (("per-step", log_runs_per_step), ("batched", log_runs)):
        sides = []
        for side in ("pedigree", "mlflow"):
            project = Project(work / "log_run" / f"{mode}-{side}", side, template)
            check = check_pedigree if side == "pedigree" else check_mlflow
            sides.append(
                Side(
                    side,
                    run=lambda p=project, m=mode, n=n: _worker(p, m, n),
                    check=lambda a, c=check, n=n: c(a, n),
                    prepare=project.prepare,
                    role="subject" if side == "pedigree" else "anchor",
                )
            )
        cases.append(
            alternate(
                WORKLOAD,
                f"{mode} ({n} run{'s' if n > 1 else ''} a sample)",
                sides,
                pairs=pairs,
                warmup=warmup,
                note=f"seconds per run; {POINTS:,} metric points a run",
                unit="run",
            )
        )
        cases[-1].extra["points_per_run"] = POINTS
        cases[-1].extra["runs_per_sample"] = n
    return cases
