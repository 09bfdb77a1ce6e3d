"""Comparing tables with what the log says they hold, and the problems found.

:class:`TableCheck` compares one keyed table with the rows the model writes to it, as they
become final; :class:`MetricsCheck` compares metric points in logging order; :class:`Tables` is
the model's sink that routes rows to them. Problems are collected in :class:`Problems`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pedigree.audit.model import HELD, MUTABLE_TABLES, TABLES, Add, Put
from pedigree.audit.reader import Reader, quote

__all__ = ["MetricsCheck", "Problem", "Problems", "TableCheck", "Tables"]

Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One disagreement: where (a table, or the chain), which row, and what is wrong."""

    table: str
    key: str
    message: str
    seq: int | None = None  # the event concerned, when there is one

    def __str__(self) -> str:
        return f"{self.table} {self.key}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "key": self.key, "message": self.message, "seq": self.seq}


class Problems:
    """Collects problems; keeps enough to find the first ``limit`` in log order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[Problem] = []
        self.count = 0

    def add(self, table: str, key: str, message: str, seq: int | None = None) -> None:
        self.count += 1
        if len(self.items) < self.limit * 4:
            self.items.append(Problem(table, key, message, seq))

    @property
    def flooded(self) -> bool:
        return self.count > self.limit * 4


def _keydesc(names: Sequence[str], key: Sequence[Any]) -> str:
    return "(" + ", ".join(f"{n}={v!r}" for n, v in zip(names, key, strict=True)) + ")"


def _same(a: Any, b: Any) -> bool:
    """Equal as stored values: NaN equals NaN and NULL, 1 equals 1.0 and True."""
    if a == b:
        return True
    a_nan = a is None or (isinstance(a, float) and a != a)
    b_nan = b is None or (isinstance(b, float) and b != b)
    return a_nan and b_nan


def _same_row(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))


def _diffs(names: Sequence[str], actual: Sequence[Any], expected: Sequence[Any]) -> str:
    return "; ".join(
        f"{name} is {a!r} but the log says {b!r}"
        for name, a, b in zip(names, actual, expected, strict=True)
        if not _same(a, b)
    )


# -- reading a table ----------------------------------------------------------------------------


class _Rows:
    """A table's rows in the order of one SELECT, read in chunks and taken a slice at a time."""

    def __init__(self, reader: Reader, sql: str) -> None:
        self._reader = reader
        self._sql = sql
        self._chunks: Iterator[list[tuple[Any, ...]]] | None = None
        self._buf: list[tuple[Any, ...]] = []
        self._pos = 0
        self.taken = 0  # rows taken so far: the position in the SELECT's order

    def _fill(self, n: int) -> None:
        """Have at least ``n`` rows after the position (fewer at the end)."""
        if self._chunks is None:
            self._chunks = self._reader.stream(self._sql)
        buf = self._buf
        while len(buf) - self._pos < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                return
            if self._pos:
                del buf[: self._pos]
                self._pos = 0
            buf += chunk

    def peek(self, n: int) -> list[tuple[Any, ...]]:
        """The next ``n`` rows (fewer at the end), without taking them."""
        if len(self._buf) - self._pos < n:
            self._fill(n)
        return self._buf[self._pos : self._pos + n]

    def at(self, i: int) -> tuple[Any, ...] | None:
        """The row ``i`` places after the position, or None past the end."""
        if len(self._buf) - self._pos <= i:
            self._fill(i + 1)
        j = self._pos + i
        return self._buf[j] if j < len(self._buf) else None

    def skip(self, n: int) -> None:
        """Take ``n`` rows that :meth:`peek` has shown."""
        self._pos += n
        self.taken += n

    def take(self, n: int) -> list[tuple[Any, ...]]:
        rows = self.peek(n)
        self.skip(len(rows))
        return rows


class _Pending:
    """Final rows of one table not compared yet, in write order, and the events that wrote them:
    ``marks`` holds ``(end, seq)``, event ``seq`` having written ``rows[previous end:end]``."""

    __slots__ = ("marks", "rows")

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.marks: list[tuple[int, int]] = []

    def add(self, rows: list[Any], seq: int) -> None:
        mine = self.rows
        mine += rows
        self.marks.append((len(mine), seq))

    def with_seqs(self) -> Iterator[tuple[list[Any], int]]:
        """The rows each event wrote, event by event."""
        start = 0
        for end, seq in self.marks:
            yield self.rows[start:end], seq
            start = end

    def clear(self) -> None:
        self.rows.clear()
        self.marks.clear()


# Rows compared at a time: few, so that they are compared (and freed) while they are still in
# the CPU's caches, which made the check a third faster than batches of thousands.
_BATCH = 128


# -- metrics ------------------------------------------------------------------------------------


class MetricsCheck:
    """Metric rows in id order, matched against the points of each ``run.metrics`` event."""

    _COLUMNS = TABLES["metrics"][1]

    def __init__(self, reader: Reader, where: str, problems: Problems) -> None:
        self._reader = reader
        self._where = where
        cols = ", ".join(map(quote, self._COLUMNS))
        table = reader.scan("metrics")
        self._rows = _Rows(reader, f'SELECT {cols} FROM {table}{where} ORDER BY "id"')
        self._pending = _Pending()
        self.add = self._pending.add  # (rows, seq): the points one event logged
        self.problems = problems

    @property
    def consumed(self) -> int:
        """Table rows read so far (the position in id order)."""
        return self._rows.taken

    def drain(self, force: bool = False) -> None:
        pending = self._pending
        n = len(pending.rows)
        if n < _BATCH and not (force and n):
            return
        rows = self._rows
        if rows.peek(n) == pending.rows:
            rows.skip(n)
        else:
            for expected, seq in pending.with_seqs():
                self._slow(expected, seq)
        pending.clear()

    def _row_id(self, position: int) -> Any:
        table = self._reader.scan("metrics")
        found = self._reader.all(
            f'SELECT "id" FROM {table}{self._where} ORDER BY "id" LIMIT 1 OFFSET ?', [position]
        )
        return found[0][0] if found else None

    def _slow(self, expected: list[tuple[Any, ...]], seq: int) -> None:
        # Line the two sequences up again after a missing, extra or changed row.
        rows = self._rows
        i = 0
        while i < len(expected):
            exp = expected[i]
            row = rows.at(0)
            if row is not None and _same_row(row, exp):
                rows.skip(1)
                i += 1
                continue
            nxt = rows.at(1)
            if row is not None and nxt is not None and _same_row(nxt, exp):
                self._extra(row)
                rows.skip(1)
                continue
            if row is None or (i + 1 < len(expected) and _same_row(row, expected[i + 1])):
                self.problems.add(
                    "metrics",
                    f"(run_id={exp[0]!r}, key={exp[1]!r}, step={exp[2]!r})",
                    f"the point logged by event seq {seq} is missing (deleted)",
                    seq,
                )
                i += 1
                continue
            self.problems.add(
                "metrics",
                f"(id={self._row_id(rows.taken)!r})",
                f"{_diffs(self._COLUMNS, row, exp)} (event seq {seq})",
                seq,
            )
            rows.skip(1)
            i += 1

    def _extra(self, row: tuple[Any, ...]) -> None:
        self.problems.add(
            "metrics",
            f"(id={self._row_id(self._rows.taken)!r})",
            f"a point of run {row[0]!r}, key {row[1]!r}, step {row[2]!r} is not in the log "
            "(inserted)",
        )

    def finish(self) -> None:
        self.drain(force=True)
        rows = self._rows
        while (row := rows.at(0)) is not None and not self.problems.flooded:
            self._extra(row)
            rows.skip(1)


# -- keyed tables -------------------------------------------------------------------------------


class TableCheck:
    """One table, compared with the rows the model writes to it, as they become final.

    The table is read in its natural order, which on SQLite is the order rows were inserted in
    (an UPDATE keeps a row's place; a DELETE and INSERT moves it to the end): the order the model
    writes them in. So the final rows from the model are compared a batch at a time with the next
    rows of the table, as lists, and memory holds only the rows of runs still running. A batch
    that differs is reconciled by primary key: each row waits, by key, for the row with its key
    from the other side, and the rows still waiting at the end were inserted or deleted. Rows
    that are only out of place (PostgreSQL's scan order moves an updated row) wait a little;
    a changed row is reported with its key and the event that wrote it.
    """

    def __init__(
        self, reader: Reader, table: str, where: str, problems: Problems, running: set[str]
    ) -> None:
        self.table = table
        self.keys, self.cols = TABLES[table]
        self._npk = len(self.keys)
        self.mutable = table in MUTABLE_TABLES
        # Rows that may still change (mutable tables): ``order`` holds ``[key, row, seq, run,
        # alive]`` in table order (a moved row's old entry is marked dead), ``live`` the live
        # entry of each key.
        self._order: list[list[Any]] = []
        self._live: dict[Key, list[Any]] = {}
        self._pending = _Pending()
        self.add = self._pending.add  # (rows, seq): the final rows one event wrote
        self._running = running
        self._problems = problems
        columns = ", ".join(map(quote, (*self.keys, *self.cols)))
        self._rows = _Rows(reader, f"SELECT {columns} FROM {reader.scan(table)}{where}")
        # Rows waiting for their match, by key: from the model and from the table.
        self._missing: dict[Key, tuple[Any, int]] = {}
        self._extra: dict[Key, tuple[Any, ...]] = {}

    # -- from the model --

    def put(self, key: Key, row: Any, seq: int, run: str | None) -> None:
        entry = self._live.get(key)
        if entry is None:
            entry = self._live[key] = [key, row, seq, run, True]
            self._order.append(entry)
        else:
            entry[1] = row
            entry[2] = seq

    def move(self, key: Key, row: Any, seq: int, run: str | None) -> None:
        old = self._live.get(key)
        if old is not None:
            old[4] = False
        entry = self._live[key] = [key, row, seq, run, True]
        self._order.append(entry)

    # -- comparing --

    def drain(self, force: bool = False) -> None:
        if self._order:
            self._finalise(force)
        if len(self._pending.rows) >= _BATCH or force:
            self._compare()

    def _finalise(self, force: bool) -> None:
        """Move the entries at the front whose run has ended to the pending rows."""
        order, live, running = self._order, self._live, self._running
        rows, marks = self._pending.rows, self._pending.marks
        i = 0
        for key, row, seq, run, alive in order:
            if alive:
                if run in running and not force:
                    break
                del live[key]
                rows.append(tuple(row) if type(row) is list else row)
                marks.append((len(rows), seq))
            i += 1
        del order[:i]

    def _compare(self) -> None:
        pending = self._pending
        expected = pending.rows
        if not expected:
            return
        actual = self._rows.take(len(expected))
        if actual != expected:
            self._reconcile(pending.with_seqs(), actual)
        pending.clear()

    def _reconcile(
        self, expected: Iterable[tuple[list[Any], int]], actual: list[tuple[Any, ...]]
    ) -> None:
        npk, missing, extra = self._npk, self._missing, self._extra
        for rows, seq in expected:
            for row in rows:
                key = row[:npk]
                got = extra.pop(key, None)
                if got is None:
                    missing[key] = (row, seq)
                elif not _same_row(got, row):
                    self._changed(key, got, row, seq)
        for row in actual:
            key = row[:npk]
            exp = missing.pop(key, None)
            if exp is None:
                extra[key] = row
            elif not _same_row(exp[0], row):
                self._changed(key, row, exp[0], exp[1])

    def _changed(self, key: Key, row: Sequence[Any], expected: Sequence[Any], seq: int) -> None:
        npk = self._npk
        diffs = _diffs(self.cols, row[npk:], expected[npk:])
        self._problems.add(self.table, _keydesc(self.keys, key), f"{diffs} (event seq {seq})", seq)

    def finish(self) -> int:
        self.drain(force=True)
        rows = self._rows
        while (more := rows.take(_BATCH)) and not self._problems.flooded:
            self._reconcile((), more)
        table, keys, problems = self.table, self.keys, self._problems
        for key in self._extra:
            problems.add(table, _keydesc(keys, key), "this row is not in the log (inserted)")
        for key, (_row, seq) in self._missing.items():
            problems.add(
                table,
                _keydesc(keys, key),
                f"the row written by event seq {seq} is missing (deleted)",
                seq,
            )
        return rows.taken


def _ignore(key: Key, row: Any, seq: int, run: str | None) -> None:
    pass


def _drop(rows: list[Any], seq: int) -> None:
    pass


class Tables:
    """The model's sink: sends its rows to the tables this share checks, drops the others."""

    def __init__(self, checks: dict[str, TableCheck], running: set[str]) -> None:
        self.checks = checks
        self._running = running
        # Users and tokens may change at any time: their rows are compared at the end.
        running.add(HELD)

    def adder(self, table: str) -> Add:
        check = self.checks.get(table)
        return _drop if check is None else check.add

    def putter(self, table: str) -> Put:
        check = self.checks.get(table)
        if check is None:
            return _ignore
        if table == "runs":
            running = self._running
            put = check.put

            def put_run(key: Key, row: Any, seq: int, run: str | None) -> None:
                if run is not None:
                    running.add(run)
                put(key, row, seq, run)

            return put_run
        return check.put

    def mover(self, table: str) -> Put:
        check = self.checks.get(table)
        return _ignore if check is None else check.move

    def ended(self, run: str) -> None:
        self._running.discard(run)

    def drain(self) -> None:
        for check in self.checks.values():
            check.drain()
