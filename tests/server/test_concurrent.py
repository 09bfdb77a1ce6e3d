"""Several clients at once through one server, with the SDK in-process: every run and every
metric point recorded once, and the chain intact."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.conftest import PYTHON
from tests.server.conftest import Server, start_server

pytestmark = pytest.mark.slow

CLIENTS, RUNS, STEPS = 4, 5, 50

CLIENT = f"""
import sys, pedigree
client = int(sys.argv[1])
for n in range({RUNS}):
    with pedigree.start_run(experiment="load", name=f"c{{client}}-r{{n}}") as run:
        run.log_params({{"client": client, "n": n}})
        for step in range({STEPS}):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.log_metric("acc", step / {STEPS}, step=step)
"""

READ = """
import json, pedigree
frame = pedigree.runs_frame(experiment="load")
print(json.dumps({"rows": len(frame), "names": sorted(frame["name"])}))
"""


@pytest.fixture
def own_server(tmp_path: Path) -> Server:
    srv = start_server(tmp_path)
    try:
        yield srv  # type: ignore[misc]
    finally:
        srv.stop()


def test_concurrent_sdk_clients_lose_and_duplicate_nothing(own_server: Server) -> None:
    server = own_server
    (server.client_dir / "client.py").write_text(CLIENT)
    env = server.client_env("researcher")
    procs = [
        subprocess.Popen(
            [PYTHON, "client.py", str(c)],
            cwd=server.client_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in range(CLIENTS)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err

    runs = json.loads(server.cli("auditor", "runs", "--json", "--experiment", "load").out)
    assert len(runs) == CLIENTS * RUNS
    assert {r["status"] for r in runs} == {"finished"}
    assert {r["user"] for r in runs} == {"rex"}
    for r in runs[:3]:
        history = json.loads(server.cli("auditor", "metrics", r["id"], "--json").out)
        assert [p["step"] for p in history["loss"]] == list(range(STEPS))
        assert [p["step"] for p in history["acc"]] == list(range(STEPS))

    (server.client_dir / "read.py").write_text(READ)
    out = subprocess.run(
        [PYTHON, "read.py"], cwd=server.client_dir, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    frame = json.loads(out.stdout)
    assert frame["rows"] == CLIENTS * RUNS
    assert len(set(frame["names"])) == CLIENTS * RUNS

    res = server.cli("auditor", "audit", "verify")
    assert res.code == 0, res.err


def test_writes_that_read_first_retry_when_the_record_moves(own_server: Server) -> None:
    """``data add`` reads the dataset's last version and writes the next: through the server,
    a write whose reads the log outran is refused (stale_read) and built again, so concurrent
    versions of one dataset get distinct numbers, none lost."""
    server = own_server
    env = server.client_env("researcher")
    folders = []
    for i in range(4):
        folder = server.client_dir / f"prices{i}"
        folder.mkdir()
        (folder / "p.csv").write_text(f"close\n{i}\n")
        folders.append(folder)
    procs = [
        subprocess.Popen(
            [PYTHON, "-m", "pedigree.cli.main", "data", "add", str(f), "--name", "prices"],
            cwd=server.client_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in folders
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    log = json.loads(server.cli("auditor", "data", "log", "prices", "--json").out)
    versions = sorted(v["version"] for v in log)
    assert versions == [1, 2, 3, 4]
    res = server.cli("auditor", "audit", "verify")
    assert res.code == 0, res.err
