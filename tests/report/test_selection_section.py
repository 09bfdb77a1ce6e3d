"""The report's "How this result was selected" section: a sweep trial's context, and the winner's
DSR and PBO with the logit histogram when the trials logged their returns."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from tests.conftest import Project

PYTHON = sys.executable

SCRIPT = """\
import random
import pedigree

p = pedigree.params(x=1, returns=1)
with pedigree.start_run(experiment="sel") as run:
    run.use("data.csv")
    rng = random.Random(p.x)
    series = [rng.gauss(0.0005 * p.x, 0.01) for _ in range(80)]
    if p.returns:
        run.log_returns(series, periods_per_year=252)
    run.log_metric("sharpe", sum(series) / len(series) / 0.01)
"""


@pytest.fixture
def sel_project(project: Project) -> Project:
    project.write("trial.py", SCRIPT)
    project.write("data.csv", "a\n1\n")
    project.commit("trial")
    return project


def _sweep(project: Project, *params: str) -> dict[str, object]:
    res = project.pedigree(
        "sweep", "--json", "-e", "sel", "-p", "x=1,2,3,4,5,6", *params, "--metric", "sharpe",
        "--", PYTHON, "trial.py",
    )  # fmt: skip
    assert res.code == 0, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]


def _report(project: Project, run: str, tmp_path: Path) -> str:
    out = tmp_path / "r.html"
    res = project.pedigree("report", run, "-o", str(out))
    assert res.code == 0, res.err
    return out.read_text()


def test_the_winner_report_has_the_section_with_dsr_pbo_and_the_histogram(
    sel_project: Project, tmp_path: Path
) -> None:
    report = _sweep(sel_project)
    best = str(report["best"])
    html = _report(sel_project, best, tmp_path)
    section = re.search(r'<section id="selection">.*?</section>', html, re.S)
    assert section is not None
    text = section.group(0)
    assert "How this result was selected" in text
    assert "Best of 6 trials by sharpe (maximize), rank 1" in text
    assessed = sel_project.pedigree("sweep", "assess", "last", "--json")
    assert assessed.code == 0, assessed.err
    a = json.loads(assessed.out)
    assert f"{a['dsr']:.10g}" in text
    assert f"{a['pbo']:.10g}" in text
    assert a["reading"].split(":")[0] in text.replace("&#x27;", "'")
    svg = re.search(r'<svg[^>]*class="histogram".*?</svg>', text, re.S)
    assert svg is not None
    assert "<rect" in svg.group(0)
    assert "http" not in svg.group(0).replace("http://www.w3.org/2000/svg", "")
    # Before the code section: the first thing a reviewer reads after the summary.
    assert html.index('id="selection"') < html.index('id="code"')

    # A trial that was not the pick: the context, a pointer to the winner's numbers.
    other = next(t["id"] for t in report["trials"] if t["rank"] == 2)  # type: ignore[attr-defined]
    html2 = _report(sel_project, other, tmp_path)
    assert "Rank 2 of 6 trials by sharpe (maximize)" in html2
    assert 'class="histogram"' not in html2


def test_without_returns_only_the_context_and_no_section_outside_a_sweep(
    sel_project: Project, tmp_path: Path
) -> None:
    report = _sweep(sel_project, "-p", "returns=0")
    html = _report(sel_project, str(report["best"]), tmp_path)
    assert "How this result was selected" in html
    assert "Best of 6 trials by sharpe (maximize), rank 1" in html
    assert "No Deflated Sharpe Ratio or PBO" in html
    assert 'class="histogram"' not in html

    assert sel_project.pedigree("run", "-q", "-e", "sel", "--", PYTHON, "trial.py").code == 0
    assert "How this result was selected" not in _report(sel_project, "last", tmp_path)
