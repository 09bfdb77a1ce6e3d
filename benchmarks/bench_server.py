"""The team server's speed on loopback: per-run overhead, concurrent clients, run search.

    python benchmarks/bench_server.py [--quick] [--runs 100000] [--clients 16] [--per-client 200]

Targets (issue 12): the foundation benchmark's run (50 params, 20 metrics x 100 steps, one call
per step, SDK in-process) recorded through the server <= 40 ms of overhead; 16 concurrent
clients each recording 200 such runs with no lost or duplicated point, `audit verify` intact,
and the events route's p50/p99 latency (target p99 <= 25 ms); `runs --where ... --order-by ...
--limit 100` over 100,000 runs through the server <= 60 ms.

The server is a real `pedigree server` subprocess over a SQLite project; clients are real
processes (the SDK) or this process (the search, through the Tracker on the remote store).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import median_seconds, python, record, row

HERE = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> str:
    out = subprocess.run(
        [python(), "-m", "pedigree.cli.main", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


class Server:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(root / "server.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [python(), "-m", "pedigree.cli.main", "server", "--port", str(self.port)],
            cwd=root,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def setup(work: Path) -> tuple[Server, dict[str, str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEDIGREE_")}
    env["XDG_STATE_HOME"] = str(work / "state")
    root = work / "served"
    root.mkdir()
    _cli("init", cwd=root, env=env)
    _cli("users", "add", "bench", "--role", "researcher", cwd=root, env=env)
    token = json.loads(_cli("tokens", "create", "--user", "bench", "--json", cwd=root, env=env))
    return Server(root, env), env, token["token"]


def per_run(
    work: Path, server: Server, env: dict[str, str], token: str, n: int
) -> dict[str, float]:
    from bench_foundation import PER_RUN, per_run_seconds

    client = work / "client"
    client.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=client, check=True)
    (client / "train.py").write_text(PER_RUN)
    cenv = {**env, "PEDIGREE_URI": server.url, "PEDIGREE_TOKEN": token}

    bare, tracked = per_run_seconds(client, n, cenv)
    overhead = tracked - bare
    row(
        f"per-run overhead through the server (n={n})",
        f"{overhead * 1000:.1f} ms",
        "target <= 40 ms",
    )
    return {"server_per_run_overhead_s": overhead}


def concurrent(
    work: Path, server: Server, env: dict[str, str], token: str, clients: int, per_client: int
) -> dict[str, float]:
    from bench_foundation import PER_RUN

    client = work / "concurrent"
    client.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=client, check=True)
    (client / "train.py").write_text(PER_RUN)
    cenv = {**env, "PEDIGREE_URI": server.url, "PEDIGREE_TOKEN": token}
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [python(), "train.py", str(per_client), "warm"],
            cwd=client,
            env=cenv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(clients)
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise RuntimeError(err.decode()[-2000:])
    wall = time.perf_counter() - start
    runs = clients * (per_client + 1)  # each client's warm-up run too
    recorded = json.loads(
        _cli("runs", "--json", "--limit", str(runs * 2), cwd=server.root, env=env)
    )
    by_name = [r for r in recorded if r["experiment"] in ("bench", "warm")]
    verify = subprocess.run(
        [python(), "-m", "pedigree.cli.main", "audit", "verify"],
        cwd=server.root,
        env=env,
        capture_output=True,
        text=True,
    )
    row(
        f"{clients} clients x {per_client} runs through the server",
        f"{runs / wall:.1f} runs/s ({wall:.0f} s)",
        f"{len(by_name)} runs recorded; audit verify "
        + ("ok" if verify.returncode == 0 else "FAILED"),
    )
    return {
        "server_concurrent_runs_per_s": runs / wall,
        "server_concurrent_runs": float(len(by_name)),
    }


def events_latency(server: Server, token: str, n: int) -> dict[str, float]:
    """p50/p99 of POST /api/v1/events with one run's metrics batch (20 x 100 points)."""
    from pedigree.ids import new_id
    from pedigree.store.events import RunCreated, RunMetrics, prepare

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(events: list[object]) -> float:
        body = json.dumps(
            {
                "batch": new_id().replace("-", ""),
                "events": [{"kind": e.KIND, "payload": prepare(e)[0]} for e in events],  # type: ignore[attr-defined]
            }
        ).encode()
        t0 = time.perf_counter()
        conn.request("POST", "/api/v1/events", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        took = time.perf_counter() - t0
        assert resp.status == 200, resp.status
        return took

    samples = []
    for _ in range(n):
        rid = new_id()
        post([RunCreated(id=rid, experiment="latency")])
        points = [[f"m{k}", s, s * 0.001, time.time()] for k in range(20) for s in range(100)]
        samples.append(post([RunMetrics(run_id=rid, points=points)]))
    samples.sort()
    p50 = samples[len(samples) // 2]
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    row(
        f"POST /api/v1/events, 2,000 metric points (n={n})",
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms",
        "target p99 <= 25 ms",
    )
    return {"server_events_p50_s": p50, "server_events_p99_s": p99}


def search(work: Path, env: dict[str, str], n_runs: int, repeat: int) -> dict[str, float]:
    from bench_foundation import populate

    root = work / "search"
    root.mkdir()
    _cli("init", cwd=root, env=env)
    populate(f"sqlite:///{root / '.pedigree' / 'pedigree.db'}", n_runs)
    _cli("users", "add", "reader", "--role", "auditor", cwd=root, env=env)
    token = json.loads(_cli("tokens", "create", "--user", "reader", "--json", cwd=root, env=env))
    server = Server(root, env)
    try:
        os.environ["PEDIGREE_URI"] = server.url
        os.environ["PEDIGREE_TOKEN"] = token["token"]
        from pedigree.api import Tracker

        tracker = Tracker.from_env(work)

        def query() -> list[dict[str, object]]:
            return tracker.runs(
                where="metrics.sharpe > 1 and params.window >= 20",
                order_by="-metrics.sharpe",
                limit=100,
            )

        got = query()
        sharpes = [r["metrics"]["sharpe"] for r in got]  # type: ignore[index]
        assert len(got) == 100
        assert sharpes == sorted(sharpes, reverse=True)
        med, _ = median_seconds(query, repeat=repeat)
        row(
            f"runs --where/--order-by/--limit 100 over {n_runs:,} runs, through the server",
            f"{med * 1000:.1f} ms",
            "target <= 60 ms",
        )
        return {f"server_search_{n_runs}_s": med}
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--per-client", type=int, default=200)
    args = ap.parse_args()
    if args.quick:
        args.runs, args.clients, args.per_client = 10_000, 4, 10
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server, env, token = setup(work)
        try:
            results |= per_run(work, server, env, token, 10 if args.quick else 50)
            results |= events_latency(server, token, 50 if args.quick else 200)
            results |= concurrent(work, server, env, token, args.clients, args.per_client)
        finally:
            server.stop()
        results |= search(work, env, args.runs, 5 if args.quick else 20)
    record("server", results)


if __name__ == "__main__":
    main()
