"""A store whose every projected table has rows, made the way Pedigree makes them.

One run is recorded through the SDK (real code and environment capture, declared input and
output linked by the data layer); a dataset is versioned twice by the data layer; the rest (a
sweep, a reproduction, an artifact attached after the end, a second environment) are appended as
the events those features record; reviews go through ``pedigree.audit.approvals.review``.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pedigree.api import Tracker
from pedigree.audit.approvals import review
from pedigree.config import Project
from pedigree.data import datasets
from pedigree.digest import hash_bytes
from pedigree.store.events import (
    EnvironmentRecorded,
    ReproductionRecorded,
    RunAttached,
    SweepCreated,
)


@dataclass
class History:
    run: str  # recorded through the SDK, with params, metrics, capture, input and output
    sweep: str
    trial: str
    repro: str
    dataset_v1: str
    dataset_v2: str
    output_digest: str


def build_history(tracker: Tracker, root: Path) -> History:
    prices = root / "data" / "prices"
    prices.mkdir(parents=True)
    (prices / "2023.csv").write_text("date,close\n2023-01-02,100\n")
    (prices / "2024.csv").write_text("date,close\n2024-01-02,110\n")
    v1 = datasets.add(tracker.ctx, prices, name="prices").version
    (prices / "2024.csv").write_text("date,close\n2024-01-02,111\n")  # the vendor's correction
    v2 = datasets.add(tracker.ctx, prices, name="prices").version

    (root / "out").mkdir()
    params = {"window": 20, "fee_bps": 1.5, "long_only": True, "universe": ["AAPL"], "x": None}
    with tracker.start_run(experiment="ma-crossover", name="w20", params=params) as run:
        run.log_params({"instrument": "AAPL", "window": 20.0})  # the same value again is allowed
        for step, pnl in enumerate([0.5, -0.25, float("nan"), 1.75]):
            run.log_metric("pnl", pnl, step=step)
        run.log_metrics({"sharpe": 1.31, "inf_ratio": float("inf")})
        run.log_metric("pnl", 9.0, step=1)  # an older step logged late: not the latest
        run.use(prices / "2024.csv")
        (root / "out" / "model.txt").write_text("weights\n")
        run.produce(root / "out" / "model.txt")
    run_id = run.id

    sweep = tracker.create_run(experiment="ma-crossover", name="sweep", kind="sweep")
    ctx = tracker.ctx
    ctx.append([SweepCreated(run_id=sweep, spec={"grid": {"window": [10, 20]}})])
    trial = tracker.create_run(
        experiment="ma-crossover", name="w10", parent_id=sweep, params={"window": 10}
    )
    tracker.log_metrics(trial, [["sharpe", 0, 0.9, time.time()]])
    tracker.end_run(trial, "failed", exit_code=1, error="exit code 1")
    tracker.end_run(sweep, "finished")
    plot = str(hash_bytes(b"<svg/>"))
    item = {"path": "plots/sweep.svg", "digest": plot, "size": 6, "kind": "file"}
    ctx.append([RunAttached(run_id=sweep, items=[item])])

    repro = tracker.create_run(experiment="ma-crossover", name="w20", kind="reproduction")
    tracker.end_run(repro, "finished", exit_code=0)
    ctx.append(
        [
            ReproductionRecorded(
                run_id=repro,
                original_id=run_id,
                verdict="identical",
                details={"differences": [], "compared": ["out/model.txt", "stdout"]},
            )
        ]
    )
    env = "blake3:" + "e" * 64
    ctx.append(
        [
            EnvironmentRecorded(
                digest=env,
                python="3.12.1",
                platform="Linux",
                packages_digest="blake3:" + "f" * 64,
                data={"python": "3.12.1", "packages": [["numpy", "2.0.0"]]},
            )
        ]
    )
    output = str(hash_bytes(b"weights\n"))
    review(ctx, run_id, "approved", note="out-of-sample Sharpe holds")
    review(ctx, "prices@v2", "approved", note="vendor correction checked")
    review(ctx, output, "rejected", note="weights not signed")
    return History(
        run=run_id,
        sweep=sweep,
        trial=trial,
        repro=repro,
        dataset_v1=v1.digest,
        dataset_v2=v2.digest,
        output_digest=output,
    )


def sqlite_path(uri: str) -> str:
    return uri.removeprefix("sqlite:///")


def tamper(uri: str, *statements: str) -> None:
    """Change the database behind Pedigree's back, as someone with the sqlite3 shell or psql."""
    if uri.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(sqlite_path(uri))) as conn:
            for sql in statements:
                conn.execute(sql)
            conn.commit()
        return
    import psycopg

    with psycopg.connect(uri) as conn:
        for sql in statements:
            conn.execute(sql)  # type: ignore[arg-type]


def copy_sqlite(uri: str, dest: Path) -> str:
    with contextlib.closing(sqlite3.connect(sqlite_path(uri))) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(sqlite_path(uri), dest)
    return f"sqlite:///{dest}"


def project_tracker(root: Path, uri: str | None = None) -> Tracker:
    config: dict[str, Any] = {"user": {"name": "tester"}}
    if uri is not None:
        config["store"] = {"uri": uri}
    return Tracker(Project(root, config))
