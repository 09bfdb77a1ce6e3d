"""The web UI's speed (issue 13): ``pedigree ui`` over a big store, timed from Chromium.

    python benchmarks/bench_ui.py [--runs 100000] [--repeat 7] [--rebuild] [--quick]

Targets: the runs page over 100,000 runs, sorted by a metric and filtered, answered by the server
in <= 150 ms and shown in the browser in <= 1 s; the lineage graph of >= 500 nodes laid out and
interactive in <= 1.5 s; a run page with 20 metrics x 10,000 steps of history, charts drawn in
<= 1 s.

The store is bench_cli's workspace (``benchmarks/.work/cli-N``: N runs recorded in-process, one in
100 reading ``prices@v1``, so the lineage of ``prices@v1`` downstream has N/100 runs), plus one run
with 20 metrics of 10,000 steps each. ``pedigree ui --no-browser`` serves it; the server's answer
is timed over HTTP (median of ``--repeat``, after a warm-up), and each page in Debian's Chromium
(Playwright; ``make browser``) from the start of the navigation until the table, the graph or
the charts are there (``data-ready``), median of 3. Every answer is checked first.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _util import record, row
from bench_cli import _env, build

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
RUNS_QUERY = {
    "where": "metrics.sharpe > 1 and params.window >= 20",
    "order": "-metrics.sharpe",
    "col": "params.window,params.fee_bps,metrics.sharpe,metrics.max_drawdown",
}


def _history_run(work: Path) -> str:
    """A run with 20 metrics x 10,000 steps (made once; its id kept in the workspace)."""
    marker = work / ".history-run"
    if marker.exists():
        return marker.read_text().strip()
    from pedigree.config import find_project
    from pedigree.context import Context, close_all
    from pedigree.ids import new_id
    from pedigree.store import events as ev

    ctx = Context(find_project(work))
    rid = new_id()
    now = time.time()
    ctx.append(
        [
            ev.RunCreated(
                id=rid,
                experiment="histories",
                name="20x10000",
                command=["python", "train.py"],
                cwd=str(work),
                user="bench",
                host="bench-host",
                pid=1,
                started_at=now,
            )
        ]
    )
    for m in range(20):
        points = [[f"m{m:02d}", s, (s % 997) / 997 + m, now + s / 1000] for s in range(10_000)]
        ctx.append([ev.RunMetrics(run_id=rid, points=points)])
    ctx.append([ev.RunEnded(run_id=rid, status="finished", exit_code=0, ended_at=now + 10)])
    close_all()
    marker.write_text(rid)
    return rid


def _serve(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    log = work.parent / "ui-bench.log"
    err = open(log, "w")  # noqa: SIM115 - the server's whole life
    pedigree = str(Path(sys.executable).parent / "pedigree")
    proc = subprocess.Popen(
        [pedigree, "ui", "--no-browser", "--port", "0"],
        cwd=work,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"127\.0\.0\.1:(\d+)/", log.read_text())
        if found:
            return proc, int(found.group(1))
        if proc.poll() is not None:
            raise SystemExit(f"pedigree ui exited: {log.read_text()}")
        time.sleep(0.05)
    raise SystemExit("pedigree ui did not start")


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _median_get(port: int, path: str, repeat: int) -> float:
    _get(port, path)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        status, _ = _get(port, path)
        samples.append(time.perf_counter() - start)
        assert status == 200, (path, status)
    return statistics.median(samples)


def _browser_seconds(browser: Any, url: str, ready: str, times: int = 3) -> float:
    """From navigation start to ``ready`` (a selector) present, median of ``times``."""
    samples = []
    for _ in range(times):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(ready, timeout=60_000)
        samples.append(time.perf_counter() - start)
        context.close()
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="10,000 runs, 3 repeats")
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    n, repeat = (10_000, 3) if args.quick else (args.runs, args.repeat)
    work = HERE / ".work" / f"cli-{n}"
    if args.rebuild and work.exists():
        import shutil

        shutil.rmtree(work)
    t0 = time.perf_counter()
    build(work, n)
    history = _history_run(work)
    print(f"UI benchmark over {n:,} runs ({work}; ready in {time.perf_counter() - t0:.1f} s)")
    proc, port = _serve(work)
    results: dict[str, Any] = {"runs": n, "load": os.getloadavg()[0]}
    try:
        query = urllib.parse.urlencode(RUNS_QUERY)
        status, body = _get(port, f"/api/v1/ui/runs?{query}")
        data = json.loads(body)
        assert status == 200, body[:300]
        sharpes = [r["values"]["metrics.sharpe"] for r in data["runs"]]
        assert sharpes, "no runs"
        assert sharpes == sorted(sharpes, reverse=True), "not sorted"
        assert all(s > 1 for s in sharpes), "not filtered"
        status, body = _get(port, "/api/v1/ui/lineage?target=prices%40v1&direction=down")
        nodes = len(json.loads(body)["nodes"])
        assert status == 200
        assert nodes >= min(500, n // 100), nodes
        status, body = _get(port, f"/api/v1/ui/runs/{history}/metrics")
        charts = json.loads(body)["charts"]
        assert len(charts) == 20
        assert all(len(c["series"][0]["x"]) == 10_000 for c in charts)

        for label, path, target in (
            ("runs page JSON (where + order by metric), server", f"/api/v1/ui/runs?{query}", 0.15),
            ("runs page HTML, server", f"/runs?{query}", 0.15),
            ("lineage JSON, server", "/api/v1/ui/lineage?target=prices%40v1&direction=down", None),
            (
                "run histories JSON (20 x 10,000), server",
                f"/api/v1/ui/runs/{history}/metrics",
                None,
            ),
        ):
            seconds = _median_get(port, path, repeat)
            mark = "" if target is None else ("ok" if seconds <= target else "over")
            goal = "" if target is None else f"target <= {target * 1000:.0f} ms  {mark}"
            row(label, f"{seconds * 1000:.0f} ms", goal)
            results[label] = seconds

        from playwright.sync_api import sync_playwright

        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                for label, url, ready, target in (
                    ("runs table shown (Chromium)", f"/runs?{query}", "#runs-table tbody tr", 1.0),
                    (
                        f"lineage graph of {nodes} nodes laid out, interactive (Chromium)",
                        "/lineage?target=prices%40v1&direction=down",
                        "#graph[data-ready=true]",
                        1.5,
                    ),
                    (
                        "run page, 20 charts x 10,000 steps drawn (Chromium)",
                        f"/runs/{history}",
                        "[data-charts][data-ready=true]",
                        1.0,
                    ),
                ):
                    seconds = _browser_seconds(browser, base + url, ready)
                    mark = "ok" if seconds <= target else "over"
                    row(
                        label,
                        f"{seconds * 1000:.0f} ms",
                        f"target <= {target * 1000:.0f} ms  {mark}",
                    )
                    results[label] = seconds
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait(15)
    results["lineage_nodes"] = nodes
    record("ui", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
