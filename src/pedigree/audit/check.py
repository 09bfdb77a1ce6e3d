"""One share of ``audit verify``'s work, run in this process or in a worker process.

A share (:class:`Part`) is a range of run ids (the runs cut into ``count`` ranges of about as many
runs each, at ``bounds``; see :func:`pedigree.audit.reader.share`), plus, for share 0, the events
and tables that belong to no run. For each event of its share, :func:`check_part` recomputes the
digest, adds it to the share's sums of the chain's links (``verify`` adds up the shares' sums), and
folds the payload into the rows the tables must hold (:class:`pedigree.audit.model.Model`), which
are compared with the share's rows of every table as they become final
(:mod:`pedigree.audit.compare`). Every event's digest is checked by exactly one share, and the
shares need nothing from each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from pedigree.audit.compare import MetricsCheck, Problem, Problems, TableCheck, Tables
from pedigree.audit.model import (
    GLOBAL_KINDS,
    KEYED_TABLES,
    PARTITION_COLUMN,
    Model,
    ModelError,
    event_run,
)
from pedigree.audit.reader import Reader, quote, share
from pedigree.store.chain import GENESIS, row_digest

__all__ = ["Part", "PartResult", "ProgressFn", "check_part", "find_broken_links"]

_EVENT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "kind",
    "run_id",
    "payload",
    "prev",
    "digest",
    "identity",
)
ProgressFn = Callable[[int, int], None]
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Part:
    """A share of the work (see the module docstring)."""

    index: int = 0
    count: int = 1
    anchor: str | None = None
    limit: int = 50
    tables: bool = True  # False: the chain only
    bounds: tuple[str, ...] = ()  # the run ids that cut the shares (see reader.share)


@dataclass
class PartResult:
    head: tuple[int, str] | None = None
    digests: int = 0  # events whose digest this share recomputed
    first: int | None = None  # the lowest seq among them
    last: tuple[int, str] | None = None  # the highest seq among them, and its digest
    # The chain's links, as keyed multiset sums (see check_links_sums): each event adds the
    # hash of (seq - 1, prev) to ``links_in`` and of (seq, digest) to ``links_out``.
    links_in: int = 0
    links_out: int = 0
    genesis_hash: int = 0  # hash((0, GENESIS)) and hash(last) under this process's hash key
    last_hash: int = 0
    anchor_seq: int | None = None
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "problems": [p.to_json() for p in self.problems]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartResult:
        data = dict(data)
        data["problems"] = [Problem(**p) for p in data["problems"]]
        for k in ("head", "last"):
            data[k] = tuple(data[k]) if data[k] is not None else None
        return cls(**data)


# -- the chain ----------------------------------------------------------------------------------


def find_broken_links(reader: Reader, problems: Problems) -> None:
    """Report every gap in the numbering and every ``prev`` that is not the digest before it.

    The slow path, run only when the link sums of the shares do not add up: a window over the
    primary key in the database (on SQLite it has to read every payload to reach ``prev``).
    """
    sql = (
        'SELECT "seq", "prev", "lseq", "ldigest" FROM (SELECT "seq", "prev", '
        'LAG("seq") OVER (ORDER BY "seq") AS "lseq", '
        'LAG("digest") OVER (ORDER BY "seq") AS "ldigest" FROM "audit_events") AS "x" '
        'WHERE "lseq" IS NULL OR "seq" <> "lseq" + 1 OR "prev" <> "ldigest" OR "prev" IS NULL'
    )
    for chunk in reader.stream(sql):
        for seq, prev, lseq, ldigest in chunk:
            if lseq is None:
                lseq, ldigest = 0, GENESIS
            if seq != lseq + 1:
                problems.add(
                    "audit_events",
                    f"seq {lseq + 1}",
                    f"missing: the log jumps from seq {lseq} to seq {seq} "
                    "(events deleted or renumbered)",
                    lseq + 1,
                )
            elif prev != ldigest:
                # Shortened unless that would print two different digests the same way.
                a, b = str(prev), str(ldigest)
                if a[:19] != b[:19]:
                    a, b = a[:19] + "…", b[:19] + "…"
                problems.add(
                    "audit_events",
                    f"seq {seq}",
                    f"does not link to the event before it (its prev is {a}, "
                    f"seq {lseq} has digest {b}): events were removed, inserted or reordered",
                    seq,
                )
        if problems.flooded:
            break


def _scanner() -> Callable[[str, int], tuple[Any, int]]:
    # The decoder's C scanner, called directly: json.loads adds a whitespace regex on top.
    return json.JSONDecoder().scan_once  # type: ignore[attr-defined,no-any-return]


def _parser() -> Callable[[str], Any]:
    """``json.loads`` for canonical JSON, without its checks for whitespace and encodings."""
    scan = _scanner()

    def parse(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except StopIteration as exc:
            raise ValueError(f"not JSON (at character {exc.value})") from None
        if end != len(text):
            raise ValueError(f"not JSON (extra data at character {end})")
        return value

    return parse


# -- one share ----------------------------------------------------------------------------------


# Events folded between two comparisons of the tables: few, so that the rows compared are still
# in the CPU's caches (see reader._CHUNK).
_STEP = 100
_PROGRESS = 5_000  # events between two progress reports


def _slices(chunks: Iterator[list[Row]], size: int) -> Iterator[list[Row]]:
    for chunk in chunks:
        if len(chunk) <= size:
            yield chunk
        else:
            for start in range(0, len(chunk), size):
                yield chunk[start : start + size]


def check_part(reader: Reader, part: Part, progress: ProgressFn | None = None) -> PartResult:
    """Check one share of the chain and of the tables, in ``reader``'s snapshot."""
    problems = Problems(part.limit)
    result = PartResult()
    head = reader.all('SELECT "seq", "digest" FROM "audit_head" WHERE "id" = 1')
    result.head = (int(head[0][0]), str(head[0][1])) if head else None
    total = result.head[0] if result.head else 0
    index, count = part.index, part.count
    split = count > 1

    bounds = tuple(part.bounds)
    if split and len(bounds) != count - 1:
        raise ValueError("a share needs count - 1 bounds")
    where_events = ""
    if split:
        kinds = ", ".join(f"'{k}'" for k in sorted(GLOBAL_KINDS))
        mine = reader.in_share("run_id", bounds, index)
        if index == 0:
            where_events = f' WHERE "run_id" IS NULL OR "kind" IN ({kinds}) OR {mine}'
        else:
            where_events = f' WHERE "run_id" IS NULL OR ("kind" NOT IN ({kinds}) AND {mine})'

    def table_where(table: str) -> str | None:
        """The rows of ``table`` this share checks ("" for all), or None for none."""
        if not split:
            return ""
        column = PARTITION_COLUMN.get(table)
        if column is None:
            return "" if index == 0 else None
        return f" WHERE {reader.in_share(column, bounds, index)}"

    running: set[str] = set()
    checks = {
        table: TableCheck(reader, table, where, problems, running)
        for table in KEYED_TABLES
        if part.tables and (where := table_where(table)) is not None
    }
    tables = Tables(checks, running)
    model = Model(tables)
    metrics = MetricsCheck(reader, table_where("metrics") or "", problems)
    add_metrics = metrics.add
    folds = model.folds
    parse = _parser()
    scan = _scanner()
    anchor = part.anchor
    check_all = not split or index == 0
    with_tables = part.tables
    digests = 0
    links_in = links_out = 0
    first: int | None = None
    last_seq: int | None = None
    last_digest = GENESIS
    cols = ", ".join(map(quote, _EVENT_COLUMNS))
    sql = f'SELECT {cols} FROM {reader.scan("audit_events")}{where_events} ORDER BY "seq"'
    reported = 0
    for chunk in _slices(reader.stream(sql), _STEP):
        for seq, at, actor, kind, run_id, text, prev, digest, identity in chunk:
            # Each event's digest is recomputed by exactly one share: the share of its run, or
            # share 0 for events of no run (those every share reads, to fold what is theirs).
            if check_all or (run_id is not None and kind not in GLOBAL_KINDS):
                digests += 1
                # The links cross shares: each share sums what its events claim (seq - 1 has
                # digest prev) and what they are (seq has digest digest); see verify.
                links_in += hash((seq - 1, prev))
                links_out += hash((seq, digest))
                if first is None:
                    first = seq
                last_seq, last_digest = seq, digest
                try:
                    good = digest == row_digest(seq, at, actor, kind, run_id, text, prev, identity)
                except (TypeError, ValueError, UnicodeError, OverflowError):
                    good = False
                if not good:
                    problems.add(
                        "audit_events",
                        f"seq {seq}",
                        "its content does not match its digest: the event was edited",
                        seq,
                    )
                if digest == anchor and (result.anchor_seq is None or seq < result.anchor_seq):
                    result.anchor_seq = seq
            if not with_tables:
                continue
            payload: Any = None
            if split:
                if run_id is None and kind not in GLOBAL_KINDS:
                    try:
                        payload = parse(text)
                        owner = event_run(kind, payload)
                    except (ValueError, TypeError, AttributeError):
                        owner = None
                    if share(owner, bounds) != index:
                        continue
                elif kind in GLOBAL_KINDS and index != 0:
                    continue
            try:
                if payload is None:
                    payload, end = scan(text, 0)
                    if end != len(text):
                        raise ValueError(f"not JSON (extra data at character {end})")
                points = folds[kind](seq, payload)
            except StopIteration as exc:  # what the JSON scanner raises for no value
                problems.add(
                    "audit_events", f"seq {seq}", f"malformed payload: not JSON ({exc})", seq
                )
                continue
            except ModelError as exc:
                problems.add(
                    "audit_events",
                    f"seq {seq}",
                    f"{exc}: the log is not a history Pedigree could have written",
                    seq,
                )
                continue
            except ValueError as exc:
                problems.add("audit_events", f"seq {seq}", f"malformed payload: {exc}", seq)
                continue
            except KeyError as exc:
                if kind not in folds:
                    problems.add(
                        "audit_events",
                        f"seq {seq}",
                        f"event kind {kind!r} is unknown to this version of the verifier: the "
                        "log is not a history Pedigree could have written",
                        seq,
                    )
                    continue
                problems.add(
                    "audit_events",
                    f"seq {seq}",
                    f"a {kind} payload Pedigree could not have written (KeyError: {exc})",
                    seq,
                )
                continue
            except (TypeError, IndexError, AttributeError) as exc:
                problems.add(
                    "audit_events",
                    f"seq {seq}",
                    f"a {kind} payload Pedigree could not have written "
                    f"({type(exc).__name__}: {exc})",
                    seq,
                )
                continue
            if points is not None:
                add_metrics(points, seq)
        tables.drain()
        metrics.drain()
        if progress is not None and chunk and chunk[-1][0] - reported >= _PROGRESS:
            reported = chunk[-1][0]
            progress(min(int(reported), total), total)
    result.digests = digests
    result.first = first
    result.last = (last_seq, last_digest) if last_seq is not None else None
    last = result.last
    result.links_in, result.links_out = links_in % 2**64, links_out % 2**64
    result.genesis_hash = hash((0, GENESIS)) % 2**64
    result.last_hash = hash(last) % 2**64 if last is not None else 0
    if part.tables:
        metrics.finish()
        result.rows["metrics"] = metrics.consumed
    for table, check in checks.items():
        result.rows[table] = check.finish()
    result.problems = problems.items
    result.problem_count = problems.count
    return result
