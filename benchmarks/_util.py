"""Small helpers the benchmarks share: timing, medians, result files."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def median_seconds(
    fn: Callable[[], Any], *, repeat: int, warmup: int = 1
) -> tuple[float, list[float]]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples


def command_seconds(argv: list[str], *, repeat: int, cwd: str | None = None) -> float:
    def go() -> None:
        subprocess.run(argv, cwd=cwd, check=True, capture_output=True)

    return median_seconds(go, repeat=repeat)[0]


def machine() -> dict[str, Any]:
    import os

    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024 // 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def record(bench: str, results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    line = {
        "bench": bench,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **results,
    }
    with open(RESULTS / f"{bench}.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")


def row(label: str, value: str, target: str = "") -> None:
    print(f"  {label:<58} {value:>12}  {target}")


def python() -> str:
    return sys.executable
