"""`--executor ray`: trials as Ray tasks on a local Ray instance (``ray.init(num_cpus=2)``).

The sweep runs in a real `pedigree` subprocess, which starts (and stops) its own local Ray
instance with as many CPUs as `-j` asks, so Ray's own warnings never reach this test process.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from tests.conftest import PYTHON, Project
from tests.sweep.helpers import runs_json, show_json, sweep_json

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

ARGS = ("-e", "exp", "-p", "x=1,2,3,4", "-p", "y=a,b", "--metric", "score",
        "--", PYTHON, "trial.py", "{y}")  # fmt: skip


def outcome(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What must not depend on the executor: each trial's params, status, exit code, metrics."""
    return sorted(
        (
            tuple(sorted(t["params"].items())),
            t["status"],
            t["exit_code"],
            tuple(sorted(t["metrics"].items())),
            t["rank"],
            t["name"],
        )
        for t in report["trials"]
    )


def test_ray_records_the_same_trials_and_results_as_local(trial_project: Project) -> None:
    local = sweep_json(trial_project, "-j", "2", *ARGS, code=1)  # x=3 fails, on purpose
    on_ray = sweep_json(trial_project, "--executor", "ray", "-j", "2", *ARGS, code=1)
    assert on_ray["spec"]["executor"] == "ray"
    assert on_ray["spec"]["jobs"] == 2
    assert local["spec"]["executor"] == "local"
    assert outcome(on_ray) == outcome(local)
    assert len(on_ray["trials"]) == 8
    assert [t["status"] for t in on_ray["trials"]][-2:] == ["failed", "failed"]
    assert on_ray["sweep"]["status"] == local["sweep"]["status"] == "failed"
    # Recorded by the Ray workers into the same store, with everything `pedigree run` records.
    sweep_id = on_ray["sweep"]["id"]
    for t in on_ray["trials"]:
        rec = show_json(trial_project, t["id"])
        assert rec["parent"] == sweep_id
        assert rec["user"] == "tester"
        assert rec["code"]["commit"] is not None
        assert rec["environment"]["python"] is not None
        assert rec["command"] == [PYTHON, "trial.py", rec["params"]["y"]]
    assert len(runs_json(trial_project, "--where", f"parent = '{sweep_id}'")) == 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_ray_address_that_does_not_answer(trial_project: Project) -> None:
    address = f"127.0.0.1:{free_port()}"
    res = trial_project.pedigree(
        "sweep", "--executor", "ray", "--ray-address", address, "-p", "x=1,2",
        "--", PYTHON, "trial.py", timeout=60,
    )  # fmt: skip
    assert res.code == 6
    assert res.err.splitlines() == [
        f"error: the Ray cluster at {address} does not answer (Connection refused)",
        "hint: start it with `ray start --head`, or leave out --ray-address to run a local "
        "Ray instance",
    ]
    assert runs_json(trial_project) == []


def test_a_ray_address_from_the_environment_is_checked_the_same_way(
    trial_project: Project,
) -> None:
    # ray.init() reads RAY_ADDRESS itself and would retry a dead address for minutes.
    address = f"127.0.0.1:{free_port()}"
    res = trial_project.pedigree(
        "sweep", "--executor", "ray", "-p", "x=1,2", "--", PYTHON, "trial.py",
        timeout=60, env={"RAY_ADDRESS": address},
    )  # fmt: skip
    assert res.code == 6
    assert res.err.splitlines() == [
        f"error: the Ray cluster at {address} does not answer (Connection refused)",
        "hint: start it with `ray start --head`, or leave out RAY_ADDRESS to run a local "
        "Ray instance",
    ]
    assert runs_json(trial_project) == []
