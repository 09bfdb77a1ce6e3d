"""Foundation speed: start-up, per-run overhead of the SDK, and run search.

    python benchmarks/bench_foundation.py [--quick] [--runs 10000,100000]

Targets (issue 2): `import pedigree` <= 100 ms, `pedigree --version` <= 150 ms, <= 20 ms of
Pedigree overhead per run (50 params, 20 metrics x 100 steps, one call per step, capture on),
`runs --where <metric> --order-by <metric> --limit 100` <= 20 ms over 10,000 runs and <= 50 ms
over 100,000 runs on SQLite.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import command_seconds, median_seconds, python, record, row


def startup(repeat: int) -> dict[str, float]:
    base = command_seconds([python(), "-c", "pass"], repeat=repeat)
    imp = command_seconds([python(), "-c", "import pedigree"], repeat=repeat)
    ver = command_seconds([python(), "-m", "pedigree.cli.main", "--version"], repeat=repeat)
    exe = str(Path(python()).parent / "pedigree")
    ver_script = command_seconds([exe, "--version"], repeat=repeat)
    row("interpreter start (python -c pass)", f"{base * 1000:.0f} ms")
    row("python -c 'import pedigree'", f"{imp * 1000:.0f} ms", "target <= 100 ms")
    row("pedigree --version (console script)", f"{ver_script * 1000:.0f} ms", "target <= 150 ms")
    return {
        "python_start_s": base,
        "import_s": imp,
        "version_module_s": ver,
        "version_s": ver_script,
    }


# python train.py N MODE [CODE]: MODE "bare" runs the loop without Pedigree, any other records
# N runs after a warm-up run; CODE, when given, is executed first (bench_audit.py patches the
# store with it).
PER_RUN = """
import os, sys, time, json
N = int(sys.argv[1]); MODE = sys.argv[2]
if len(sys.argv) > 3:
    exec(sys.argv[3])
import pedigree
params = {f"p{i}": i * 1.5 for i in range(50)}
metrics = [f"m{i}" for i in range(20)]
def work():
    # the same loop a script runs, without Pedigree
    acc = 0.0
    for k in metrics:
        for step in range(100):
            acc += step * 0.001
    return acc
if MODE != "bare":
    with pedigree.start_run(experiment="warm") as run:
        run.log_metric("x", 1)
t0 = time.perf_counter()
for n in range(N):
    if MODE == "bare":
        work()
        continue
    with pedigree.start_run(experiment="bench", name=f"r{n}") as run:
        run.log_params(params)
        for k in metrics:
            for step in range(100):
                run.log_metric(k, step * 0.001, step=step)
        work()
print(json.dumps((time.perf_counter() - t0) / N))
"""


def per_run_seconds(
    workdir: Path, n: int, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """The seconds a run of ``train.py`` (PER_RUN, in ``workdir``) takes without Pedigree and
    recorded (warm), each the median of 3 processes of ``n`` runs; ``env`` for the processes
    (a team server's address, say)."""

    def run(mode: str) -> float:
        out = subprocess.run(
            [python(), "train.py", str(n), mode],
            cwd=workdir,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return float(out.stdout.strip().splitlines()[-1])

    bare = statistics.median(run("bare") for _ in range(3))
    tracked = statistics.median(run("warm") for _ in range(3))
    return bare, tracked


def per_run(workdir: Path, n: int) -> dict[str, float]:
    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    (workdir / "train.py").write_text(PER_RUN)
    subprocess.run(["git", "add", "."], cwd=workdir, check=True)
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "x"],
        cwd=workdir,
        check=True,
    )
    subprocess.run(
        [python(), "-m", "pedigree.cli.main", "init"], cwd=workdir, check=True, capture_output=True
    )

    bare, tracked = per_run_seconds(workdir, n)
    overhead = tracked - bare
    row(
        f"per-run overhead, 50 params + 20x100 metric calls (n={n})",
        f"{overhead * 1000:.1f} ms",
        "target <= 20 ms",
    )
    return {"per_run_overhead_s": overhead, "per_run_bare_s": bare, "runs": n}


def populate(uri: str, n_runs: int) -> None:
    """Bulk-load runs straight into the tables (the events are not needed to time a search)."""
    import sqlalchemy as sa

    from pedigree.ids import new_id
    from pedigree.store import open_store
    from pedigree.store import schema as t

    store = open_store(uri)
    rng = random.Random(7)
    now = time.time()
    batch = 5000
    with store.engine.begin() as conn:
        for start in range(0, n_runs, batch):
            runs, params, latest = [], [], []
            for _ in range(min(batch, n_runs - start)):
                rid = new_id()
                runs.append(
                    {
                        "id": rid,
                        "experiment": rng.choice(["ma", "mom", "carry"]),
                        "kind": "run",
                        "status": "finished",
                        "started_at": now,
                        "ended_at": now + 1,
                    }
                )
                for key, val in (
                    ("window", rng.choice([10, 20, 50, 100, 200])),
                    ("fee_bps", rng.choice([1, 2, 5])),
                ):
                    params.append(
                        {"run_id": rid, "key": key, "value": str(val), "num": val, "str": None}
                    )
                for key in ("sharpe", "max_drawdown", "turnover", "test_sharpe"):
                    latest.append(
                        {
                            "run_id": rid,
                            "key": key,
                            "step": 0,
                            "value": rng.gauss(0.5, 0.5),
                            "ts": now,
                        }
                    )
            conn.execute(t.runs.insert(), runs)
            conn.execute(t.params.insert(), params)
            conn.execute(t.latest_metrics.insert(), latest)
        conn.execute(sa.text("ANALYZE"))
    store.close()


def search(workdir: Path, sizes: list[int], repeat: int) -> dict[str, float]:
    from pedigree.api import Tracker
    from pedigree.config import Project

    out: dict[str, float] = {}
    for n in sizes:
        db = workdir / f"search-{n}.db"
        uri = f"sqlite:///{db}"
        t0 = time.perf_counter()
        populate(uri, n)
        load = time.perf_counter() - t0
        tracker = Tracker(Project(workdir), store=None)
        os.environ["PEDIGREE_URI"] = uri

        def query(tracker: Tracker = tracker) -> list[dict[str, object]]:
            return tracker.runs(
                where="metrics.sharpe > 1 and params.window >= 20",
                order_by="-metrics.sharpe",
                limit=100,
            )

        got = query()
        # a fast wrong answer never counts
        sharpes = [r["metrics"]["sharpe"] for r in got]
        assert len(got) == 100
        assert sharpes == sorted(sharpes, reverse=True)
        assert all(s > 1 for s in sharpes)
        assert all(r["params"]["window"] >= 20 for r in got)
        med, _ = median_seconds(query, repeat=repeat)
        target = "target <= 20 ms" if n <= 10_000 else "target <= 50 ms"
        row(
            f"runs --where/--order-by/--limit 100 over {n:,} runs (load {load:.0f}s)",
            f"{med * 1000:.1f} ms",
            target,
        )
        out[f"search_{n}_s"] = med
        del os.environ["PEDIGREE_URI"]
        from pedigree import api

        api.close_all()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small scales, for a smoke run")
    ap.add_argument("--runs", default=None, help="comma-separated store sizes for search")
    args = ap.parse_args()
    sizes = [int(s) for s in (args.runs or ("2000" if args.quick else "10000,100000")).split(",")]
    repeat = 5 if args.quick else 15
    results: dict[str, float] = {}
    print("foundation benchmark")
    print("  (figures for docs/performance.md: run on a quiet machine; `uptime` shows the load)")
    results |= startup(repeat)
    with tempfile.TemporaryDirectory() as tmp:
        results |= per_run(_mk(Path(tmp) / "proj"), 10 if args.quick else 50)
        results |= search(Path(tmp), sizes, repeat)
    record("foundation", results)
    return 0


def _mk(p: Path) -> Path:
    p.mkdir(parents=True)
    return p


if __name__ == "__main__":
    sys.exit(main())
