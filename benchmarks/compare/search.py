"""search: a metric filter plus an order-by, top 100, over 10,000 runs (and 100,000 for Pedigree).

The query, the same on both sides: runs with ``sharpe > 1``, ordered by ``sharpe`` descending,
the first 100, over every experiment:

- Pedigree: ``Tracker.runs(where="metrics.sharpe > 1", order_by="-metrics.sharpe", limit=100)``
  (what ``pedigree.runs(...)`` and ``pedigree runs --json`` call);
- MLflow: ``MlflowClient().search_runs(experiment_ids, filter_string="metrics.sharpe > 1",
  order_by=["metrics.sharpe DESC"], max_results=100)`` (its client API; ``mlflow.search_runs``
  adds a pandas conversion on top).

The data: ``benchmarks/bench_foundation.py``'s ``populate`` bulk-loads Pedigree's tables (3
experiments, 2 params and 4 metrics a run, from a seeded generator). The same runs, with the same
values, are then loaded into MLflow through its own client API (``create_run``, ``log_batch``,
``set_terminated``: exactly the rows MLflow writes itself), into a database on tmpfs (so
SQLite's fsyncs do not dominate the load), which is cached under ``benchmarks/.work/`` keyed by
MLflow's version and a digest of the data: later invocations copy it instead of reloading.

Every answer is checked against the top 100 computed in Python from the generated values: the
same runs, in the same order, on both sides.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .env import WORK, version
from .harness import Case, Side, alternate, expect

WORKLOAD = "search"
TOP = 100
WHERE, ORDER = "metrics.sharpe > 1", "-metrics.sharpe"
METRIC_KEYS = ("sharpe", "max_drawdown", "turnover", "test_sharpe")


@dataclass
class Dataset:
    """The runs as Pedigree holds them, in load order (index = position)."""

    ids: list[str]
    rows: list[dict[str, Any]]  # experiment, params, metrics

    def expected(self) -> list[int]:
        hits = [(r["metrics"]["sharpe"], i) for i, r in enumerate(self.rows)]
        hits = [(v, i) for v, i in hits if v is not None and v > 1]
        values = [v for v, _ in hits]
        if len(set(values)) != len(values):
            raise RuntimeError("tied sharpe values: the expected order would be ambiguous")
        return [i for _, i in sorted(hits, reverse=True)[:TOP]]

    def digest(self) -> str:
        text = json.dumps(self.rows, sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def read_pedigree(db: Path) -> Dataset:
    """Read back what ``populate`` loaded (plain SQL on Pedigree's tables)."""
    con = sqlite3.connect(db)
    try:
        runs = con.execute("select id, experiment from runs order by rowid").fetchall()
        params: dict[str, dict[str, Any]] = {}
        for rid, key, num in con.execute("select run_id, key, num from params"):
            params.setdefault(rid, {})[key] = int(num) if num == int(num) else num
        metrics: dict[str, dict[str, float]] = {}
        for rid, key, value in con.execute("select run_id, key, value from latest_metrics"):
            metrics.setdefault(rid, {})[key] = value
    finally:
        con.close()
    rows = [
        {"experiment": exp, "params": params.get(rid, {}), "metrics": metrics.get(rid, {})}
        for rid, exp in runs
    ]
    return Dataset([rid for rid, _ in runs], rows)


def load_pedigree(root: Path, n: int) -> tuple[str, Dataset]:
    from benchmarks.bench_foundation import populate

    root.mkdir(parents=True, exist_ok=True)
    db = root / f"pedigree-{n}.db"
    db.unlink(missing_ok=True)
    uri = f"sqlite:///{db}"
    populate(uri, n)
    return uri, read_pedigree(db)


MLFLOW_LOADER = r"""
import json, sys
import mlflow
from mlflow.entities import Metric, Param
rows = json.load(open(sys.argv[1]))
client = mlflow.MlflowClient()
experiments = {}
for i, row in enumerate(rows):
    exp = row["experiment"]
    if exp not in experiments:
        experiments[exp] = client.create_experiment(exp, artifact_location=sys.argv[2] + "/" + exp)
    run = client.create_run(experiments[exp], start_time=1_700_000_000_000 + i,
                            run_name=f"r{i:07d}")
    rid = run.info.run_id
    client.log_batch(
        rid,
        metrics=[Metric(k, v, 1_700_000_000_000 + i, 0) for k, v in row["metrics"].items()],
        params=[Param(k, str(v)) for k, v in row["params"].items()],
    )
    client.set_terminated(rid, "FINISHED", end_time=1_700_000_000_001 + i)
"""


def mlflow_db(data: Dataset, scratch: Path) -> tuple[Path, float | None]:
    """MLflow's database holding ``data`` (from the cache, else loaded now); the load time."""
    n = len(data.rows)
    cache = WORK / "search" / f"mlflow-{version('mlflow')}-{n}-{data.digest()}.db"
    load_seconds = None
    if not cache.exists():
        tmp_root = Path("/dev/shm") if Path("/dev/shm").is_dir() else scratch
        tmp = Path(tempfile.mkdtemp(prefix="pedigree-bench-", dir=tmp_root))
        try:
            rows = tmp / "rows.json"
            rows.write_text(json.dumps(data.rows))
            env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}"}
            print(f"    loading {n:,} runs into MLflow through its client API (cached after)")
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", MLFLOW_LOADER, str(rows), f"file://{scratch}/mlartifacts"],
                env=env,
                check=True,
                capture_output=True,
            )
            load_seconds = time.perf_counter() - t0
            cache.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp / "mlflow.db", cache.with_suffix(".partial"))
            cache.with_suffix(".partial").rename(cache)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    # Query a copy: the cache stays exactly as loaded.
    db = scratch / f"mlflow-{n}.db"
    shutil.copy(cache, db)
    return db, load_seconds


def pedigree_side(root: Path, uri: str, data: Dataset) -> Side:
    from pedigree.api import Tracker, shared_store
    from pedigree.config import Project

    tracker = Tracker(Project(root), store=shared_store(uri))
    index = {rid: i for i, rid in enumerate(data.ids)}
    expected = data.expected()

    def run() -> list[dict[str, Any]]:
        return tracker.runs(where=WHERE, order_by=ORDER, limit=TOP)

    def check(answer: list[dict[str, Any]]) -> None:
        got = [index.get(r["id"], -1) for r in answer]
        expect(got == expected, f"top {TOP} differs from the expected runs (first: {got[:3]})")
        first = data.rows[expected[0]]["metrics"]["sharpe"]
        expect(answer[0]["metrics"]["sharpe"] == first, "sharpe value differs")

    return Side("pedigree", run=run, check=check, role="subject")


def mlflow_side(db: Path, data: Dataset) -> Side:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment_ids = [e.experiment_id for e in client.search_experiments()]
    expected = data.expected()

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
        got = [int(r.info.run_name[1:]) for r in answer]
        expect(got == expected, f"top {TOP} differs from the expected runs (first: {got[:3]})")
        first = data.rows[expected[0]]["metrics"]["sharpe"]
        expect(answer[0].data.metrics["sharpe"] == first, "sharpe value differs")

    return Side("mlflow", run=run, check=check)


def run(
    work: Path,
    *,
    pairs: int,
    warmup: int,
    search_runs: int,
    pedigree_search_runs: int,
    search_pairs: int,
    **_: object,
) -> list[Case]:
    from pedigree import api

    root = work / "search"
    cases = []
    uri, data = load_pedigree(root, search_runs)
    db, load_seconds = mlflow_db(data, root)
    case = alternate(
        WORKLOAD,
        f"{search_runs:,} runs",
        [pedigree_side(root, uri, data), mlflow_side(db, data)],
        pairs=max(pairs, search_pairs),
        warmup=warmup,
        note="seconds per query: sharpe > 1, order by sharpe desc, top 100",
        unit="query",
    )
    case.extra.update(runs=search_runs, mlflow_load_s=load_seconds)
    cases.append(case)
    api.close_all()
    if pedigree_search_runs:
        uri, data = load_pedigree(root, pedigree_search_runs)
        case = alternate(
            WORKLOAD,
            f"{pedigree_search_runs:,} runs (Pedigree alone)",
            [pedigree_side(root, uri, data)],
            pairs=max(pairs, search_pairs),
            warmup=warmup,
            note="MLflow not loaded at this size: its client API needs minutes to load it",
            unit="query",
        )
        case.extra.update(runs=pedigree_search_runs)
        cases.append(case)
        api.close_all()
    return cases
