"""No data lost when the network is: the server stopped in the middle of a run, the run goes on,
its records and files wait in the outbox, and ``pedigree sync`` delivers them once, in order,
after the server is back."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from tests.conftest import PYTHON
from tests.server.conftest import Server, start_server

pytestmark = pytest.mark.slow

SLOW = """\
import sys, time, pedigree
pedigree.params(steps=12)
for i in range(12):
    pedigree.log_metric("loss", 1.0 / (i + 1), step=i)
    time.sleep(0.5)
with open("model.bin", "wb") as f:
    f.write(bytes(range(256)) * 64)
pedigree.produce("model.bin")
print("trained")
"""


@pytest.fixture
def own_server(tmp_path: Path) -> Server:
    srv = start_server(tmp_path)
    try:
        yield srv  # type: ignore[misc]
    finally:
        srv.stop()


def test_a_server_stopped_mid_run_loses_nothing(own_server: Server, tmp_path: Path) -> None:
    server = own_server
    state = tmp_path / "state"
    extra = {"XDG_STATE_HOME": str(state)}
    (server.client_dir / "train.py").write_text(SLOW)
    env = server.client_env("researcher", **extra)
    proc = subprocess.Popen(
        [PYTHON, "-m", "pedigree.cli.main", "run", "--", PYTHON, "train.py"],
        cwd=server.client_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Stop the server once the run is recorded and logging.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            res = server.cli("auditor", "runs", "--json", **extra)
            if res.code == 0 and json.loads(res.out):
                break
            time.sleep(0.3)
        else:
            pytest.fail("the run was never recorded")
        server.stop()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "trained" in out
    assert "pedigree sync" in err
    batches = list((state / "pedigree" / "outbox").glob("*/events/*.json"))
    assert batches, err

    res = server.cli("researcher", "sync", **extra)
    assert res.code == 6  # still down
    assert len(res.err.strip().splitlines()) == 1

    server.start()
    res = server.cli("researcher", "sync", "--json", **extra)
    assert res.code == 0, res.err
    done = json.loads(res.out)
    assert done["batches"] == len(batches)
    assert done["pending_batches"] == 0
    assert done["rejected"] == 0
    again = json.loads(server.cli("researcher", "sync", "--json", **extra).out)
    assert again["batches"] == 0

    run = json.loads(server.cli("auditor", "show", "last", "--json", **extra).out)
    assert run["status"] == "finished"
    assert run["params"] == {"steps": 12}
    history = json.loads(server.cli("auditor", "metrics", str(run["id"]), "--json", **extra).out)
    steps = [p["step"] for p in history["loss"]]
    assert steps == list(range(12))  # every point, once, in order
    assert "model.bin" in json.dumps(run)
    res = server.cli("auditor", "audit", "verify", **extra)
    assert res.code == 0, res.err
