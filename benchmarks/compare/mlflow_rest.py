"""mlflow_rest: the same real MLflow client against ``mlflow server`` and against Pedigree's
MLflow-compatible endpoint (``pedigree server``), both over SQLite, both on 127.0.0.1.

- log: runs x 50 params x 20 metrics x 100 steps, each run ``create_run``, one
  ``MlflowClient.log_batch`` call (which the client splits into MLflow's 1,000-entity requests)
  and ``set_terminated``; timed inside a client process (no interpreter start-up), per run.
  Issue 17's goal: Pedigree >= 5x faster.
- search: ``search_runs`` with ``metrics.sharpe > 1``, ``order_by metrics.sharpe DESC``, top 100,
  over the 10,000 runs of the ``search`` workload (the same runs loaded into both stores:
  MLflow's through its client API, Pedigree's bulk-loaded); every answer checked against the
  expected top 100. Goal: >= 20x faster.

Each server is a subprocess started once per case (not timed); the client sends the Pedigree
token (``MLFLOW_TRACKING_TOKEN``) to both (``mlflow server`` without auth ignores it).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .harness import Case, Side, Timed, alternate, expect
from .search import TOP, Dataset, load_pedigree, mlflow_db

WORKLOAD = "mlflow_rest"
PARAMS, METRICS, STEPS = 50, 20, 100

LOGGER = r"""
import json, sys, time
import mlflow
from mlflow.entities import Metric, Param
runs, params, metrics, steps = map(int, sys.argv[1:5])
client = mlflow.MlflowClient()
exp = client.get_experiment_by_name("bench-log")
eid = exp.experiment_id if exp else client.create_experiment("bench-log")
t0 = time.perf_counter()
for r in range(runs):
    rid = client.create_run(eid).info.run_id
    client.log_batch(
        rid,
        metrics=[Metric(f"m{k:02d}", (k + s) / (r + 1.0), 1_700_000_000_000 + s, s)
                 for k in range(metrics) for s in range(steps)],
        params=[Param(f"p{i:02d}", str(i * r)) for i in range(params)],
    )
    client.set_terminated(rid, "FINISHED")
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"the server did not answer: {log.read_text()[-2000:]}")


def _pedigree(*args: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "pedigree.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pedigree {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


@contextlib.contextmanager
def pedigree_server(root: Path, store: str | None = None) -> Iterator[tuple[str, str]]:
    """``pedigree server`` over a new project (or over ``store``); (url, a researcher's token)."""
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if store is not None:
        env["PEDIGREE_URI"] = store
    if not (root / ".pedigree").exists():
        _pedigree("init", cwd=root, env=env)
    _pedigree("users", "add", "bench-user", "--role", "researcher", cwd=root, env=env)
    token = json.loads(
        _pedigree("tokens", "create", "--user", "bench-user", "--json", cwd=root, env=env)
    )["token"]
    port = _free_port()
    args = ["server", "--port", str(port), "--log-level", "warning"]
    if store is not None:
        args += ["--store", store]
    log = root / "server.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pedigree.cli.main", *args],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + "/healthz", proc, log)
        yield url, token
    finally:
        proc.terminate()
        proc.wait(30)


@contextlib.contextmanager
def mlflow_server(root: Path, db: Path) -> Iterator[str]:
    """``mlflow server`` over the SQLite database ``db``, artifacts under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = root / "mlflow-server.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{db}",
                "--artifacts-destination",
                str(root / "artifacts"),
                "--workers",
                "1",
            ],
            cwd=root,
            env=dict(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + "/health", proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


def _log_side(name: str, url: str, token: str, runs: int, role: str) -> Side:
    def run() -> Timed:
        env = {**os.environ, "MLFLOW_TRACKING_URI": url, "MLFLOW_TRACKING_TOKEN": token}
        proc = subprocess.run(
            [sys.executable, "-c", LOGGER, str(runs), str(PARAMS), str(METRICS), str(STEPS)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{name} client failed: {proc.stderr.strip()[-1500:]}")
        seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
        return Timed(seconds / runs, runs)

    return Side(name, run=run, role=role)


def _search_side(name: str, url: str, data: Dataset, ids: list[str] | None, role: str) -> Side:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=url)
    experiment_ids = [e.experiment_id for e in client.search_experiments()]
    expected = data.expected()
    index = {rid: i for i, rid in enumerate(ids)} if ids is not None else None

    def run() -> list[Any]:
        return list(
            client.search_runs(
                experiment_ids,
                filter_string="metrics.sharpe > 1",
                order_by=["metrics.sharpe DESC"],
                max_results=TOP,
            )
        )

    def check(answer: list[Any]) -> None:
        if index is not None:
            got = [index.get(r.info.run_id, -1) for r in answer]
        else:
            got = [int(r.info.run_name[1:]) for r in answer]
        expect(got == expected, f"top {TOP} differs from the expected runs (first: {got[:3]})")
        first = data.rows[expected[0]]["metrics"]["sharpe"]
        expect(answer[0].data.metrics["sharpe"] == first, "sharpe value differs")

    return Side(name, run=run, check=check, role=role)


def run(
    work: Path,
    *,
    pairs: int,
    warmup: int,
    search_runs: int,
    search_pairs: int,
    log_runs: int,
    **_: object,
) -> list[Case]:
    root = work / WORKLOAD
    cases: list[Case] = []
    runs = max(log_runs, 1) * 20  # 100 runs at the default scale
    with (
        pedigree_server(root / "pedigree-log") as (purl, token),
        mlflow_server(root / "mlflow-log", root / "mlflow-log" / "mlflow.db") as murl,
    ):
        case = alternate(
            WORKLOAD,
            f"log {runs} runs x {PARAMS} params x {METRICS} metrics x {STEPS} steps",
            [
                _log_side("pedigree", purl, token, runs, "subject"),
                _log_side("mlflow", murl, token, runs, "anchor"),
            ],
            pairs=pairs,
            warmup=warmup,
            note="seconds per run through the same MLflow client: create_run, log_batch, "
            "set_terminated; pedigree server vs mlflow server, both SQLite",
            unit="run",
        )
        case.extra.update(runs=runs, params=PARAMS, metrics=METRICS, steps=STEPS)
        cases.append(case)
    uri, data = load_pedigree(root / "search", search_runs)
    db, _ = mlflow_db(data, root / "search")
    os.environ.setdefault("MLFLOW_TRACKING_TOKEN", "")
    with (
        pedigree_server(root / "pedigree-search", store=uri) as (purl, token),
        mlflow_server(root / "mlflow-search", db) as murl,
    ):
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
        case = alternate(
            WORKLOAD,
            f"search_runs over {search_runs:,} runs",
            [
                _search_side("pedigree", purl, data, data.ids, "subject"),
                _search_side("mlflow", murl, data, None, "anchor"),
            ],
            pairs=max(pairs, search_pairs),
            warmup=warmup,
            note="seconds per query through MlflowClient.search_runs: sharpe > 1, order by "
            "sharpe desc, top 100; pedigree server vs mlflow server, both SQLite",
            unit="query",
        )
        case.extra.update(runs=search_runs)
        cases.append(case)
    return cases
