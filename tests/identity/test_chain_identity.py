"""The identity of each audit event: recorded, covered by the digest, and old chains intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pedigree.audit.verify import verify
from pedigree.context import close_all
from pedigree.ids import new_id
from pedigree.store.events import RunCreated, RunEnded
from pedigree.store.sql import open_store, sqlite_uri


@pytest.fixture
def db(tmp_path: Path) -> str:
    return sqlite_uri(tmp_path / "p.db")


def _rows(path: str) -> list[tuple[int, str | None]]:
    with sqlite3.connect(path.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT seq, identity FROM audit_events ORDER BY seq").fetchall()


def _tamper(path: str, sql: str) -> None:
    with sqlite3.connect(path.removeprefix("sqlite:///")) as conn:
        conn.execute(sql)


def test_a_store_written_before_identities_still_verifies(db: str) -> None:
    store = open_store(db)
    old = new_id()
    # What the code before identities wrote: no identity, the old digest.
    store.append([RunCreated(id=old, experiment="e")], actor="ann", identity=None)
    store.append([RunEnded(run_id=old, status="finished")], actor="ann", identity=None)
    new = new_id()
    store.append([RunCreated(id=new, experiment="e")], actor="bob")
    store.append([RunEnded(run_id=new, status="finished")], actor="srv", identity="authenticated")
    assert _rows(db) == [(1, None), (2, None), (3, "self-declared"), (4, "authenticated")]
    report = verify(store, in_process=True)
    assert report.ok, [str(p) for p in report.problems]
    store.close()


@pytest.mark.parametrize(
    ("seq", "value"), [(1, "'authenticated'"), (2, "'authenticated'"), (4, "NULL")]
)
def test_changing_an_identity_breaks_the_digest(db: str, seq: int, value: str) -> None:
    store = open_store(db)
    run = new_id()
    store.append([RunCreated(id=run, experiment="e")], actor="ann", identity=None)
    store.append([RunCreated(id=new_id(), experiment="e")], actor="bob")
    store.append([RunCreated(id=new_id(), experiment="e")], actor="c", identity="authenticated")
    store.append([RunCreated(id=new_id(), experiment="e")], actor="d", identity="authenticated")
    store.close()
    close_all()
    _tamper(db, f"UPDATE audit_events SET identity = {value} WHERE seq = {seq}")
    store = open_store(db)
    report = verify(store, in_process=True)
    assert not report.ok
    assert next(str(p) for p in report.problems) == (
        f"audit_events seq {seq}: its content does not match its digest: the event was edited"
    )
    store.close()


def test_an_unknown_identity_is_refused(db: str) -> None:
    from pedigree.errors import InvalidInput

    store = open_store(db)
    with pytest.raises(InvalidInput, match="identity"):
        store.append([RunCreated(id=new_id(), experiment="e")], actor="a", identity="trusted")
    assert _rows(db) == []
    store.close()


def test_a_store_made_before_the_identity_migration_verifies_after_it(tmp_path: Path) -> None:
    """A store at revision 0004 (no identity column), written the way Pedigree wrote then, is
    migrated when opened; its old events verify, and new ones record their identity."""
    import sqlalchemy as sa

    from pedigree.store.chain import GENESIS, event_digest
    from pedigree.store.events import prepare
    from pedigree.store.migrations.runner import upgrade
    from pedigree.store.projections import apply

    path = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    run = new_id()
    with engine.begin() as conn:
        upgrade(conn, "0004")
        columns = {c["name"] for c in sa.inspect(conn).get_columns("audit_events")}
        assert "identity" not in columns
        prev = GENESIS
        for seq, event in enumerate(
            [RunCreated(id=run, experiment="e"), RunEnded(run_id=run, status="finished")], 1
        ):
            logged, payload = prepare(event)
            digest = event_digest(
                prev=prev, seq=seq, at=1.0, actor="ann", kind=event.KIND, run_id=run, payload=logged
            )
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (seq, at, actor, kind, run_id, payload, prev, digest)"
                    " VALUES (:s, 1.0, 'ann', :k, :r, :p, :prev, :d)"
                ),
                {"s": seq, "k": event.KIND, "r": run, "p": logged, "prev": prev, "d": digest},
            )
            apply(conn, event.KIND, payload)
            prev = digest
        conn.execute(sa.text("UPDATE audit_head SET seq = 2, digest = :d"), {"d": prev})
    engine.dispose()

    store = open_store(sqlite_uri(path))  # migrates to the head revision
    assert _rows(sqlite_uri(path)) == [(1, None), (2, None)]
    report = verify(store, in_process=True)
    assert report.ok, [str(p) for p in report.problems]
    store.append([RunCreated(id=new_id(), experiment="e")], actor="bob")
    assert _rows(sqlite_uri(path))[-1] == (3, "self-declared")
    with store.read() as reader:
        assert reader.run_authors([run])[run].identity == "self-declared"
    report = verify(store, in_process=True)
    assert report.ok, [str(p) for p in report.problems]
    store.close()
