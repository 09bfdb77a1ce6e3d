"""Data benchmark: hashing and storing datasets, the stat cache, and file-capture overhead.

    python benchmarks/bench_data.py                  # 1 GiB in 100 files, 100,000 small files
    python benchmarks/bench_data.py --quick          # 256 MiB, 20,000 small files
    python benchmarks/bench_data.py --size-mib 4096 --small-files 1000000

Measured in-process (``pedigree.data.datasets.add`` on an open tracker, the way the CLI calls it,
without interpreter start-up), plus the CLI's wall-clock for an unchanged re-add. Data is written
first, so the page cache is warm, as in the issue's targets. Prints a table and appends one JSON
line to ``benchmarks/results/bench_data.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best_of(n: int, fn: Callable[[], Any]) -> float:
    return min(timed(fn)[0] for _ in range(n))


def write_files(folder: Path, count: int, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"part-{i:05d}.bin").write_bytes(os.urandom(size))


def write_small_files(folder: Path, count: int) -> None:
    per_dir = 1000
    for i in range(count):
        sub = folder / f"d{i // per_dir:04d}"
        if i % per_dir == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:07d}.csv").write_bytes(b"date,close\n2026-01-02,%d\n" % i)


def age(folder: Path, seconds: float = 5.0) -> None:
    """Set mtimes a few seconds back: files written just before an add would be racily clean
    (hashed again once, as git does), which is correct but not what a re-add measures."""
    when = time.time_ns() - int(seconds * 1e9)
    for dirpath, _, names in os.walk(folder):
        for name in names:
            os.utime(os.path.join(dirpath, name), ns=(when, when))


def new_project(base: Path, name: str) -> Any:
    from pedigree.api import Tracker
    from pedigree.config import init_project

    root = base / name
    root.mkdir()
    project, _ = init_project(root)
    return Tracker(project)


def raw_blake3(files: list[Path]) -> float:
    import blake3

    def run() -> None:
        for f in files:
            h = blake3.blake3(max_threads=blake3.blake3.AUTO)
            h.update_mmap(f)
            h.digest()

    return best_of(3, run)


def raw_md5(files: list[Path]) -> float:
    def run() -> None:
        for f in files:
            h = hashlib.md5()
            with open(f, "rb") as fh:
                while chunk := fh.read(MIB):
                    h.update(chunk)
            h.digest()

    return best_of(1, run)


def bench_big(base: Path, size_mib: int, count: int, results: dict[str, Any]) -> None:
    from pedigree.data import datasets
    from pedigree.data.hashing import hash_files, scan

    tracker = new_project(base, "big")
    data = tracker.project.root / "data" / "prices"
    per_file = size_mib * MIB // count
    write_files(data, count, per_file)
    age(data)
    os.sync()  # warm in the page cache, but written back: as data that has sat on disk a while
    total = per_file * count
    gb = total / 1e9
    files = sorted(data.iterdir())

    results["raw_blake3_s"] = raw_blake3(files)
    results["raw_md5_s"] = raw_md5(files)

    def hash_only() -> None:
        hash_files(scan(data))

    results["hash_s"] = best_of(3, hash_only)

    # Cold: an empty object store and no stat cache, three times (the disk is shared and noisy).
    colds = []
    for i in range(3):
        shutil.rmtree(tracker.project.dir / "objects", ignore_errors=True)
        shutil.rmtree(tracker.project.cache_dir, ignore_errors=True)
        os.sync()
        s, cold = timed(lambda i=i: datasets.add(tracker.ctx, data, name=f"cold{i}"))
        assert cold.created
        colds.append(s)
    cold_s = min(colds)
    results["cold_add_s"] = cold_s
    results["cold_add_median_s"] = statistics.median(colds)
    datasets.add(tracker.ctx, data, name="prices")

    # Unchanged re-add: stat + one cache query + manifest.
    results["unchanged_s"] = statistics.median(
        timed(lambda: datasets.add(tracker.ctx, data, name="prices"))[0] for _ in range(7)
    )

    # One changed file of 10 MiB (or the size of one file when smaller).
    changed_sizes = []
    for i in range(5):
        victim = files[i]
        victim.write_bytes(os.urandom(min(10 * MIB, per_file)))
        old = time.time_ns() - 5_000_000_000
        os.utime(victim, ns=(old, old))
        s, r = timed(lambda: datasets.add(tracker.ctx, data, name="prices"))
        assert r.created
        changed_sizes.append(s)
    results["one_changed_s"] = statistics.median(changed_sizes)

    env = {**os.environ, "PEDIGREE_USER": "bench"}
    cli = [sys.executable, "-m", "pedigree.cli.main", "data", "add", str(data), "--name", "prices"]

    def run_cli() -> None:
        subprocess.run(cli, cwd=tracker.project.root, env=env, check=True, capture_output=True)

    results["unchanged_cli_s"] = best_of(5, run_cli)
    results["big_bytes"] = total
    results["big_files"] = count
    results["hash_gbps"] = gb / results["hash_s"]
    results["raw_blake3_gbps"] = gb / results["raw_blake3_s"]
    results["raw_md5_gbps"] = gb / results["raw_md5_s"]
    results["cold_add_gbps"] = gb / cold_s


def bench_small(base: Path, count: int, results: dict[str, Any]) -> None:
    from pedigree.data import datasets

    tracker = new_project(base, "small")
    data = tracker.project.root / "data" / "ticks"
    write_small_files(data, count)
    age(data)
    os.sync()
    cold_s, cold = timed(lambda: datasets.add(tracker.ctx, data, name="ticks"))
    assert cold.created
    results["small_files"] = count
    results["small_cold_add_s"] = cold_s
    results["small_unchanged_s"] = statistics.median(
        timed(lambda: datasets.add(tracker.ctx, data, name="ticks"))[0] for _ in range(3)
    )


OPENER = """
import os
total = 0
for name in sorted(os.listdir("many")):
    with open(os.path.join("many", name), "rb") as f:
        total += len(f.read())
with open("out.txt", "w") as f:
    f.write(str(total))
"""


def bench_capture(base: Path, count: int, repeat: int, results: dict[str, Any]) -> None:
    """A script opening ``count`` files: plain Python, with the injected module but capture off,
    and with capture on (what ``pedigree run`` does)."""
    from pedigree.tracking.launcher import INJECT_DIR

    root = base / "capture"
    (root / "many").mkdir(parents=True)
    for i in range(count):
        (root / "many" / f"f{i:05d}.txt").write_bytes(b"x" * 100)
    (root / "opener.py").write_text(OPENER)
    spool = root / ".pedigree" / "spool" / "bench"
    modes: dict[str, dict[str, str]] = {
        "plain": {},
        "injected": {"PYTHONPATH": INJECT_DIR, "PEDIGREE_SPOOL": str(spool)},
        "capture": {
            "PYTHONPATH": INJECT_DIR,
            "PEDIGREE_SPOOL": str(spool),
            "PEDIGREE_PROJECT_ROOT": str(root),
        },
    }
    times = _time_modes(root, ["opener.py"], spool, modes, repeat, results, "capture")
    for mode, values in times.items():
        results[f"capture_{mode}_s"] = min(values)
    results["capture_files"] = count
    seen = sum(1 for _ in spool.glob("events-*-files.jsonl"))
    results["capture_recorded_files"] = seen


def _time_modes(
    root: Path,
    script: list[str],
    spool: Path,
    modes: dict[str, dict[str, str]],
    repeat: int,
    results: dict[str, Any],
    prefix: str,
) -> dict[str, list[float]]:
    """Time ``python script`` in each mode, and once more under strace (``--trace os``: the
    strace of every process, beside the Python hook) when strace can trace here; the time to
    turn strace's log into opens records is ``<prefix>_os_parse_s``."""
    from pedigree.capture.files import os_tracer_problem, parse_strace, strace_argv

    strace = shutil.which("strace") if os_tracer_problem() is None else None
    all_modes = dict(modes)
    if strace:
        all_modes["os"] = modes["capture"]
    times: dict[str, list[float]] = {m: [] for m in all_modes}
    log = spool.parent / "strace.log"
    for _ in range(repeat):
        for mode, extra in all_modes.items():
            shutil.rmtree(spool, ignore_errors=True)
            spool.mkdir(parents=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith("PEDIGREE_")}
            env.update(extra)
            argv = [sys.executable, *script]
            if mode == "os" and strace:
                argv = [*strace_argv(strace, log), *argv]
            s, _ = timed(
                lambda env=env, argv=argv: subprocess.run(argv, cwd=root, env=env, check=True)
            )
            times[mode].append(s)
    if strace:
        parse, records = timed(lambda: parse_strace(log, root=root, cwd=str(root)))
        results[f"{prefix}_os_parse_s"] = parse
        results[f"{prefix}_os_paths"] = sum(len(v) for r in records for v in r["flags"].values())
    return times


PANDAS = """\
import numpy as np
import pandas as pd

df = pd.DataFrame({"a": np.arange(200_000), "b": np.random.default_rng(1).random(200_000)})
for i in range(20):
    df.to_parquet(f"out{i}.parquet")
    pd.read_parquet(f"out{i}.parquet")
df.to_csv("out.csv")
pd.read_csv("out.csv")
"""


def bench_capture_pandas(base: Path, repeat: int, results: dict[str, Any]) -> None:
    """A pandas/pyarrow workload (20 Parquet files written and read, one CSV): plain Python,
    Python-level capture, and OS-level (strace) capture."""
    from pedigree.tracking.launcher import INJECT_DIR

    root = base / "capture_pandas"
    root.mkdir(parents=True)
    (root / "work.py").write_text(PANDAS)
    spool = root / ".pedigree" / "spool" / "bench"
    modes: dict[str, dict[str, str]] = {
        "plain": {},
        "capture": {
            "PYTHONPATH": INJECT_DIR,
            "PEDIGREE_SPOOL": str(spool),
            "PEDIGREE_PROJECT_ROOT": str(root),
        },
    }
    times = _time_modes(root, ["work.py"], spool, modes, repeat, results, "pandas")
    for mode, values in times.items():
        results[f"pandas_{mode}_s"] = min(values)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--small-files", type=int, default=100_000)
    parser.add_argument("--capture-files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15, help="runs of the capture script")
    parser.add_argument("--quick", action="store_true", help="256 MiB and 20,000 small files")
    parser.add_argument("--skip", action="append", default=[], help="big, small, capture or pandas")
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mib, args.small_files, args.repeat = 256, 20_000, 7

    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    base = Path(tempfile.mkdtemp(prefix="pedigree-bench-data-"))
    try:
        if "big" not in args.skip:
            bench_big(base, args.size_mib, args.files, results)
        if "small" not in args.skip:
            bench_small(base, args.small_files, results)
        if "capture" not in args.skip:
            bench_capture(base, args.capture_files, args.repeat, results)
        if "pandas" not in args.skip:
            bench_capture_pandas(base, max(1, args.repeat // 3), results)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    rows = []
    if "cold_add_s" in results:
        mib = round(results["big_bytes"] / MIB)
        n = results["big_files"]
        rows += [
            (
                f"raw BLAKE3, {mib} MiB (reference)",
                results["raw_blake3_s"],
                results["raw_blake3_gbps"],
            ),
            (f"raw MD5, {mib} MiB (reference)", results["raw_md5_s"], results["raw_md5_gbps"]),
            (f"hash {n} files, {mib} MiB (no cache)", results["hash_s"], results["hash_gbps"]),
            (
                "data add, cold, storing included (best of 3)",
                results["cold_add_s"],
                results["cold_add_gbps"],
            ),
            ("data add, cold, storing included (median)", results["cold_add_median_s"], None),
            ("data add, unchanged (in-process)", results["unchanged_s"], None),
            ("data add, one changed 10 MiB file", results["one_changed_s"], None),
            ("pedigree data add, unchanged (CLI)", results["unchanged_cli_s"], None),
        ]
    if "small_cold_add_s" in results:
        k = f"{results['small_files']:,}"
        rows += [
            (f"data add, {k} small files, cold", results["small_cold_add_s"], None),
            (f"data add, {k} small files, unchanged", results["small_unchanged_s"], None),
        ]
    if "capture_plain_s" in results:
        plain, inj, cap = (results[f"capture_{m}_s"] for m in ("plain", "injected", "capture"))
        k = f"{results['capture_files']:,}"
        rows += [
            (f"script opening {k} files, plain python", plain, None),
            ("  with the injected module, capture off", inj, None),
            (
                f"  with capture on (+{(cap / inj - 1) * 100:.0f}%, "
                f"+{(cap / plain - 1) * 100:.0f}% vs plain)",
                cap,
                None,
            ),
        ]
        if "capture_os_s" in results:
            os_s = results["capture_os_s"]
            rows += [
                (f"  --trace os, strace (+{(os_s / plain - 1) * 100:.0f}% vs plain)", os_s, None),
                ("  reading the strace log", results["capture_os_parse_s"], None),
            ]
    if "pandas_plain_s" in results:
        plain, cap = results["pandas_plain_s"], results["pandas_capture_s"]
        rows += [
            ("pandas/pyarrow workload (20 Parquet + 1 CSV), plain", plain, None),
            (f"  --trace python (+{(cap / plain - 1) * 100:.0f}%)", cap, None),
        ]
        if "pandas_os_s" in results:
            os_s = results["pandas_os_s"]
            rows += [(f"  --trace os (+{(os_s / plain - 1) * 100:.0f}%)", os_s, None)]
    print(f"{'benchmark':<58}{'time':>11}{'GB/s':>8}")
    for label, seconds, rate in rows:
        shown = f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.2f} s"
        print(f"{label:<58}{shown:>11}{'' if rate is None else f'{rate:8.2f}'}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    with open(out / "bench_data.jsonl", "a") as f:
        f.write(json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
