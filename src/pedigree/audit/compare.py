"""Comparing tables with what the log says they hold, and the problems found.

:class:`TableCheck` compares one keyed table with the rows the model writes to it, as they
become final; :class:`MetricsCheck` compares metric points in logging order; :class:`Tables` is
the model's sink that routes rows to them. Problems are collected in :class:`Problems`.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pedigree.audit.model import MUTABLE_TABLES, TABLES, Add, Put
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


# -- metrics ------------------------------------------------------------------------------------


class MetricsCheck:
    """Metric rows in id order, matched against the points of each ``run.metrics`` event."""

    _COLUMNS = TABLES["metrics"][1]

    def __init__(self, reader: Reader, where: str, problems: Problems) -> None:
        self._reader = reader
        self._where = where
        cols = ", ".join(map(quote, self._COLUMNS))
        self._chunks = reader.stream(f'SELECT {cols} FROM "metrics"{where} ORDER BY "id"')
        self._buf: list[tuple[Any, ...]] = []
        self._pos = 0
        self.consumed = 0  # rows taken so far: the position in id order
        self.problems = problems

    def _fill(self, n: int) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        while len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                return
            self._buf.extend(chunk)

    def _peek(self, i: int) -> tuple[Any, ...] | None:
        if self._pos + i >= len(self._buf):
            self._fill(i + 1)
        j = self._pos + i
        return self._buf[j] if j < len(self._buf) else None

    def _take(self) -> None:
        self._pos += 1
        self.consumed += 1

    def _row_id(self, position: int) -> Any:
        rows = self._reader.all(
            f'SELECT "id" FROM "metrics"{self._where} ORDER BY "id" LIMIT 1 OFFSET ?', [position]
        )
        return rows[0][0] if rows else None

    def check(self, expected: list[tuple[Any, ...]], seq: int) -> None:
        n = len(expected)
        if len(self._buf) - self._pos < n:
            self._fill(n)
        if self._buf[self._pos : self._pos + n] == expected:
            self._pos += n
            self.consumed += n
            return
        self._slow(expected, seq)

    def _slow(self, expected: list[tuple[Any, ...]], seq: int) -> None:
        # Line the two sequences up again after a missing, extra or changed row.
        i = 0
        while i < len(expected):
            exp = expected[i]
            row = self._peek(0)
            if row is not None and _same_row(row, exp):
                self._take()
                i += 1
                continue
            nxt = self._peek(1)
            if row is not None and nxt is not None and _same_row(nxt, exp):
                self._extra(row)
                self._take()
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
                f"(id={self._row_id(self.consumed)!r})",
                f"{_diffs(self._COLUMNS, row, exp)} (event seq {seq})",
                seq,
            )
            self._take()
            i += 1

    def _extra(self, row: tuple[Any, ...]) -> None:
        self.problems.add(
            "metrics",
            f"(id={self._row_id(self.consumed)!r})",
            f"a point of run {row[0]!r}, key {row[1]!r}, step {row[2]!r} is not in the log "
            "(inserted)",
        )

    def finish(self) -> None:
        while (row := self._peek(0)) is not None and not self.problems.flooded:
            self._extra(row)
            self._take()


# -- keyed tables -------------------------------------------------------------------------------

_BATCH = 2_000


class TableCheck:
    """One table, compared with the rows the model writes to it, as they become final.

    The table is read in its natural order, which on SQLite is the order rows were inserted in
    (an UPDATE keeps a row's place; a DELETE and INSERT moves it to the end): the order the model
    writes them in. So each batch of final rows from the model is compared with the next rows of
    the table (as sorted lists when the order differs, since one write may insert its rows in
    another order), and memory holds only the rows of runs still running. From the first batch
    that differs (or on a database whose scan order is another), the rest of the table is
    compared by primary key instead, which names exactly what differs.
    """

    def __init__(
        self, reader: Reader, table: str, where: str, problems: Problems, running: set[str]
    ) -> None:
        self.table = table
        self.keys, self.cols = TABLES[table]
        self.mutable = table in MUTABLE_TABLES
        # Rows whose run is still running, by key, in write order (mutable tables).
        self.queue: OrderedDict[Key, list[Any]] = OrderedDict()
        # Final rows, in write order: (row, seq).
        self.final: list[tuple[Any, int]] = []
        self._running = running
        self._problems = problems
        columns = ", ".join(map(quote, (*self.keys, *self.cols)))
        self._sql = f"SELECT {columns} FROM {quote(table)}{where}"
        self._reader = reader
        self._chunks: Iterator[list[tuple[Any, ...]]] | None = None
        self._buf: list[tuple[Any, ...]] = []
        self._pos = 0
        self.count = 0  # table rows read
        self._rest: dict[Key, tuple[Any, int]] | None = None  # by key, after a difference
        self._rest_rows: list[tuple[Any, ...]] = []

    # -- from the model (``final.append`` takes the rows that never change) --

    def put(self, key: Key, row: Any, seq: int, run: str | None) -> None:
        entry = self.queue.get(key)
        if entry is None:
            self.queue[key] = [row, seq, run]
        else:
            entry[0], entry[1] = row, seq

    def move(self, key: Key, row: Any, seq: int, run: str | None) -> None:
        self.queue.pop(key, None)
        self.queue[key] = [row, seq, run]

    # -- comparing --

    def drain(self, force: bool = False) -> None:
        if self.mutable:
            # The rows at the front whose run has ended are final, in table order.
            queue, running, final = self.queue, self._running, self.final
            while queue:
                entry = next(iter(queue.values()))
                if not force and entry[2] in running:
                    break
                queue.popitem(last=False)
                row = entry[0]
                final.append((tuple(row) if type(row) is list else row, entry[1]))
        final = self.final
        while len(final) >= _BATCH or (force and final):
            n = min(_BATCH, len(final))
            # Never split the rows of one write: they may be in another order in the table.
            # (Draining happens between events, so a write's rows are all here.)
            while n < len(final) and final[n][1] == final[n - 1][1]:
                n += 1
            self._compare(final[:n])
            del final[:n]

    def _take(self, n: int) -> list[tuple[Any, ...]]:
        if self._chunks is None:
            self._chunks = self._reader.stream(self._sql)
        while len(self._buf) - self._pos < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            if self._pos:
                del self._buf[: self._pos]
                self._pos = 0
            self._buf.extend(chunk)
        rows = self._buf[self._pos : self._pos + n]
        self._pos += len(rows)
        self.count += len(rows)
        return rows

    def _compare(self, batch: list[tuple[Any, int]]) -> None:
        expected = [row for row, _seq in batch]
        if self._rest is None:
            actual = self._take(len(expected))
            if actual == expected:
                return
            try:
                if sorted(actual) == sorted(expected):
                    return
            except TypeError:  # a value of another type, edited in
                pass
            self._rest = {}
            self._rest_rows = actual
        npk = len(self.keys)
        for row, seq in batch:
            self._rest[row[:npk]] = (row, seq)

    def finish(self) -> int:
        self.drain(force=True)
        if self._rest is None:
            extra = self._take(1)
            if not extra:
                return self.count
            self._rest, self._rest_rows = {}, extra
        while rows := self._take(_BATCH):
            self._rest_rows.extend(rows)
        self._report(self._rest, self._rest_rows)
        return self.count

    def _report(self, expected: dict[Key, tuple[Any, int]], rows: list[tuple[Any, ...]]) -> None:
        table, keys, cols, npk = self.table, self.keys, self.cols, len(self.keys)
        problems = self._problems
        for row in rows:
            key = row[:npk]
            exp = expected.pop(key, None)
            if exp is None:
                problems.add(table, _keydesc(keys, key), "this row is not in the log (inserted)")
            elif not _same_row(exp[0], row):
                diffs = _diffs(cols, row[npk:], exp[0][npk:])
                problems.add(table, _keydesc(keys, key), f"{diffs} (event seq {exp[1]})", exp[1])
        for key, (_row, seq) in expected.items():
            problems.add(
                table,
                _keydesc(keys, key),
                f"the row written by event seq {seq} is missing (deleted)",
                seq,
            )


def _ignore(key: Key, row: Any, seq: int, run: str | None) -> None:
    pass


class Tables:
    """The model's sink: sends its rows to the tables this share checks, drops the others."""

    def __init__(self, checks: dict[str, TableCheck], running: set[str]) -> None:
        self.checks = checks
        self._running = running

    def adder(self, table: str) -> Add:
        check = self.checks.get(table)
        if check is None:
            # A deque that keeps nothing: a no-op in C, for the tables another share checks.
            nothing: deque[tuple[Any, int]] = deque(maxlen=0)
            return nothing.append
        return check.final.append

    def putter(self, table: str) -> Put:
        check = self.checks.get(table)
        if check is None:
            return _ignore
        if table == "runs":
            running = self._running

            def put_run(key: Key, row: Any, seq: int, run: str | None) -> None:
                if run is not None:
                    running.add(run)
                check.put(key, row, seq, run)

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
