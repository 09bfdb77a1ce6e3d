"""A store whose folder cannot be written (a read-only mount: an archive an auditor reads) is read
and verified as it is, and a write to it fails in one line (issue 19, minor).

Root can write to any folder whatever its mode, so the unwritable folder is emulated for the
check that decides it (``os.access``); the database, SQLite's immutable open, the reads and the
audit verification are real. (Checked by hand on a real read-only bind mount, see
docs/reliability.md.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pedigree.config import init_project
from pedigree.context import Context, close_all
from pedigree.errors import PedigreeError
from pedigree.store import lite
from pedigree.store.events import RunCreated
from pedigree.store.sql import open_store, sqlite_uri

RUN = "0190e0a0-0000-7000-8000-0000000000aa"


@pytest.fixture
def archived(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store with one run, then its folder made unwritable (for the check) and its WAL gone."""
    project, _ = init_project(tmp_path)
    ctx = Context(project)
    ctx.append([RunCreated(id=RUN, experiment="archived")])
    uri = project.uri
    close_all()
    db = Path(uri.removeprefix("sqlite:///"))
    assert not (db.parent / (db.name + "-shm")).exists()
    real_access = os.access

    def access(path: object, mode: int, *args: object, **kw: object) -> bool:
        if mode & os.W_OK and Path(str(path)).resolve() == db.parent.resolve():
            return False
        return real_access(path, mode, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(lite.os, "access", access)
    return sqlite_uri(db)


def test_an_unwritable_store_folder_opens_immutable(archived: str) -> None:
    path = archived.removeprefix("sqlite:///")
    uri = lite.readonly_uri(path)
    assert uri is not None
    assert uri.startswith("file:")
    assert uri.endswith("?mode=ro&immutable=1")


def test_it_is_read_and_verified_as_it_is(archived: str) -> None:
    from pedigree.audit.verify import verify

    store = open_store(archived, migrate=False)
    try:
        with store.read() as reader:
            assert reader.resolve_run("last") == RUN
        report = verify(store, in_process=True)
        assert report.ok
    finally:
        store.close()
    db = Path(archived.removeprefix("sqlite:///"))
    # Reading wrote nothing next to it (no WAL, no shared-memory file).
    assert not (db.parent / (db.name + "-wal")).exists()
    assert not (db.parent / (db.name + "-shm")).exists()


def test_a_write_fails_in_one_line_and_changes_nothing(archived: str) -> None:
    store = open_store(archived, migrate=False)
    try:
        with pytest.raises(PedigreeError) as caught:
            store.append([RunCreated(id=RUN.replace("aa", "bb"), experiment="x")], actor="a")
        assert "readonly" in caught.value.message or "read-only" in caught.value.message
        assert "\n" not in caught.value.message
        with store.read() as reader:
            assert reader.select_runs(limit=5) == [RUN]
    finally:
        store.close()


def test_a_folder_with_a_writer_s_wal_beside_the_database_is_not_opened_immutable(
    archived: str,
) -> None:
    path = archived.removeprefix("sqlite:///")
    Path(path + "-wal").write_bytes(b"")
    assert lite.readonly_uri(path) is None
