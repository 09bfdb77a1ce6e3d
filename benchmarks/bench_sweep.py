"""Sweeps: parallel speed-up and Pedigree's own overhead per trial.

A sweep of N short trials through the real ``pedigree sweep`` command, with ``-j 1`` and ``-j 2``,
against the same N commands run with plain ``subprocess`` (one at a time, and two at a time from
a thread pool). Two kinds of trial, both Python scripts that do not import Pedigree (so the
baseline runs exactly the same work; the child's injected capture hook is Pedigree's cost):

- ``sleep``: waits 0.5 s. The speed-up then measures Pedigree alone: the trials need no CPU;
- ``cpu``: burns 0.5 s of CPU. On 2 cores, 2 trials at once leave no core for the recorder, so
  this is the honest figure for work-heavy trials.

Overhead per trial = (sweep time - plain time) / N at the same parallelism; it includes the
``pedigree sweep`` process start, opening the store, creating the sweep and printing its table,
spread over the N trials. It is given in wall-clock time and in CPU time (user + system of every
process involved, from ``getrusage``): on a machine that other jobs share, the CPU figure is the
one that does not depend on them.

    python benchmarks/bench_sweep.py            # 40 trials of 0.5 s (about 3 minutes)
    python benchmarks/bench_sweep.py --quick    # 10 trials of 0.2 s
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import record

TRIALS = {
    "sleep": "import sys, time\ntime.sleep(float(sys.argv[1]))\n",
    "cpu": (
        "import sys, time\n"
        "end = time.process_time() + float(sys.argv[1])\n"
        "x = 0\n"
        "while time.process_time() < end:\n"
        "    for i in range(10000):\n"
        "        x += i * i\n"
    ),
}


def make_project(root: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}  # fmt: skip
    for name, code in TRIALS.items():
        (root / f"{name}.py").write_text(code)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "trials"], cwd=root, check=True, env=env)
    subprocess.run([*PEDIGREE, "init"], cwd=root, check=True, capture_output=True)


PEDIGREE = [sys.executable, "-m", "pedigree.cli.main"]


def _children_cpu() -> float:
    """CPU seconds used so far by every finished descendant (their children included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sweep_seconds(root: Path, kind: str, n: int, seconds: float, jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds of one `pedigree sweep` of n trials (its trials' CPU included)."""
    argv = [*PEDIGREE, "sweep", "-q", "-e", "bench", "-p", "i=" + ",".join(map(str, range(n))),
            "-j", str(jobs), "--", sys.executable, f"{kind}.py", str(seconds)]  # fmt: skip
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed: {proc.stderr}")
    return elapsed, _children_cpu() - cpu


def plain_seconds(root: Path, kind: str, n: int, seconds: float, jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds of the same n commands with plain subprocess, ``jobs`` at once."""
    argv = [sys.executable, f"{kind}.py", str(seconds)]

    def one(_: int) -> None:
        subprocess.run(argv, cwd=root, check=True, capture_output=True)

    cpu = _children_cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, range(n)))
    return time.perf_counter() - start, _children_cpu() - cpu


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    n, seconds = (10, 0.2) if quick else (40, 0.5)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="pedigree-bench-sweep-") as tmp:
        root = Path(tmp)
        make_project(root)
        sweep_seconds(root, "sleep", 2, 0.0, 1)  # warm the environment capture cache
        print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        print(f"{n} trials of {seconds} s each; wall-clock seconds, and Pedigree's overhead per")
        print("trial in wall-clock and in CPU time (all processes: recorder, hooks, git)")
        head = ("trial", "jobs", "plain", "sweep", "wall/trial", "cpu/trial")
        print("{:<6} {:>4} {:>8} {:>8} {:>11} {:>10}".format(*head))
        for kind in TRIALS:
            row: dict[str, float] = {}
            for jobs in (1, 2):
                plain, plain_cpu = plain_seconds(root, kind, n, seconds, jobs)
                swept, swept_cpu = sweep_seconds(root, kind, n, seconds, jobs)
                over = (swept - plain) / n
                over_cpu = (swept_cpu - plain_cpu) / n
                row[f"plain_j{jobs}"], row[f"sweep_j{jobs}"] = plain, swept
                row[f"overhead_ms_j{jobs}"] = over * 1000
                row[f"cpu_overhead_ms_j{jobs}"] = over_cpu * 1000
                print(
                    f"{kind:<6} {jobs:>4} {plain:8.2f} {swept:8.2f} {over * 1000:8.1f} ms"
                    f" {over_cpu * 1000:7.1f} ms"
                )
            row["speedup"] = row["sweep_j1"] / row["sweep_j2"]
            row["plain_speedup"] = row["plain_j1"] / row["plain_j2"]
            results[kind] = row
            print(
                f"{kind:<6} speed-up with -j 2: {row['speedup']:.2f}x "
                f"(plain subprocess: {row['plain_speedup']:.2f}x)"
            )
    record("sweep", {"trials": n, "trial_seconds": seconds, "load": os.getloadavg(), **results})
    print(f"load average now: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    failed = False
    for kind, r in results.items():
        if r["plain_speedup"] < 1.8:
            # Other work on the machine: even plain subprocesses cannot use both cores.
            print(
                f"{kind}: the machine is busy (plain -j 2 is only {r['plain_speedup']:.2f}x); "
                "its speed-up says nothing about Pedigree: run again on an idle machine"
            )
            continue
        if r["speedup"] < 1.8 or r["overhead_ms_j1"] > 100:
            failed = True
            print(f"{kind}: below target (-j 2 at least 1.8x faster, at most 100 ms per trial)")
    return 1 if failed and not quick else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
