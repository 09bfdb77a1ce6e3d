"""The embedded store's light read path: a command that only reads never imports SQLAlchemy,
reads never write, and a write in the same process still works (issue 18).

Structural checks (what a process imports), not timings: ``benchmarks/bench_cli.py`` times.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.conftest import Project

import pedigree
from pedigree.errors import StoreError
from pedigree.store import open_store
from pedigree.store.lite import ReadPool

# Runs each read command in one process through the CLI's entry point, then reports which of
# the heavy modules got imported.
PROBE = textwrap.dedent(
    """
    import json, sys
    from pedigree.cli.main import main
    for argv in json.loads(sys.argv[1]):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code in (0, None), (argv, exc.code)
    heavy = ("sqlalchemy", "alembic", "pedigree.store.schema", "pedigree.store.projections")
    print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
    """
)

READS = [
    ["show", "last"],
    ["show", "last", "--json"],
    ["runs", "--limit", "20"],
    [
        "runs",
        "--where",
        "metrics.sharpe > 0 and params.window >= 20",
        "--order-by",
        "-metrics.sharpe",
    ],
    ["logs", "last"],
    ["lineage", "last", "--up"],
    ["impact", "prices@v1"],
    ["data", "ls"],
    ["data", "log", "prices"],
    ["audit", "log", "--limit", "20"],
]


@pytest.fixture
def recorded(project: Project) -> Project:
    data = project.root / "data"
    data.mkdir()
    (data / "prices.csv").write_text("day,close\n1,100\n")
    assert project.pedigree("data", "add", "data", "--name", "prices").code == 0
    for window in (10, 20, 50):
        with pedigree.start_run(experiment="ma", name=f"w{window}") as run:
            run.log_params({"window": window})
            run.log_metric("sharpe", window / 100)
            run.use(str(data / "prices.csv"))
    return project


def test_read_commands_do_not_import_sqlalchemy(recorded: Project) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(READS)],
        cwd=recorded.root,
        env=recorded.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == []
    # and they answered
    assert "w50" in proc.stdout
    assert "prices@v1" in proc.stdout


def test_a_write_after_reads_imports_sqlalchemy_and_works(recorded: Project) -> None:
    probe = PROBE + textwrap.dedent(
        """
        import pedigree
        with pedigree.start_run(experiment="later") as run:
            run.log_metric("x", 1)
        print(json.dumps("sqlalchemy" in sys.modules), file=sys.stderr)
        main(["runs", "--json"])
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, json.dumps([["runs"]])],
        cwd=recorded.root,
        env=recorded.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "true"
    # The pooled read connection sees the write made through SQLAlchemy.
    assert "later" in proc.stdout


def test_reads_are_query_only(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    try:
        with pytest.raises(StoreError, match=r"readonly|read-only|query_only"), store.read() as r:
            r.db.execute("DELETE FROM runs")
        with store.read() as r:  # the pool gave its connection back, still usable
            assert r.select_runs() == []
    finally:
        store.close()


def test_a_read_sees_one_snapshot(tmp_path: Path) -> None:
    path = f"{tmp_path}/snap.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x)")
        setup.execute("INSERT INTO t VALUES (1)")
    pool = ReadPool(path)
    with pool.snapshot() as raw:
        assert raw.execute("SELECT count(*) FROM t").fetchone() == (1,)
        with sqlite3.connect(path) as writer:
            writer.execute("INSERT INTO t VALUES (2)")
        assert raw.execute("SELECT count(*) FROM t").fetchone() == (1,)  # not yet
    with pool.snapshot() as raw:
        assert raw.execute("SELECT count(*) FROM t").fetchone() == (2,)
    pool.close()
