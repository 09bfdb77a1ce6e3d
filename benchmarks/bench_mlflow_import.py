"""`pedigree import mlflow` speed: 1,000 MLflow runs with 100-step histories.

    python benchmarks/bench_mlflow_import.py [--quick] [--runs 1000] [--repeat 3]

Target (issue 17): importing 1,000 MLflow runs with 100-step histories takes at most 30 s.

The MLflow store is written by the real MLflow client (``tests/interop/mlflow_writer.py
--runs N``: per run 10 parameters, a tag, the source commit tag and 5 metrics x 100 steps by
``log_batch``, then ended) into a SQLite tracking database, once, and kept under
``benchmarks/.work`` for the next invocation (writing it takes MLflow about a minute). Each
sample is the whole ``pedigree import mlflow --from sqlite:///... --json`` process into a fresh
project: starting Python, importing MLflow, reading the runs and their histories through
MLflow's client, and recording them (one transaction per run). The import's own clock (from
opening the MLflow store to the last run recorded) is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import record, row

REPO = Path(__file__).resolve().parents[1]
WRITER = REPO / "tests" / "interop" / "mlflow_writer.py"
WORK = REPO / "benchmarks" / ".work" / "mlflow-import"
TARGET_SECONDS = 30.0
QUIET = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    "PEDIGREE_USER": "bench",
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PEDIGREE_"))}
    return {**env, **QUIET}


def mlflow_store(runs: int) -> Path:
    """The SQLite MLflow store of ``runs`` runs, written once by the real client."""
    folder = WORK / f"runs-{runs}"
    db = folder / "mlflow.db"
    if (folder / "written.json").is_file():
        return db
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"  writing {runs:,} runs with the MLflow client (once) ...", flush=True)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(WRITER),
            f"sqlite:///{db}",
            str(folder / "artifacts"),
            str(folder / "written.json"),
            "--runs",
            str(runs),
        ],
        cwd=folder,
        env=_env(),
        check=True,
        capture_output=True,
    )
    print(f"  (written in {time.perf_counter() - start:.0f} s)", flush=True)
    return db


def import_once(db: Path) -> tuple[float, float, dict[str, object]]:
    """One whole ``pedigree import mlflow`` process into a fresh project: its wall-clock
    seconds, its CPU seconds (user + system: what the machine's load does not change much),
    and its summary."""
    with tempfile.TemporaryDirectory(prefix="pedigree-bench-mlflow-") as tmp:
        subprocess.run(["git", "init", "-q", tmp], check=True)
        env = _env()
        subprocess.run(
            [sys.executable, "-m", "pedigree.cli.main", "init"],
            cwd=tmp,
            env=env,
            check=True,
            capture_output=True,
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pedigree.cli.main",
                "import",
                "mlflow",
                "--from",
                f"sqlite:///{db}",
                "--json",
            ],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"import failed ({proc.returncode}): {proc.stderr.strip()}")
        return seconds, cpu, json.loads(proc.stdout)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 runs, one sample")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    runs = 100 if args.quick else args.runs
    repeat = 1 if args.quick else args.repeat
    db = mlflow_store(runs)
    samples: list[float] = []
    cpus: list[float] = []
    inner: list[float] = []
    summary: dict[str, object] = {}
    for _ in range(repeat):
        seconds, cpu, summary = import_once(db)
        samples.append(seconds)
        cpus.append(cpu)
        inner.append(float(summary["seconds"]))  # type: ignore[arg-type]
    counts = summary["runs"]
    assert isinstance(counts, dict), summary
    assert counts["imported"] == runs, summary
    whole = statistics.median(samples)
    target = f"(target <= {TARGET_SECONDS:.0f} s for 1,000)" if runs == 1000 else ""
    row(f"import {runs:,} runs x 5 metrics x 100 steps, whole process", f"{whole:.1f} s", target)
    row("  of which the import itself (open store .. last run)", f"{statistics.median(inner):.1f}s")
    row("  CPU time of that process (user + system)", f"{statistics.median(cpus):.1f} s")
    row("  metric points recorded", f"{summary['metric_points']:,}")
    row("  per run", f"{1000 * whole / runs:.1f} ms")
    record(
        "mlflow_import",
        {
            "runs": runs,
            "metric_points": summary["metric_points"],
            "seconds": samples,
            "import_seconds": inner,
            "cpu_seconds": cpus,
            "median_seconds": whole,
            "target_seconds": TARGET_SECONDS if runs == 1000 else None,
        },
    )
    return 0 if runs != 1000 or whole <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
