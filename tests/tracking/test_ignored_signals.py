"""A command that ignores the SIGINT passed on to it and exits 0 finished (issue 19, minor)."""

from __future__ import annotations

import json
import signal
import subprocess

from tests.conftest import PYTHON, Project

IGNORES = """\
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("started", flush=True)
time.sleep(1.5)
print("done", flush=True)
"""


def test_a_child_that_ignores_sigint_and_exits_0_is_finished(project: Project) -> None:
    project.write("stubborn.py", IGNORES)
    proc = subprocess.Popen(
        [PYTHON, "-m", "pedigree.cli.main", "run", "--", PYTHON, "stubborn.py"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert "done" in out
    assert proc.returncode == 0, err
    rec = json.loads(project.pedigree("show", "last", "--json").out)
    assert rec["status"] == "finished"
    assert rec["exit_code"] == 0
    assert rec["error"] is None
