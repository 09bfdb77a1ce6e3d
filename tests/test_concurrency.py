"""Eight processes writing to one SQLite store at once lose nothing and never see "locked"."""

from __future__ import annotations

import subprocess
import textwrap

from tests.conftest import PYTHON, Project

import pedigree

WRITER = textwrap.dedent(
    """
    import sys, pedigree
    worker = int(sys.argv[1])
    for i in range(5):
        with pedigree.start_run(experiment="load", name=f"{worker}-{i}") as run:
            run.log_params({"worker": worker, "i": i})
            for step in range(200):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
                if step % 50 == 0:
                    run.flush()  # many small transactions, to make the writers collide
            run.log_metric("final", worker * 100 + i)
    """
)


def test_eight_writers(project: Project) -> None:
    project.write("writer.py", WRITER)
    procs = [
        subprocess.Popen(
            [PYTHON, "writer.py", str(w)],
            cwd=project.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "locked" not in err
    runs = pedigree.runs(experiment="load")
    assert len(runs) == 40
    assert all(r["status"] == "finished" for r in runs)
    assert sorted(r["metrics"]["final"] for r in runs) == sorted(
        float(w * 100 + i) for w in range(8) for i in range(5)
    )
    tracker = project.tracker()
    with tracker.store.read() as reader:
        for r in runs:
            assert len(reader.metric_history(r["id"], "loss")) == 200
