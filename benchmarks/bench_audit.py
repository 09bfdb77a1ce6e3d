"""Audit log speed: `audit verify` over a million events, and what chaining adds to each write.

    python benchmarks/bench_audit.py [--quick] [--events 1000000] [--postgres]

Targets (issue 6): `audit verify` over 1,000,000 events within 10 s; the audit log adds at most
5% to the per-run overhead.

The store is generated directly (pre-chained events and their projected rows, bulk-inserted), as a
sweep of quant backtests would leave it: per run, `run.created` + `run.params` (12 parameters),
two `run.metrics` flushes (a 12-step P&L curve, then 6 summary metrics), `run.captured`, `run.io`
(2 inputs, 1 output) and `run.ended`; every 500th run a new environment, every 100th a dataset
version with its 10-file manifest, every 250th an approval. The rows are written by this script,
not by the verifier's own model, so a verified store also cross-checks the model. The events are
logged as Pedigree logs them (``store.events.log_payload``: metric points packed), and the rows are
in the order the projectors insert them (a write's parameters in key order).

The per-run overhead half times the foundation benchmark's run through the SDK with the chain
and with the chain taken out (no payload encoded, no metric points packed, no digest, no
``audit_events`` row, no head update; the projections stay), in fresh processes, alternating.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _util import record, row
from bench_foundation import PER_RUN

from pedigree.jsonutil import canonical_json
from pedigree.store import schema
from pedigree.store.chain import GENESIS, event_digest
from pedigree.store.events import Event, event, log_payload

RUN_COLUMNS = tuple(c.name for c in schema.runs.columns)


def _digest(i: int, salt: str) -> str:
    import blake3

    return "blake3:" + blake3.blake3(f"{salt}{i}".encode()).hexdigest()


class Generator:
    """Events of a realistic store, chained, with the rows the projectors would make of them."""

    def __init__(self, n_events: int) -> None:
        self.n_events = n_events
        self.events: list[tuple[Any, ...]] = []
        self.tables: dict[str, list[tuple[Any, ...]]] = {
            t: []
            for t in (
                "runs",
                "params",
                "metrics",
                "latest_metrics",
                "environments",
                "run_io",
                "tree_entries",
                "datasets",
                "approvals",
            )
        }
        self.prev = GENESIS
        self.env = _digest(0, "env")

    def _append(self, at: float, actor: str, events: list[Event]) -> None:
        for ev in events:
            seq = len(self.events) + 1
            payload = log_payload(ev)
            digest = event_digest(
                prev=self.prev,
                seq=seq,
                at=at,
                actor=actor,
                kind=ev.KIND,
                run_id=ev.scope,
                payload=payload,
            )
            self.events.append((seq, at, actor, ev.KIND, ev.scope, payload, self.prev, digest))
            self.prev = digest

    def run(self, i: int) -> None:
        t = 1_767_225_600.0 + i * 2.0
        rid = f"{i:08x}-0193-7000-8000-{i * 7919 % 16**12:012x}"
        actor = ("ann", "bob", "chen")[i % 3]
        window = 5 + i % 200
        params = {
            "window": window,
            "slow_window": window * 4,
            "instrument": ("AAPL", "MSFT", "SPY", "QQQ")[i % 4],
            "fee_bps": 1.5 + (i % 5) * 0.5,
            "slippage_bps": 0.25 * (i % 3),
            "long_only": i % 2 == 0,
            "start": "2015-01-01",
            "end": "2024-12-31",
            "rebalance": "daily",
            "leverage": 1.0,
            "universe": ["AAPL", "MSFT", "SPY"],
            "vol_target": 0.1 + (i % 7) / 100,
        }
        created = {
            "id": rid,
            "experiment": "ma-crossover",
            "name": f"w{window}",
            "kind": "run",
            "parent_id": None,
            "command": ["python", "backtest.py", "--window", str(window)],
            "cwd": "/home/ann/research",
            "user": actor,
            "host": "ws-01",
            "pid": 4000 + i % 1000,
            "seed": i,
            "started_at": t,
        }
        self._append(
            t,
            actor,
            [
                event("run.created", created),
                event("run.params", {"run_id": rid, "params": params}),
            ],
        )
        for k, v in sorted(params.items()):  # the projector's order
            is_num = isinstance(v, int | float)
            self.tables["params"].append(
                (
                    rid,
                    k,
                    canonical_json(v),
                    float(v) if is_num else None,
                    v if isinstance(v, str) else None,
                )
            )
        curve = [["pnl", s, round((i % 13 - 6) * 0.001 * s, 6), t + 0.01 * s] for s in range(12)]
        summary = [
            [k, 0, round(v, 6), t + 0.9]
            for k, v in (
                ("sharpe", 0.2 + (i % 17) / 10),
                ("sortino", 0.3 + (i % 19) / 10),
                ("max_drawdown", -0.05 - (i % 23) / 100),
                ("turnover", 3.0 + i % 11),
                ("hit_rate", 0.45 + (i % 9) / 100),
                ("cagr", 0.01 + (i % 29) / 300),
            )
        ]
        self._append(t + 0.5, actor, [event("run.metrics", {"run_id": rid, "points": curve})])
        events: list[Event] = [event("run.metrics", {"run_id": rid, "points": summary})]
        for k, s, v, ts in curve + summary:
            self.tables["metrics"].append((rid, k, s, v, ts))
        for k, s, v, ts in [curve[-1], *summary]:
            self.tables["latest_metrics"].append((rid, k, s, v, ts))
        if i % 500 == 0:
            self.env = _digest(i, "env")
            data = {
                "python": "3.11.7",
                "implementation": "CPython",
                "executable": "/home/ann/.venv/bin/python",
                "os": "Linux",
                "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
                "packages": [[f"package-{p}", f"1.{p}.{i % 10}"] for p in range(60)],
                "packages_digest": _digest(i, "pkgs"),
            }
            events.append(
                event(
                    "environment.recorded",
                    {
                        "digest": self.env,
                        "python": "3.11.7",
                        "platform": data["platform"],
                        "packages_digest": data["packages_digest"],
                        "data": data,
                    },
                )
            )
            self.tables["environments"].append(
                (
                    self.env,
                    "3.11.7",
                    data["platform"],
                    data["packages_digest"],
                    canonical_json(data),
                )
            )
        code = {
            "commit": f"{i // 40:040x}",
            "branch": "main",
            "remote": "git@github.com:quant/research.git",
            "dirty": i % 4 == 0,
            "patch_digest": _digest(i, "patch") if i % 4 == 0 else None,
            "extra": {"repo_root": "/home/ann/research", "untracked": [], "notes": []},
        }
        invocation = {
            "argv": created["command"],
            "cwd": "/home/ann/research",
            "env": {"PEDIGREE_SEED": str(i), "PYTHONHASHSEED": str(i), "OMP_NUM_THREADS": "1"},
            "machine": {
                "hostname": "ws-01",
                "user": actor,
                "cpu": "AMD EPYC 7B13",
                "cpu_count": 2,
                "kernel": "6.1.0",
                "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
            },
        }
        events.append(
            event(
                "run.captured",
                {
                    "run_id": rid,
                    "code": code,
                    "environment_digest": self.env,
                    "invocation": invocation,
                },
            )
        )
        items = [
            {
                "role": "input",
                "path": "data/prices.csv",
                "digest": _digest(i // 100, "prices"),
                "size": 52_000_000,
                "kind": "file",
                "declared": False,
                "modified": False,
            },
            {
                "role": "input",
                "path": "data/universe.csv",
                "digest": _digest(0, "universe"),
                "size": 4_000,
                "kind": "file",
                "declared": False,
                "modified": False,
            },
            {
                "role": "output",
                "path": f"results/equity_{window}.csv",
                "digest": _digest(i, "equity"),
                "size": 120_000,
                "kind": "file",
                "declared": False,
                "modified": False,
            },
        ]
        events.append(event("run.io", {"run_id": rid, "items": items}))
        for it in items:
            self.tables["run_io"].append(
                (rid, it["role"], it["path"], it["digest"], it["size"], it["kind"], False, False)
            )
        ended = {
            "run_id": rid,
            "status": "finished" if i % 20 else "failed",
            "exit_code": 0 if i % 20 else 1,
            "ended_at": t + 1.5,
            "error": None if i % 20 else "exit code 1",
            "stdout_digest": _digest(i, "out"),
            "stderr_digest": None,
        }
        events.append(event("run.ended", ended))
        self._append(t + 1.5, actor, events)
        self.tables["runs"].append(
            (
                rid,
                "ma-crossover",
                f"w{window}",
                "run",
                None,
                ended["status"],
                canonical_json(created["command"]),
                "/home/ann/research",
                actor,
                "ws-01",
                created["pid"],
                i,
                t,
                t + 1.5,
                ended["exit_code"],
                ended["error"],
                code["commit"],
                "main",
                code["remote"],
                code["dirty"],
                code["patch_digest"],
                canonical_json(code["extra"]),
                self.env,
                canonical_json(invocation),
                ended["stdout_digest"],
                None,
            )
        )
        if i % 100 == 0:
            self._dataset(i, t + 1.6)
        if i % 250 == 0:
            approval = {
                "id": f"a{i:035d}",
                "target_type": "run",
                "target": rid,
                "decision": "approved",
                "note": "reviewed: out-of-sample Sharpe holds",
                "actor": "maria",
                "at": t + 1.7,
            }
            self._append(t + 1.7, "maria", [event("approval.recorded", approval)])
            self.tables["approvals"].append(
                tuple(
                    approval[k]
                    for k in ("id", "target_type", "target", "decision", "note", "actor", "at")
                )
            )

    def _dataset(self, i: int, at: float) -> None:
        tree = _digest(i, "tree")
        entries = [[f"prices/{y}.csv", _digest(i * 100 + y, "file"), 5_000_000] for y in range(10)]
        version = i // 100 + 1
        ds = {
            "name": "prices",
            "version": version,
            "digest": tree,
            "kind": "dir",
            "size": 50_000_000,
            "file_count": 10,
            "path": "data/prices",
            "created_at": at,
            "user": "ann",
            "run_id": None,
        }
        self._append(
            at,
            "ann",
            [
                event("tree.recorded", {"digest": tree, "entries": entries}),
                event("dataset.versioned", ds),
            ],
        )
        for path, d, size in entries:
            self.tables["tree_entries"].append((tree, path, d, size))
        self.tables["datasets"].append(
            ("prices", version, tree, "dir", 50_000_000, 10, "data/prices", at, "ann", None)
        )

    def generate(self) -> None:
        i = 0
        while len(self.events) < self.n_events:
            self.run(i)
            i += 1


_COLUMNS = {
    "audit_events": ("seq", "at", "actor", "kind", "run_id", "payload", "prev", "digest"),
    "runs": tuple(RUN_COLUMNS),
    "params": ("run_id", "key", "value", "num", "str"),
    "metrics": ("run_id", "key", "step", "value", "ts"),
    "latest_metrics": ("run_id", "key", "step", "value", "ts"),
    "environments": ("digest", "python", "platform", "packages_digest", "data"),
    "run_io": ("run_id", "role", "path", "digest", "size", "kind", "declared", "modified"),
    "tree_entries": ("tree_digest", "path", "digest", "size"),
    "datasets": (
        "name",
        "version",
        "digest",
        "kind",
        "size",
        "file_count",
        "path",
        "created_at",
        "user",
        "run_id",
    ),
    "approvals": ("id", "target_type", "target", "decision", "note", "actor", "at"),
}


def load(uri: str, gen: Generator) -> None:
    """Create the schema with Pedigree, then bulk-insert the generated rows."""
    from pedigree.store import edges
    from pedigree.store.sql import open_store

    store = open_store(uri)
    last = gen.events[-1]
    tables = {"audit_events": gen.events, **gen.tables}
    with store.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        if store.dialect == "sqlite":
            raw.execute("BEGIN")
            for table, rows in tables.items():
                cols = _COLUMNS[table]
                names = ", ".join(f'"{c}"' for c in cols)
                marks = ", ".join("?" * len(cols))
                raw.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
            raw.execute(
                "UPDATE audit_head SET seq = ?, digest = ? WHERE id = 1", (last[0], last[7])
            )
            raw.execute("COMMIT")
        else:
            with raw.cursor() as cur:
                for table, rows in tables.items():
                    names = ", ".join(f'"{c}"' for c in _COLUMNS[table])
                    with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                        for r in rows:
                            copy.write_row(r)
                cur.execute(
                    "UPDATE audit_head SET seq = %s, digest = %s WHERE id = 1", (last[0], last[7])
                )
                cur.execute("ANALYZE")
            raw.commit()
    with store.engine.begin() as conn:
        # run_edges is derived from the rows above, as migrations and the projectors derive it
        # (no run here reads what another made, so it stays empty).
        edges.rebuild(conn)
    store.close()


def bench_verify(uri: str, label: str, repeat: int) -> dict[str, Any]:
    from pedigree.audit.verify import verify
    from pedigree.store.sql import open_store

    store = open_store(uri)
    samples = []
    report = None
    for _ in range(repeat):
        start = time.perf_counter()
        report = verify(store)
        samples.append(time.perf_counter() - start)
        if not report.ok:
            for p in report.problems[:5]:
                print("   ", p)
            raise SystemExit(f"the generated {label} store does not verify")
    store.close()
    assert report is not None
    rows = sum(report.rows.values())
    best = min(samples)
    row(
        f"audit verify, {report.events:,} events / {rows:,} rows ({label})",
        f"{statistics.median(samples):.2f} s",
        "target <= 10 s",
    )
    return {
        f"verify_{label}_s": statistics.median(samples),
        f"verify_{label}_best_s": best,
        f"verify_{label}_events": report.events,
        f"verify_{label}_rows": report.rows,
    }


# -- per-run overhead of chaining ---------------------------------------------------------------
# "Without the audit log" is the same write transaction with the chain taken out: no payload
# serialised, no metric points packed, no digest, no audit_events row, no head update; the
# projections stay (and take the SDK's list of points as it is).

NO_CHAIN = """
def _write_without_chain(self, build, *, actor, at=None):
    from pedigree.store.projections import apply
    from pedigree.store.reader import Reader
    with self._write_conn() as conn:
        for ev in build(Reader(conn)):
            apply(conn, ev.KIND, ev.payload())
        return 0
import pedigree.store.sql
pedigree.store.sql.SQLStore.write = _write_without_chain
"""


def _sdk_runs(workdir: Path, n: int, mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "train.py", str(n), mode, *([NO_CHAIN] if mode == "without" else [])],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_sdk_overhead(tmp: Path, n: int, rounds: int) -> dict[str, Any]:
    """The foundation's per-run overhead benchmark, with and without the chain."""
    work = tmp / "sdk"
    work.mkdir()
    (work / "train.py").write_text(PER_RUN)
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run(["git", "add", "."], cwd=work, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=work, check=True)
    subprocess.run(
        [sys.executable, "-m", "pedigree.cli.main", "init"],
        cwd=work,
        check=True,
        capture_output=True,
    )
    samples: dict[str, list[float]] = {"bare": [], "with": [], "without": []}
    for r in range(rounds):
        order = ["bare", "with", "without"] if r % 2 else ["without", "with", "bare"]
        for mode in order:
            samples[mode].append(_sdk_runs(work, n, mode))
    bare = statistics.median(samples["bare"])
    with_ = statistics.median(samples["with"]) - bare
    without = statistics.median(samples["without"]) - bare
    share = (with_ - without) / without
    # The same, from each round's own difference: steadier when other jobs come and go.
    pairs = zip(samples["with"], samples["without"], strict=True)
    paired = statistics.median(a - b for a, b in pairs)
    row("SDK per-run overhead (foundation run), without the chain", f"{without * 1000:.1f} ms")
    row("SDK per-run overhead (foundation run), with the chain", f"{with_ * 1000:.1f} ms")
    row("audit log's share of the per-run overhead", f"{share * 100:+.1f} %", "target <= 5 %")
    row(
        "the same from each round's difference (median)",
        f"{paired / without * 100:+.1f} %",
        f"+{paired * 1000:.2f} ms",
    )
    return {
        "sdk_overhead_without_chain_ms": without * 1000,
        "sdk_overhead_with_chain_ms": with_ * 1000,
        "sdk_chain_share_pct": share * 100,
        "sdk_chain_paired_ms": paired * 1000,
    }


def _foundation_appends() -> list[list[Event]]:
    """The writes of the foundation run, as the SDK makes them (capture events included)."""
    rid = str(uuid.uuid4())
    t = time.time()
    created = event(
        "run.created",
        {
            "id": rid,
            "experiment": "bench",
            "name": "r",
            "kind": "run",
            "parent_id": None,
            "command": ["python", "train.py"],
            "cwd": "/tmp/x",
            "user": "ann",
            "host": "h",
            "pid": 1,
            "seed": None,
            "started_at": t,
        },
    )
    params = {f"p{i}": i * 1.5 for i in range(50)}
    points = [[f"m{k}", s, s * 0.001, t + k + s * 0.01] for k in range(20) for s in range(100)]
    captured = event(
        "run.captured",
        {
            "run_id": rid,
            "code": {
                "commit": "a" * 40,
                "branch": "main",
                "remote": None,
                "dirty": False,
                "patch_digest": None,
                "extra": {"repo_root": "/x", "untracked": [], "notes": []},
            },
            "environment_digest": "blake3:" + "b" * 64,
            "invocation": {
                "argv": ["python"],
                "cwd": "/x",
                "env": {},
                "machine": {"hostname": "h"},
            },
        },
    )
    ended = event(
        "run.ended", {"run_id": rid, "status": "finished", "exit_code": 0, "ended_at": t + 1}
    )
    return [
        [created],
        [event("run.params", {"run_id": rid, "params": params})],
        [event("run.metrics", {"run_id": rid, "points": points})],
        [captured, ended],
    ]


def _sweep_appends(i: int) -> list[list[Event]]:
    """The writes of one run of the generated store (a short backtest of a sweep)."""
    gen = Generator(0)
    gen.run(i)
    appends: list[list[Event]] = []
    last_at = None
    for _seq, at, _actor, kind, _run_id, payload, _prev, _digest in gen.events:
        if at != last_at:
            appends.append([])
            last_at = at
        appends[-1].append(event(kind, json.loads(payload)))
    return appends


@contextlib.contextmanager
def _without_chain(store: Any) -> Iterator[None]:
    from pedigree.store.projections import apply
    from pedigree.store.reader import Reader

    def write(build: Any, *, actor: str, at: float | None = None) -> int:
        with store._write_conn() as conn:
            for ev in build(Reader(conn)):
                apply(conn, ev.KIND, ev.payload())
            return 0

    store.write = write
    try:
        yield
    finally:
        del store.write


def bench_append(tmp: Path, runs: int) -> dict[str, Any]:
    """CPU time of SQLStore.append for one run's writes, with and without the chain."""
    from pedigree.store.sql import open_store, sqlite_uri

    out: dict[str, Any] = {}
    for label, make in (
        ("foundation run", lambda i: _foundation_appends()),
        ("sweep backtest", _sweep_appends),
    ):
        samples: dict[str, list[float]] = {"with": [], "without": []}
        for r in range(7):
            for mode in ("with", "without") if r % 2 else ("without", "with"):
                store = open_store(sqlite_uri(tmp / f"append-{label[:5]}-{mode}-{r}.db"))
                batches = [make(i) for i in range(runs)]
                context = _without_chain(store) if mode == "without" else contextlib.nullcontext()
                with context:
                    start = time.process_time()
                    for appends in batches:
                        for events in appends:
                            store.append(events, actor="ann")
                    samples[mode].append((time.process_time() - start) / runs)
                store.close()
        with_, without = (statistics.median(samples[m]) for m in ("with", "without"))
        row(
            f"SQLStore.append CPU per {label}: without / with the chain",
            f"{without * 1000:.2f} / {with_ * 1000:.2f} ms",
            f"+{(with_ - without) * 1000:.2f} ms",
        )
        key = label.split()[0]
        out[f"append_{key}_without_ms"] = without * 1000
        out[f"append_{key}_with_ms"] = with_ * 1000
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events, fewer repeats")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--postgres", action="store_true", help="also verify on PostgreSQL")
    parser.add_argument("--repeat", type=int, default=3, help="verify this many times")
    parser.add_argument("--only", choices=["verify", "overhead"], help="run one half")
    parser.add_argument("--keep", metavar="DIR", help="keep (and reuse) the generated store here")
    parser.add_argument(
        "--rounds", type=int, default=None, help="SDK overhead rounds (default 7; 3 with --quick)"
    )
    args = parser.parse_args(argv)
    n = args.events or (100_000 if args.quick else 1_000_000)
    results: dict[str, Any] = {"events": n}
    with tempfile.TemporaryDirectory(prefix="pedigree-bench-audit-") as tmpdir:
        tmp = Path(tmpdir)
        if args.only != "overhead":
            results.update(_verify_half(args, n, Path(args.keep) if args.keep else tmp))
        if args.only != "verify":
            results.update(bench_append(tmp, 10 if args.quick else 40))
            rounds = args.rounds or (3 if args.quick else 7)
            results.update(bench_sdk_overhead(tmp, 10 if args.quick else 30, rounds))
    record("audit", results)
    return 0


def _verify_half(args: argparse.Namespace, n: int, where: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    where.mkdir(parents=True, exist_ok=True)
    db = where / f"audit-{n}.db"
    uri = f"sqlite:///{db}"
    gen = None
    if not db.exists():
        start = time.perf_counter()
        gen = Generator(n)
        gen.generate()
        print(f"  (generated {len(gen.events):,} events in {time.perf_counter() - start:.1f} s)")
        start = time.perf_counter()
        load(uri, gen)
        print(f"  (loaded into SQLite in {time.perf_counter() - start:.1f} s)")
    results.update(bench_verify(uri, "sqlite", args.repeat))
    if args.postgres:
        from pedigree.testing.postgres import TemporaryPostgres

        if gen is None:
            gen = Generator(n)
            gen.generate()
        with TemporaryPostgres() as pg:
            pg_uri = pg.create_database("bench_audit")
            start = time.perf_counter()
            load(pg_uri, gen)
            print(f"  (loaded into PostgreSQL in {time.perf_counter() - start:.1f} s)")
            results.update(bench_verify(pg_uri, "postgresql", args.repeat))
    return results


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
