"""Helpers for the sweep tests: a trial script that uses the SDK, and JSON readers."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Project

TRIAL = """\
import sys, time
import pedigree

p = pedigree.params(x=1, y="a", sleep=0.0)
with pedigree.start_run(experiment="named-by-the-script") as run:
    time.sleep(p.sleep)
    if p.x == 3:
        print("x=3 is not allowed", file=sys.stderr)
        sys.exit(3)
    run.log_metric("score", p.x * (2 if p.y == "a" else 3))
    run.log_metric("args", float(len(sys.argv) - 1))
print("trial", p.x, p.y, sys.argv[1:])
"""


def sweep_json(project: Project, *args: str, code: int = 0) -> dict[str, Any]:
    """Run `pedigree sweep ... --json` and return its report."""
    res = project.pedigree("sweep", "--json", *args)
    assert res.code == code, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]


def runs_json(project: Project, *args: str) -> list[dict[str, Any]]:
    res = project.pedigree("runs", "--json", *args)
    assert res.code == 0, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]


def show_json(project: Project, ref: str) -> dict[str, Any]:
    res = project.pedigree("show", ref, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]
