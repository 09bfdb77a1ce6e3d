"""The CLI as a user sees it: each read command timed as a whole process on a store of 10,000 runs.

    python benchmarks/bench_cli.py [--runs 10000] [--repeat 7] [--rebuild] [--quick]

Targets (issue 18): ``pedigree --version`` <= 50 ms; ``show RUN``, ``show RUN --json``,
``runs --limit 20``, ``runs --where ... --order-by ... --limit 100``, ``logs RUN``,
``lineage RUN --up``, ``impact DATASET@vN``, ``data ls``, ``data log NAME`` and
``audit log --limit 20`` each <= 120 ms on the embedded SQLite store.

The workspace is built once and kept (``benchmarks/.work/cli-N``, ignored by git; ``--rebuild``
starts again): a git project, a dataset ``prices`` in two versions, ``N - 3`` runs recorded
in-process through the same events the recorder writes (params, metrics, one in 100 reading
``prices@v1``), then three runs under ``pedigree run`` that read the dataset, write a file and
print, so that ``logs``, ``lineage`` and ``impact`` have real answers.

Each command runs as a subprocess of the console script (what ``/usr/bin/time`` would time: the
interpreter's start, the imports, the work and the exit): one warm-up, then the median of
``--repeat``. Before timing, each command's answer is checked (through ``--json`` where it has
it): a fast wrong answer never counts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _util import record, row

HERE = Path(__file__).parent
PEDIGREE = str(Path(sys.executable).parent / "pedigree")
WHERE = "metrics.sharpe > 1 and params.window >= 20"
ORDER = "-metrics.sharpe"

SCRIPT = """\
import sys
rows = open("data/prices/prices.csv").read().splitlines()
window = int(sys.argv[1])
print(f"backtest over {len(rows)} rows, window {window}")
with open("out/signal.csv", "w") as f:
    f.write("\\n".join(rows[:window]))
print("sharpe 1.23")
"""


def _run(argv: list[str], cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, check=True, capture_output=True, text=True, env=_env(), **kw
    )


def _write_prices(folder: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["date,close"] + [
        f"2026-01-{i % 28 + 1:02d},{100 + rng.gauss(0, 1):.4f}" for i in range(n)
    ]
    (folder / "prices.csv").write_text("\n".join(lines) + "\n")
    (folder / "README").write_text(f"prices, seed {seed}\n")


def _bulk(project_dir: Path, n: int) -> None:
    """``n`` runs through ``Context.append``: the events the recorder writes, 100 runs a batch."""
    from pedigree.config import find_project
    from pedigree.context import Context, close_all
    from pedigree.digest import hash_file
    from pedigree.ids import new_id
    from pedigree.store import events as ev

    project = find_project(project_dir)
    ctx = Context(project)
    prices = project_dir / "data" / "prices" / "prices.csv"
    digest, size = str(hash_file(prices)), prices.stat().st_size
    rng = random.Random(18)
    now = time.time() - n
    batch: list[ev.Event] = []
    for i in range(n):
        rid = new_id()
        started = now + i
        experiment = rng.choice(["ma-crossover", "momentum", "carry"])
        batch += [
            ev.RunCreated(
                id=rid,
                experiment=experiment,
                name=f"trial-{i}",
                command=["python", "backtest.py"],
                cwd=str(project_dir),
                user="bench",
                host="bench-host",
                pid=1000 + i,
                started_at=started,
            ),
            ev.RunParams(
                run_id=rid,
                params={
                    "window": rng.choice([10, 20, 50, 100, 200]),
                    "fee_bps": rng.choice([1, 2, 5]),
                    "universe": rng.choice(["sp500", "stoxx600"]),
                },
            ),
            ev.RunMetrics(
                run_id=rid,
                points=[
                    ["sharpe", 0, rng.gauss(0.5, 0.5), started],
                    ["max_drawdown", 0, -abs(rng.gauss(0.2, 0.1)), started],
                    ["turnover", 0, abs(rng.gauss(3, 1)), started],
                ],
            ),
        ]
        if i % 100 == 0:
            batch.append(
                ev.RunIO(
                    run_id=rid,
                    items=[
                        {
                            "role": "input",
                            "path": "data/prices/prices.csv",
                            "digest": digest,
                            "size": size,
                            "kind": "file",
                            "declared": False,
                            "modified": False,
                        }
                    ],
                )
            )
        batch.append(ev.RunEnded(run_id=rid, status="finished", exit_code=0, ended_at=started + 5))
        if len(batch) >= 500 or i == n - 1:
            ctx.append(batch)
            batch = []
    close_all()


def build(work: Path, n: int) -> Path:
    """The workspace (made once; reused while its marker says it is complete)."""
    done = work / ".complete"
    if done.exists():
        return work
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    _run(["git", "init", "-q"], work)
    (work / "backtest.py").write_text(SCRIPT)
    (work / "out").mkdir()
    (work / ".gitignore").write_text("data/\nout/\n")
    _run(["git", "add", "."], work)
    _run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"], work)
    _run([PEDIGREE, "init"], work)
    _write_prices(work / "data" / "prices", 2000, 1)
    _run([PEDIGREE, "data", "add", "data/prices", "--name", "prices"], work)
    _bulk(work, n - 3)
    _write_prices(work / "data" / "prices", 2000, 2)
    _run([PEDIGREE, "data", "add", "data/prices", "--name", "prices"], work)
    for window in (20, 50, 100):
        _run(
            [PEDIGREE, "run", "-e", "ma-crossover", "--", "python", "backtest.py", str(window)],
            work,
        )
    done.write_text(f"{n} runs, built in {time.perf_counter() - t0:.0f} s\n")
    return work


def _json(argv: list[str], cwd: Path) -> Any:
    return json.loads(_run([PEDIGREE, *argv], cwd).stdout)


def checks(work: Path, n: int) -> dict[str, tuple[list[str], Callable[[], None]]]:
    """Each command (as timed) with a check of its answer."""
    # The last run under `pedigree run` (of the benchmark's experiment: a stray run recorded in
    # the workspace by something else must not change what is timed).
    newest = _json(["runs", "-e", "ma-crossover", "--limit", "1", "--json"], work)[0]
    run = newest["id"]
    prices = _json(["data", "log", "prices", "--json"], work)

    def version() -> None:
        from pedigree._version import __version__

        assert __version__ in _run([PEDIGREE, "--version"], work).stdout

    def show() -> None:
        assert newest["id"] in _run([PEDIGREE, "show", run], work).stdout

    def show_json() -> None:
        rec = _json(["show", run, "--json"], work)
        assert rec["id"] == newest["id"]
        assert rec["params"] == {}
        assert rec["status"] == "finished"
        assert [i["path"] for i in rec["inputs"]] == ["data/prices/prices.csv"]

    def runs20() -> None:
        got = _json(["runs", "--limit", "20", "--json"], work)
        assert len(got) == 20
        ids = [r["id"] for r in got]
        assert ids == sorted(ids, reverse=True)
        table = _run([PEDIGREE, "runs", "--limit", "20"], work).stdout
        assert len([line for line in table.splitlines() if "finished" in line]) == 20

    def search() -> None:
        got = _json(
            ["runs", "--where", WHERE, "--order-by", ORDER, "--limit", "100", "--json"], work
        )
        sharpes = [r["metrics"]["sharpe"] for r in got]
        assert len(got) == 100
        assert sharpes == sorted(sharpes, reverse=True)
        assert all(s > 1 for s in sharpes)
        assert all(r["params"]["window"] >= 20 for r in got)

    def logs() -> None:
        out = _run([PEDIGREE, "logs", run], work).stdout
        assert out.startswith("backtest over 2001 rows, window 100")
        assert "sharpe 1.23" in out

    def lineage() -> None:
        got = _json(["lineage", run, "--up", "--json"], work)
        text = json.dumps(got)
        assert prices[-1]["digest"] in text or "prices@v2" in text, "lineage lacks prices@v2"

    def impact() -> None:
        got = _json(["impact", "prices@v1", "--json"], work)
        text = json.dumps(got)
        assert text.count("ma-crossover") + text.count("momentum") + text.count("carry") > 0
        assert newest["id"] not in text  # the last runs read v2

    def data_ls() -> None:
        got = _json(["data", "ls", "--json"], work)
        assert [(d["name"], d["version"]) for d in got] == [("prices", 2)]

    def data_log() -> None:
        assert [d["version"] for d in prices] == [1, 2]
        assert "v2" in _run([PEDIGREE, "data", "log", "prices"], work).stdout

    def audit() -> None:
        got = _json(["audit", "log", "--limit", "20", "--json"], work)
        seqs = [e["seq"] for e in got]
        assert len(seqs) == 20
        assert seqs == list(range(seqs[0], seqs[0] + 20))

    return {
        "pedigree --version": (["--version"], version),
        "show RUN": (["show", run], show),
        "show RUN --json": (["show", run, "--json"], show_json),
        "runs --limit 20": (["runs", "--limit", "20"], runs20),
        "runs --where ... --order-by ... --limit 100": (
            ["runs", "--where", WHERE, "--order-by", ORDER, "--limit", "100"],
            search,
        ),
        "logs RUN": (["logs", run], logs),
        "lineage RUN --up": (["lineage", run, "--up"], lineage),
        "impact prices@v1": (["impact", "prices@v1"], impact),
        "data ls": (["data", "ls"], data_ls),
        "data log prices": (["data", "log", "prices"], data_log),
        "audit log --limit 20": (["audit", "log", "--limit", "20"], audit),
    }


def _env() -> dict[str, str]:
    # As installed: pip compiles the bytecode, so no process compiles the package's modules
    # from source; PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every run do it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PEDIGREE_USER": "bench"}


def whole_process(argv: list[str], cwd: Path, repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of ``pedigree ARGV`` after a
    warm-up. The CPU time is the steadier figure on a busy machine."""
    wall, cpu = [], []
    for i in range(repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([PEDIGREE, *argv], cwd=cwd, check=True, capture_output=True, env=_env())
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:
            wall.append(elapsed)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="1,000 runs, 3 repeats")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--only", default="", help="time only the commands whose label has this")
    ap.add_argument("--work", default=None, help="the workspace folder (default .work/cli-N)")
    ap.add_argument("--pedigree", default=None, help="the command to time (another build's)")
    args = ap.parse_args()
    if args.pedigree:
        global PEDIGREE
        PEDIGREE = args.pedigree
    n, repeat = (1000, 3) if args.quick else (args.runs, args.repeat)
    work = Path(args.work) if args.work else HERE / ".work" / f"cli-{n}"
    if args.rebuild and work.exists():
        shutil.rmtree(work)
    t0 = time.perf_counter()
    build(work, n)
    print(f"CLI benchmark over {n:,} runs ({work}; ready in {time.perf_counter() - t0:.1f} s)")
    print(
        f"  load average {os.getloadavg()[0]:.1f}; whole process, median of {repeat} after warm-up"
    )
    base = whole_process_python(repeat)
    row("interpreter start (python -c pass), for reference", f"{base * 1000:.0f} ms")
    results: dict[str, Any] = {"runs": n, "python_start_s": base, "load": os.getloadavg()[0]}
    failed = 0
    for label, (argv, check) in checks(work, n).items():
        if args.only and args.only not in label:
            continue
        try:
            check()
        except (AssertionError, subprocess.CalledProcessError, ValueError, KeyError) as exc:
            failed += 1
            detail = getattr(exc, "stderr", "") or ""
            print(f"  WRONG ANSWER: {label}: {exc!r} {detail.strip()}")
            continue
        seconds, cpu = whole_process(argv, work, repeat)
        target = 0.05 if label == "pedigree --version" else 0.12
        mark = "ok" if seconds <= target else "over"
        row(
            label,
            f"{seconds * 1000:.0f} ms",
            f"(cpu {cpu * 1000:.0f} ms)  target <= {target * 1000:.0f} ms  {mark}",
        )
        results[label] = seconds
        results[label + " (cpu)"] = cpu
    record("cli", results)
    return 1 if failed else 0


def whole_process_python(repeat: int) -> float:
    samples = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=_env())
        if i:
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


if __name__ == "__main__":
    sys.exit(main())
