"""In-process runs: pedigree.start_run() outside `pedigree run` captures the files read and
written inside the `with` block (pedigree.capture.filehook), in a real script."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import PYTHON, Project

SCRIPT = """\
import os, sqlite3, subprocess, sys
from pathlib import Path
import pedigree

Path("before.csv").read_text()  # before the run: not its input
with pedigree.start_run(experiment="inproc") as run:
    data = Path("data/in.csv").read_text()
    os.chdir("data")
    with open("../out.csv", "w") as f:  # relative to the folder it was opened from
        f.write(data)
    os.chdir("..")
    sqlite3.connect("prices.db").execute("select 1").fetchall()
    if sys.argv[1:] == ["spawn"]:
        subprocess.run(["true"], check=True)
Path("after.csv").write_text("x")  # after the run: not its output
"""


def run_script(project: Project, *args: str) -> dict:  # type: ignore[type-arg]
    project.write("before.csv", "b\n")
    project.write("data/in.csv", "a\n1\n")
    project.write("prices.db", "")
    project.write("script.py", SCRIPT)
    proc = subprocess.run(
        [PYTHON, "script.py", *args],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    res = project.pedigree("show", "last", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]


def test_files_inside_the_with_block_are_captured(project: Project) -> None:
    rec = run_script(project)
    assert rec["experiment"] == "inproc"
    assert sorted(i["path"] for i in rec["inputs"]) == ["data/in.csv", "prices.db"]
    assert [o["path"] for o in rec["outputs"]] == ["out.csv"]
    assert rec["capture"] == {"files": "complete", "reasons": [], "trace": "in-process"}


def test_a_program_started_in_the_block_makes_it_partial(project: Project) -> None:
    rec = run_script(project, "spawn")
    assert rec["capture"]["files"] == "partial"
    assert rec["capture"]["trace"] == "in-process"
    assert any(r.endswith("true not traced") for r in rec["capture"]["reasons"])
    assert [o["path"] for o in rec["outputs"]] == ["out.csv"]


def test_the_hook_is_installed_once_and_idle_between_runs(project: Project) -> None:
    script = """\
import sys
from pathlib import Path
import pedigree
for name in ("a", "b"):
    with pedigree.start_run(experiment="twice"):
        Path(name + ".out").write_text(name)
    Path(name + ".between").write_text(name)
"""
    project.write("twice.py", script)
    proc = subprocess.run(
        [PYTHON, "twice.py"], cwd=project.root, env=project.env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    res = project.pedigree("runs", "--json")
    runs = json.loads(res.out)
    outs = sorted(
        tuple(
            o["path"]
            for o in json.loads(project.pedigree("show", r["id"], "--json").out)["outputs"]
        )
        for r in runs
    )
    assert outs == [("a.out",), ("b.out",)]


def test_the_in_process_hook_knows_what_the_injected_hook_knows() -> None:
    """The injected start-up module cannot import Pedigree, so it keeps its own lists of native
    I/O modules and spawning events; the in-process hook's copies must not drift from them."""
    import ast
    from pathlib import Path

    import pedigree._inject
    from pedigree.capture import filehook

    source = Path(pedigree._inject.__path__[0]) / "sitecustomize.py"
    tree = ast.parse(source.read_text())
    values = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in ("NATIVE_IO", "SPAWN_EVENTS")
    }
    assert values["NATIVE_IO"] == filehook.NATIVE_IO
    assert values["SPAWN_EVENTS"] == filehook._SPAWN_EVENTS
