"""The completeness mark where people look: show, lineage, impact and the compliance report."""

from __future__ import annotations

import json

import pytest
from tests.conftest import PYTHON, Project

READ_AND_SPAWN = """\
import subprocess
from pathlib import Path
Path("model.txt").write_text(Path("data/in.csv").read_text())
subprocess.run(["true"], check=True)
"""


@pytest.fixture
def runs(project: Project) -> tuple[str, str]:
    """A partial run (it read data/in.csv and started a program that is not Python) and an
    `off` one (a shell command, traced at the Python level only)."""
    project.write("data/in.csv", "a\n1\n")
    project.write("job.py", READ_AND_SPAWN)
    project.commit("job")
    res = project.pedigree("run", "-q", "--trace", "python", PYTHON, "job.py")
    assert res.code == 0, res.err
    partial = json.loads(project.pedigree("show", "last", "--json").out)
    res = project.pedigree("run", "-q", "--trace", "python", "sh", "-c", "cat data/in.csv")
    assert res.code == 0, res.err
    off = json.loads(project.pedigree("show", "last", "--json").out)
    assert partial["capture"]["files"] == "partial"
    assert off["capture"]["files"] == "off"
    assert [i["path"] for i in partial["inputs"]] == ["data/in.csv"]
    return partial["id"], off["id"]


def test_lineage_shows_the_mark_of_each_run(project: Project, runs: tuple[str, str]) -> None:
    partial, _ = runs
    text = project.pedigree("lineage", "model.txt", "--up").out
    assert "file capture partial" in text
    report = json.loads(project.pedigree("lineage", "model.txt", "--up", "--json").out)
    (node,) = [n for n in report["nodes"] if n["kind"] == "run"]
    assert node["id"] == partial
    assert node["capture"]["files"] == "partial"
    assert any(r.endswith("true not traced") for r in node["capture"]["reasons"])


def test_impact_says_how_many_runs_had_partial_capture(
    project: Project, runs: tuple[str, str]
) -> None:
    partial, _off = runs
    report = json.loads(project.pedigree("impact", "data/in.csv", "--json").out)
    assert [r["id"] for r in report["runs"]] == [partial]
    # The shell run read data/in.csv too, unseen: it may be missing from the answer.
    assert report["capture"] == {"partial_in_answer": [partial], "partial_elsewhere": 1}
    text = project.pedigree("impact", "data/in.csv").out
    assert "1 other run(s) had partial file capture and may be missing" in text


def test_the_compliance_report_says_what_may_be_missing(
    project: Project, runs: tuple[str, str]
) -> None:
    _, off = runs
    res = project.pedigree("report", off, "-o", "r.html")
    assert res.code == 0, res.err
    html = (project.root / "r.html").read_text()
    assert "File capture off" in html
    assert "is not a Python program" in html
    text = project.pedigree("show", off).out
    assert "file capture" in text


def test_the_audit_verifies_the_mark(project: Project, runs: tuple[str, str]) -> None:
    res = project.pedigree("audit", "verify")
    assert res.code == 0, res.out + res.err
