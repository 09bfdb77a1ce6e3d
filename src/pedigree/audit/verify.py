"""``audit verify``: check the hash chain, and that every table is what the log says it is.

Two checks over one consistent snapshot of the database:

1. The chain. Events are numbered from 1 without gaps; each one's ``prev`` is the digest of the
   event before it (``GENESIS`` for the first); each digest is recomputed from the stored fields
   (:func:`pedigree.store.chain.event_digest`); the ``audit_head`` row names the last event. An
   edited event fails its digest; a removed, inserted or reordered one breaks the numbering or
   the links; a truncated log disagrees with the head.

2. The tables. The log is folded into the rows every projected table must hold
   (:class:`pedigree.audit.model.Model`) and the tables are read and compared with them: a
   changed column, a row the log never wrote (an INSERT behind Pedigree's back) and a row the log
   wrote that is gone (a DELETE) are each reported with the table and the primary key. Metric
   points have no natural key; they are compared in logging order (``id`` order), so moving
   points around is caught too.

   ``run_edges`` (run-to-run edges, see ``store.edges``) is derived from other tables rather
   than written by events of its own: it is compared, in SQL, with the edges ``run_io``,
   ``tree_entries``, ``datasets`` and ``reproductions`` make (those being checked against the
   log as above); an edge missing from it and an edge it has that they do not make are each
   reported with the table and the edge.

With two or more cores and a large log the work is shared out by ranges of run ids across processes
(``pedigree.audit.check``). On PostgreSQL every process reads one exported snapshot; on SQLite each
reads its own, and the check starts again if a write landed in between (the last attempt reads in
one process, so a busy store is still checked, only more slowly).

>>> from pedigree.store.events import RunCreated
>>> from pedigree.store.sql import open_store
>>> store = open_store("sqlite://")
>>> run = RunCreated(id="0190e0a0-0000-7000-8000-000000000001", experiment="e")
>>> _ = store.append([run], actor="ann")
>>> report = verify(store)
>>> report.ok, report.events, report.problems[:1]
(True, 1, [])
"""

from __future__ import annotations

import gc
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pedigree.audit.check import Part, PartResult, ProgressFn, check_part, find_broken_links
from pedigree.audit.compare import Problem, Problems
from pedigree.audit.reader import Reader, run_bounds, translate_errors
from pedigree.errors import InvalidInput, StoreError
from pedigree.store.chain import GENESIS

if TYPE_CHECKING:
    from pedigree.store.remote import RemoteStore
    from pedigree.store.sql import SQLStore

__all__ = ["DERIVED", "UNVERIFIED", "Problem", "Report", "parse_anchor", "verify"]

# Tables that are not projections of the log: operational state, the head row, migrations.
UNVERIFIED = frozenset(
    {"audit_events", "audit_head", "run_liveness", "alembic_version", "server_batches"}
)
# Tables computed from the other (verified) tables: compared with a recomputation in SQL.
DERIVED = frozenset({"run_edges"})
# Below this many events one process is faster than starting others.
PARALLEL_MIN_EVENTS = 150_000
_ATTEMPTS = 3
# PostgreSQL, for the check's transaction: every scan from the start of its table (a scan that
# joins another in the middle, to share its reads, returns the rows in another order than the
# order they were written in, which costs a comparison by key), and no JIT compilation (the
# statements are simple scans, which LLVM would spend longer compiling than running).
_PG_SETTINGS = "SET LOCAL synchronize_seqscans = off; SET LOCAL jit = off"
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Report:
    """What ``audit verify`` found. ``ok`` is true only when nothing disagrees."""

    events: int = 0
    head_seq: int = 0
    head_digest: str = GENESIS
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    anchor: dict[str, Any] | None = None
    processes: int = 1
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head": {"seq": self.head_seq, "digest": self.head_digest},
            "rows": self.rows,
            "anchor": self.anchor,
            "problem_count": self.problem_count,
            "problems": [p.to_json() for p in self.problems],
            "seconds": round(self.seconds, 3),
        }


def parse_anchor(text: str) -> str:
    """A digest as ``audit anchor`` prints it: ``blake3:<hex>``, or the bare hex."""
    value = text.strip().lower()
    hexpart = value.removeprefix("blake3:")
    if not _HEX.match(hexpart):
        raise InvalidInput(
            f"not an anchor: {text!r} (expected blake3:<64 hex characters>, "
            "as `pedigree audit anchor` prints it)"
        )
    return "blake3:" + hexpart


def verify(
    store: SQLStore | RemoteStore,
    *,
    anchor: str | None = None,
    progress: ProgressFn | None = None,
    max_problems: int = 50,
    processes: int | None = None,
    in_process: bool = False,
    tables: bool = True,
) -> Report:
    """Check the chain and the tables; returns a :class:`Report` (``report.ok``).

    ``anchor`` (a digest from ``audit anchor``) also requires that the log still holds that
    digest, which proves that the history up to it was not rewritten. ``processes`` sets the
    number of shares the work is split into, each in its own process (default: one per core when
    the log is large enough to be worth it); ``in_process`` checks the shares one after another
    in this process instead (for tests and debugging). ``tables=False`` checks the chain only
    (every digest, the links, the head, the anchor): a fraction of the time, and still proof that
    the log was not changed, but not that the tables agree with it.
    """
    from pedigree.store.remote import RemoteStore

    if isinstance(store, RemoteStore):
        # The team server holds the database: it verifies, and answers the report.
        return _remote_verify(store, anchor=anchor, max_problems=max_problems, tables=tables)
    started = time.perf_counter()
    base = Part(
        anchor=parse_anchor(anchor) if anchor is not None else None,
        limit=max_problems,
        tables=tables,
    )
    gc_was_enabled = gc.isenabled()
    # Millions of small tuples: the cyclic collector would walk them over and over for nothing.
    gc.disable()
    try:
        for attempt in range(_ATTEMPTS):
            # Processes on SQLite each read their own snapshot: when a write landed between
            # them, start again, and at the last attempt read in one process (one snapshot).
            last = attempt == _ATTEMPTS - 1
            outcome = _run(store, base, progress, 1 if last else processes, in_process)
            if outcome is not None:
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    assert outcome is not None
    results, events, chain_problems, derived = outcome
    report = Report(processes=len(results), events=events)
    problems = _merge(results, base, report, chain_problems)
    if derived is not None:
        rows, found = derived
        report.rows["run_edges"] = rows
        problems += found.items
        report.problem_count += found.count
    report.problems = sorted(problems, key=lambda p: (p.seq is None, p.seq or 0))[:max_problems]
    if report.anchor is not None:
        report.anchor["extends"] = report.anchor["seq"] is not None and report.ok
    report.seconds = time.perf_counter() - started
    return report


def _remote_verify(
    store: RemoteStore, *, anchor: str | None, max_problems: int, tables: bool
) -> Report:
    started = time.perf_counter()
    body = {"anchor": anchor, "max_problems": max_problems, "tables": tables}
    answer = store.call("POST", "/api/v1/audit/verify", body)
    report = Report(
        events=int(answer["events"]),
        head_seq=int(answer["head"]["seq"]),
        head_digest=str(answer["head"]["digest"]),
        rows={str(k): int(v) for k, v in answer["rows"].items()},
        problems=[
            Problem(str(p["table"]), str(p["key"]), str(p["message"]), p.get("seq"))
            for p in answer["problems"]
        ],
        problem_count=int(answer["problem_count"]),
        anchor=answer.get("anchor"),
    )
    report.seconds = time.perf_counter() - started
    return report


def _links_hold(results: list[PartResult], events: int) -> bool:
    """Whether the shares' link sums prove every event links to the one before it.

    Every event claims "seq - 1 has digest prev" and states "seq has digest d". With the seqs
    1..N, the chain holds exactly when the claims, less the first one's (0, GENESIS), are the
    statements less the last one's: two multisets, compared by sums of a keyed hash (Python's
    SipHash under a key drawn for this check, so they cannot be forged to cancel out).
    """
    seen = [r for r in results if r.last is not None]
    if not seen:
        return events == 0
    first = min(r.first for r in seen if r.first is not None)
    top = max(seen, key=lambda r: r.last[0] if r.last else 0)
    assert top.last is not None
    if first != 1 or top.last[0] != events:
        return False
    claims = (sum(r.links_in for r in results) - results[0].genesis_hash) % 2**64
    states = (sum(r.links_out for r in results) - top.last_hash) % 2**64
    return claims == states


def _merge(
    results: list[PartResult], base: Part, report: Report, chain_problems: list[Problem]
) -> list[Problem]:
    problems = [p for r in results for p in r.problems] + chain_problems
    report.problem_count = sum(r.problem_count for r in results) + len(chain_problems)

    def add(table: str, key: str, message: str, seq: int | None) -> None:
        problems.append(Problem(table, key, message, seq))
        report.problem_count += 1

    for r in results:
        for table, n in r.rows.items():
            report.rows[table] = report.rows.get(table, 0) + n
    checked = sum(r.digests for r in results)
    if checked != report.events:  # a guard on the sharing-out, not on the store
        add("audit_events", "(all)", f"{report.events - checked} events were not checked", None)
    tops = [r.last for r in results if r.last is not None]
    last_seq, last_digest = max(tops) if tops else (0, GENESIS)
    head = results[0].head
    if head is None:
        add("audit_head", "(id=1)", "the head row is missing", None)
    else:
        report.head_seq, report.head_digest = head
        if head != (last_seq, last_digest):
            head_seq, head_digest = head
            if head_seq > last_seq:
                what = "the log was truncated"
            elif head_seq < last_seq:
                what = "events were appended behind Pedigree's back"
            else:
                what = "the head row or the last event was changed"
            add(
                "audit_head",
                "(id=1)",
                f"names seq {head_seq} ({head_digest[:19]}…) but the log ends at seq {last_seq} "
                f"({str(last_digest)[:19]}…): {what}",
                min(head_seq, last_seq) + 1,
            )
    if base.anchor is not None:
        seqs = [r.anchor_seq for r in results if r.anchor_seq is not None]
        found = min(seqs) if seqs else None
        if found is None and base.anchor == GENESIS:
            # The head of an empty log (what `audit anchor` prints before the first write):
            # every log extends it, since the chain check holds seq 1 to linking to it.
            found = 0
        if found is None:
            add(
                "anchor",
                base.anchor[:19] + "…",
                f"no event of the log ({report.events} events) has this digest: the history up "
                "to the anchor was rewritten or truncated, or the anchor comes from another store",
                None,
            )
        report.anchor = {"digest": base.anchor, "seq": found}
    return problems


def _process_count(store: SQLStore, events: int, processes: int | None, in_process: bool) -> int:
    database = store.engine.url.database
    if processes is not None and in_process:
        return max(1, processes)
    if store.dialect == "sqlite" and (not database or database == ":memory:"):
        return 1  # no other process can open it
    if processes is not None:
        return max(1, min(processes, 16))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, 8) if events >= PARALLEL_MIN_EVENTS else 1


# The shares' results, the number of events, the chain's problems, and (when the tables are
# checked) the rows of run_edges and its problems.
Outcome = tuple[list[PartResult], int, list[Problem], tuple[int, Problems] | None]


def _check_edges(reader: Reader, limit: int) -> tuple[int, Problems]:
    """``run_edges`` against the edges the other tables make, computed in SQL."""
    # (Here rather than at the top: worker processes import neither the store nor SQLAlchemy.)
    from pedigree.store import edges

    found = Problems(limit)
    table = edges.TABLE
    for chunk in reader.stream(edges.difference_select()):
        for what, src, dst in chunk:
            key = f"(src={src!r}, dst={dst!r})"
            if what == "missing":
                found.add(
                    table,
                    key,
                    "the edge is missing: run_io, tree_entries, datasets and reproductions make "
                    "it (deleted)",
                )
            else:
                found.add(
                    table,
                    key,
                    "run_io, tree_entries, datasets and reproductions do not make this edge "
                    "(inserted, or the rows it rests on were changed)",
                )
        if found.flooded:
            break
    rows = int(reader.all(f'SELECT COUNT(*) FROM "{table}"')[0][0])
    return rows, found


def _run(
    store: SQLStore,
    base: Part,
    progress: ProgressFn | None,
    processes: int | None,
    in_process: bool,
) -> Outcome | None:
    """The shares' results, the number of events and the chain's link problems; None when the
    processes did not all read the same state (a write landed while they started)."""
    dbapi_error: type[BaseException] = store.engine.dialect.dbapi.Error  # type: ignore[union-attr]
    with translate_errors(dbapi_error), store.read() as snapshot:
        conn = snapshot.conn
        if store.dialect == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            conn.exec_driver_sql(_PG_SETTINGS)
        reader = Reader(conn.connection.driver_connection, store.dialect)
        head = reader.all('SELECT "seq", "digest" FROM "audit_head" WHERE "id" = 1')
        events = int(reader.all('SELECT COUNT(*) FROM "audit_events"')[0][0])
        events_now = int(head[0][0]) if head else 0
        n = _process_count(store, events_now, processes, in_process)
        bounds = run_bounds(reader, n)
        parts = [Part(i, n, base.anchor, base.limit, base.tables, bounds) for i in range(n)]
        if n == 1 or in_process:
            results = [check_part(reader, p, progress if p.index == 0 else None) for p in parts]
        else:
            results = _in_processes(store, reader, parts, progress)
            mine = (int(head[0][0]), str(head[0][1])) if head else None
            if {r.head for r in results} != {mine}:
                return None
        chain: list[Problem] = []
        if not _links_hold(results, events):
            found = Problems(base.limit)
            find_broken_links(reader, found)  # the slow path, to say where
            chain = found.items
            if not chain:
                chain = [Problem("audit_events", "(all)", "the chain's links do not add up")]
        derived = _check_edges(reader, base.limit) if base.tables else None
        return results, events, chain, derived


# -- worker processes ---------------------------------------------------------------------------
# A worker is `python -m pedigree.audit.verify` with the job on stdin, progress lines and then
# its PartResult as JSON on stdout: a plain subprocess, so that nothing of the caller's __main__
# is re-imported (as multiprocessing's spawn would do) and the worker imports neither
# SQLAlchemy nor the CLI. All shares run in workers started with one PYTHONHASHSEED, drawn for
# this check, so that their link sums (Python's keyed hash) add up.


def _in_processes(
    store: SQLStore, reader: Reader, parts: list[Part], progress: ProgressFn | None
) -> list[PartResult]:
    snapshot_id = None
    if store.dialect == "postgresql":
        snapshot_id = reader.all("SELECT pg_export_snapshot()")[0][0]
    url = store.engine.url
    target = (
        url.database or ""
        if store.dialect == "sqlite"
        else url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    env = {**os.environ, "PYTHONHASHSEED": str(secrets.randbelow(2**32))}
    workers = [_Worker(store.dialect, target, p, snapshot_id, env) for p in parts]
    try:
        while any(w.running for w in workers):
            time.sleep(0.05)
            if progress is not None:
                done = [w.done for w in workers]
                progress(min(done), max(w.total for w in workers))
        return [w.result() for w in workers]
    finally:
        for w in workers:
            w.stop()


class _Worker:
    def __init__(
        self, dialect: str, target: str, part: Part, snapshot: str | None, env: dict[str, str]
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pedigree.audit.verify"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert self.proc.stdin is not None
        job = {"dialect": dialect, "target": target, "part": asdict(part), "snapshot": snapshot}
        self.proc.stdin.write(json.dumps(job).encode())
        self.proc.stdin.close()
        self.done = self.total = 0
        self._result: PartResult | None = None
        self._err = b""
        self._readers = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(b"progress "):
                done, total = line.split()[1:3]
                self.done, self.total = int(done), int(total)
            elif line.startswith(b"result "):
                self._result = PartResult.from_json(json.loads(line[7:]))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self._err = self.proc.stderr.read()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def result(self) -> PartResult:
        self.proc.wait()
        self._close()
        if self.proc.returncode != 0 or self._result is None:
            lines = self._err.decode(errors="replace").strip().splitlines()
            last = lines[-1] if lines else f"exit {self.proc.returncode}"
            raise StoreError(f"an audit check process failed: {last}")
        return self._result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        for t in self._readers:
            t.join()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()


def _worker(job: dict[str, Any]) -> PartResult:
    part = Part(**{**job["part"], "bounds": tuple(job["part"]["bounds"])})

    def report(done: int, total: int) -> None:
        sys.stdout.write(f"progress {done} {total}\n")
        sys.stdout.flush()

    if job["dialect"] == "sqlite":
        import sqlite3

        conn: Any = sqlite3.connect(job["target"], isolation_level=None, timeout=60)
        with translate_errors(sqlite3.Error):
            conn.execute("BEGIN")
            try:
                return check_part(Reader(conn, "sqlite"), part, report)
            finally:
                conn.execute("ROLLBACK")
                conn.close()
    import psycopg

    with translate_errors(psycopg.Error), psycopg.connect(job["target"]) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if job["snapshot"]:
            conn.execute(f"SET TRANSACTION SNAPSHOT '{job['snapshot']}'")
        conn.execute(_PG_SETTINGS)
        try:
            return check_part(Reader(conn, "postgresql"), part, report)
        finally:
            conn.rollback()


def _main() -> int:
    gc.disable()
    job = json.loads(sys.stdin.buffer.read())
    result = _worker(job)
    sys.stdout.write("result " + json.dumps(result.to_json()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
