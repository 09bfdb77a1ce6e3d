"""Run the side-by-side suite: ``python -m benchmarks.compare [--quick] [--only W] [--publish]``.

Run from the repository root with an interpreter that has Pedigree, MLflow and DVC installed
(``make bench-compare`` makes that virtualenv, ``.venv-bench``, and runs this with
``--publish``). Prints every case as it finishes, appends JSON lines to
``benchmarks/results/compare.jsonl``; ``--publish`` also writes
``benchmarks/results/summary-<date>.json`` and the table in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import hash_data, lineage, log_run, mlflow_rest, report, search, startup, sweep
from .env import REPO, RESULTS, machine, quiet_environment, version, versions
from .harness import Case, write_jsonl

WORKLOADS = {
    "startup": startup.run,
    "log_run": log_run.run,
    "search": search.run,
    "hash_data": hash_data.run,
    "lineage": lineage.run,
    "sweep": sweep.run,
    "mlflow_rest": mlflow_rest.run,
}
NEEDS = {
    "startup": ("mlflow", "dvc"),
    "log_run": ("mlflow",),
    "search": ("mlflow",),
    "mlflow_rest": ("mlflow",),
    "hash_data": ("dvc",),
}
NOTES = Path(__file__).with_name("notes.md")

DEFAULTS: dict[str, Any] = {
    "pairs": 3,
    "warmup": 1,
    "startup_pairs": 5,
    "search_pairs": 15,
    "log_runs": 5,
    "log_runs_per_step": 1,
    "search_runs": 10_000,
    "pedigree_search_runs": 100_000,
    "data_mib": 1024,
    "data_files": 100,
    "lineage_runs": 200_000,
    "lineage_samples": 20,
    "sweep_trials": 40,
}
QUICK: dict[str, Any] = {
    "startup_pairs": 3,
    "search_pairs": 3,
    "log_runs": 1,
    "search_runs": 1_000,
    "pedigree_search_runs": 0,
    "data_mib": 64,
    "data_files": 16,
    "lineage_runs": 10_000,
    "lineage_samples": 5,
    "sweep_trials": 8,
}


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="small scales (a smoke run, minutes)")
    ap.add_argument("--only", help=f"comma-separated workloads of {', '.join(WORKLOADS)}")
    ap.add_argument(
        "--publish",
        action="store_true",
        help="write the dated summary and the table in docs/performance.md",
    )
    ap.add_argument(
        "--republish",
        type=Path,
        metavar="SUMMARY",
        help="publish the table of an existing summary again (after editing notes.md); no run",
    )
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--results", type=Path, default=RESULTS / "compare.jsonl")
    for key, value in DEFAULTS.items():
        ap.add_argument(
            "--" + key.replace("_", "-"),
            type=int,
            default=None,
            help=f"default {value:,}" + (f", --quick {QUICK[key]:,}" if key in QUICK else ""),
        )
    args = ap.parse_args(argv)
    for key, value in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, QUICK.get(key, value) if args.quick else value)
    if args.pairs < 3 and not args.quick:
        ap.error("--pairs must be at least 3")
    return args


def republish(summary: Path) -> int:
    data = json.loads(summary.read_text())
    cases = [Case.from_json(c) for c in data.pop("cases")]
    report.publish(REPO / "docs" / "performance.md", report.section(cases, data, notes()))
    print(f"table of {summary} in docs/performance.md")
    return 0


def notes() -> str:
    return NOTES.read_text() if NOTES.exists() else ""


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.republish:
        return republish(args.republish)
    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        print(f"error: unknown workload(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    missing = sorted({d for n in names for d in NEEDS.get(n, ()) if version(d) is None})
    if missing or version("pedigree") is None:
        print(
            f"error: {', '.join(missing) or 'pedigree'} not installed for {sys.executable}; "
            "`make bench-compare` builds the virtualenv (.venv-bench) with the pinned versions",
            file=sys.stderr,
        )
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="pedigree-bench-compare-"))
    quiet_environment(scratch / "home")
    started = time.time()
    load_start = _load()
    scales = {k: getattr(args, k) for k in DEFAULTS}
    print(f"side-by-side benchmark; scratch {scratch}; scales {scales}", flush=True)
    print(f"versions {versions()}", flush=True)
    cases: list[Case] = []
    try:
        for name in names:
            print(f"\n== {name} ==", flush=True)
            t0 = time.perf_counter()
            work = scratch / "work"
            work.mkdir(exist_ok=True)
            opts = dict(scales)
            if name == "startup":
                opts["pairs"] = max(args.pairs, args.startup_pairs)
            try:
                new = WORKLOADS[name](work, **opts)
            except Exception as exc:  # one broken workload must not lose the others' results
                reason = f"{type(exc).__name__}: {exc}"
                new = [Case(name, "(set-up)", [], status="failed", reason=reason)]
            for case in new:
                report.print_case(case)
            cases.extend(new)
            print(f"  ({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    now = datetime.now(UTC)
    header: dict[str, Any] = {
        "at": now.isoformat(timespec="seconds"),
        "date": now.date().isoformat(),
        "machine": machine(),
        "versions": versions(),
        "scales": scales,
        "load": {"start": load_start, "end": _load()},
        "seconds": round(time.time() - started, 1),
        "argv": argv,
    }
    write_jsonl(args.results, cases, header)
    print(f"\n{len(cases)} cases in {header['seconds']:.0f} s; JSON lines in {args.results}")
    failed = [c for c in cases if c.status == "failed"]
    if args.publish and args.quick:
        print("--quick: not published (the docs show full-scale figures only)")
    elif args.publish:
        path = RESULTS / f"summary-{header['date']}.json"
        header["summary_path"] = str(path.relative_to(REPO))
        report.write_summary(path, report.summary(cases, header))
        report.publish(REPO / "docs" / "performance.md", report.section(cases, header, notes()))
        print(f"summary in {path}; table in docs/performance.md")
    for case in failed:
        print(f"FAILED {case.workload}: {case.name}: {case.reason}", file=sys.stderr)
    return 1 if failed else 0


def _load() -> float:
    import os

    return os.getloadavg()[0]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
