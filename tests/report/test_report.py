"""`pedigree report`: a self-contained HTML file, checked in headless Chromium.

The browser is Debian's chromium (`make browser`), driven by playwright; it is never downloaded.
The page is opened from the file with every network request recorded and refused.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.audit.history import History, build_history, tamper
from tests.conftest import Project

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "the report tests need Debian's chromium: make browser"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def history(project: Project) -> History:
    (project.root / "README.md").write_text("research, with an uncommitted change\n")
    return build_history(project.tracker(), project.root)


def _open(browser: Any, path: Path) -> tuple[Any, Any, list[str]]:
    """The report in a page that records every request and refuses all but the file itself."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    def refuse(route: Any) -> None:
        if route.request.url == path.as_uri():
            route.continue_()
        else:
            route.abort()

    page.route("**/*", refuse)
    page.goto(path.as_uri())
    return context, page, requests


def test_the_report_shows_the_whole_record_offline(  # type: ignore[no-untyped-def]
    project: Project, history: History, cli, browser: Any, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    res = cli("report", history.run, "-o", str(out))
    assert res.code == 0, res.err
    assert f"wrote {out}" in res.err
    record = json.loads(cli("show", history.run, "--json").out)
    head = cli("audit", "anchor").out.strip()

    context, page, requests = _open(browser, out)
    try:
        assert requests == [out.as_uri()]  # nothing but the file itself
        text = page.inner_text("body")
        assert page.inner_text("h1") == "Compliance report: w20"
        headings = [h.strip() for h in page.locator("h2").all_inner_texts()]
        assert headings == [
            "Summary",
            "Code",
            "Data",
            "Environment",
            "Parameters",
            "Metrics",
            "Lineage",
            "Reproductions",
            "Approvals",
            "Audit trail",
        ]
        section = {
            h: page.inner_text(f"#{i}")
            for h, i in (
                ("code", "code"),
                ("data", "data"),
                ("env", "environment"),
                ("params", "parameters"),
                ("metrics", "metrics"),
                ("repro", "reproductions"),
                ("reviews", "approvals"),
                ("audit", "audit"),
            )
        }
        # code: the commit and the uncommitted patch itself
        assert record["code"]["commit"] in section["code"]
        assert "+research, with an uncommitted change" in page.inner_text("pre.patch")
        # data: every input and output with its digest
        for item in record["inputs"] + record["outputs"]:
            assert item["path"] in section["data"]
            assert item["digest"] in section["data"]
        assert "data/prices/2024.csv" in section["data"]
        # environment, parameters, metrics
        assert record["environment"]["python"] in section["env"]
        assert record["environment"]["digest"] in section["env"]
        assert "Packages (" in section["env"]
        assert re.search(r"window\s+20", section["params"])
        assert re.search(r"sharpe\s+1\.31", section["metrics"])
        assert re.search(r"inf_ratio\s+inf", section["metrics"])
        assert page.locator("#metrics svg.spark").count() >= 1
        # lineage: an inline SVG with the run, its input's dataset and its output
        svg = page.locator("#lineage svg.lineage")
        assert svg.count() == 1
        box = svg.bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 40
        nodes = page.locator("#lineage svg g.node").all_text_contents()
        assert any(f"run {history.run[:8]}" in n for n in nodes)
        assert any("out/model.txt" in n for n in nodes)
        assert any("2024.csv" in n or "data/prices" in n for n in nodes)
        assert page.locator("#lineage svg path.edge").count() >= 2
        # reproductions, reviews, the audit trail
        assert history.repro in section["repro"]
        assert "identical" in section["repro"]
        assert re.search(r"approved\s+tester", section["reviews"])
        assert "out-of-sample Sharpe holds" in section["reviews"]
        # ... and the reviews of its data and outputs, with their notes, not only a dot
        reviewed = page.inner_text("#approvals table.reviewed")
        assert re.search(r"prices@v2.*approved\s+tester.*vendor correction checked", reviewed)
        assert re.search(r"out/model.txt.*rejected\s+tester.*weights not signed", reviewed)
        assert history.output_digest in reviewed
        assert head in section["audit"]
        assert "The whole audit log was verified when this report was made" in section["audit"]
        assert "run.created" in section["audit"]
        assert "run.ended" in section["audit"]
        assert "Traceback" not in text
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    finally:
        context.close()
    assert requests == [out.as_uri()]


def test_no_report_is_written_for_a_tampered_record(  # type: ignore[no-untyped-def]
    project: Project, history: History, cli, tmp_path: Path
) -> None:
    tamper(
        project.tracker().project.uri,
        f"UPDATE runs SET status = 'finished' WHERE id = '{history.trial}'",
    )
    reports = tmp_path / "reports"
    reports.mkdir()
    out = reports / "report.html"
    res = cli("report", history.run, "-o", str(out))
    assert res.code == 1
    assert "error: the record fails `pedigree audit verify`" in res.err
    assert f"runs (id='{history.trial}')" in res.err
    assert not out.exists()
    assert list(reports.iterdir()) == []  # no temporary file left behind either

    unverified = cli("report", history.run, "-o", str(out), "--no-verify")
    assert unverified.code == 0, unverified.err
    assert "was not verified for this report" in out.read_text()


def test_bad_report_arguments(project: Project, history: History, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = cli("report", "ffffffff", "-o", str(tmp_path / "r.html"))
    assert missing.code == 3
    assert "no run with an id starting 'ffffffff'" in missing.err
    nowhere = cli("report", history.run, "-o", str(tmp_path / "no" / "such" / "r.html"))
    assert nowhere.code == 2
    assert "does not exist" in nowhere.err
    assert not (tmp_path / "no").exists()


def test_a_report_to_a_pipe_is_written_into_it_not_over_it(  # type: ignore[no-untyped-def]
    project: Project, history: History, cli, tmp_path: Path
) -> None:
    import stat
    import threading

    fifo = tmp_path / "report.fifo"  # like -o /dev/stdout: a special file must stay what it is
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    res = cli("report", history.run, "-o", str(fifo))
    reader.join(timeout=30)
    assert res.code == 0, res.err
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received[0].startswith(b"<!DOCTYPE html>")
    assert list(tmp_path.glob(".pedigree-report-*")) == []


def test_the_default_file_name_and_escaping(project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    tracker = project.tracker()
    run_id = tracker.create_run(
        experiment="<script>alert(1)</script>", name="a&b", params={"q": "<img src=x>"}
    )
    tracker.end_run(run_id, "finished")
    res = cli("report", "last")
    assert res.code == 0, res.err
    html = (project.root / f"pedigree-report-{run_id}.html").read_text()
    assert "<script>" not in html
    assert "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Content-Security-Policy" in html
