"""How ``audit verify`` shares its work out: ranges of run ids, the same in SQL and in Python, so
that every row and every event is checked by exactly one share (on SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest

from pedigree.audit.reader import Reader, run_bounds, share
from pedigree.ids import new_id
from pedigree.store import SQLStore, open_store
from pedigree.store.events import RunCreated

# Run ids as Pedigree makes them, and the odd ones a table edited by hand could hold.
ODD = ["", "'", "0", "~", "é", "Z", "zz", "指標", "\U0010ffff", "a\U0010ffffb", "0193-" * 3]


@pytest.fixture
def store(store_uri: str) -> Iterator[SQLStore]:
    s = open_store(store_uri)
    yield s
    s.close()


def _fill(store: SQLStore, ids: list[str]) -> None:
    store.append(
        [RunCreated(id=i, experiment="e", started_at=0.0) for i in ids],
        actor="ann",
    )


@contextlib.contextmanager
def _reader(store: SQLStore) -> Iterator[Reader]:
    with store.read() as snapshot:
        yield Reader(snapshot.conn.connection.driver_connection, store.dialect)


@pytest.mark.parametrize("count", [2, 3, 5])
def test_every_run_is_in_exactly_one_share_the_same_in_sql_and_python(
    store: SQLStore, count: int
) -> None:
    ids = [new_id() for _ in range(20)] + [str(uuid.uuid4()) for _ in range(10)] + ODD
    _fill(store, ids)
    with _reader(store) as reader:
        bounds = run_bounds(reader, count)
        assert len(bounds) == count - 1
        assert list(bounds) == sorted(bounds)
        found: dict[str, int] = {}
        for index in range(count):
            where = reader.in_share("id", bounds, index)
            for (run_id,) in reader.all(f'SELECT "id" FROM "runs" WHERE {where}'):
                assert run_id not in found, f"{run_id!r} in two shares"
                found[run_id] = index
    assert sorted(found) == sorted(ids)
    for run_id, index in found.items():
        assert share(run_id, bounds) == index, run_id
    assert share(None, bounds) == share(42, bounds) == 0
    # About as many runs in each share.
    sizes = [list(found.values()).count(i) for i in range(count)]
    assert max(sizes) - min(sizes) <= 2, sizes


def test_fewer_runs_than_shares(store: SQLStore) -> None:
    _fill(store, ["only"])
    with _reader(store) as reader:
        bounds = run_bounds(reader, 4)
        assert len(bounds) == 3
        shares = [
            [
                r[0]
                for r in reader.all(
                    f'SELECT "id" FROM "runs" WHERE {reader.in_share("id", bounds, i)}'
                )
            ]
            for i in range(4)
        ]
    assert [r for rows in shares for r in rows] == ["only"]
    assert shares[share("only", bounds)] == ["only"]
