"""The UI's routes over a real SQLite project, in process (Starlette's test client): each page
and its JSON come from the same view, bad input is a one-line error, everything is escaped,
forms without their CSRF token change nothing."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.conftest import Project
from tests.web.conftest import Client, serve

from pedigree.api import Tracker
from pedigree.context import Actor
from pedigree.web import CSP, Viewer, create_ui

XSS = "<script>alert(1)</script>"


@pytest.fixture
def make_client(project: Project) -> Iterator[Callable[..., Client]]:
    """A client of the UI over ``project`` served on 127.0.0.1 (with ``auth``, server mode)."""
    with contextlib.ExitStack() as stack:

        def make(auth: Any = None) -> Client:
            def factory(actor: Actor | None = None) -> Tracker:
                t = project.tracker()
                return Tracker(t.project, actor=actor) if actor is not None else t

            port = stack.enter_context(serve(create_ui(factory, auth=auth)))
            return Client(port)

        yield make


@pytest.fixture
def runs(project: Project) -> list[str]:
    t = project.tracker()
    ids = []
    for window, sharpe in ((10, 0.5), (20, 1.5), (30, 1.1)):
        run_id = t.create_run(experiment="ma", params={"window": window})
        t.log_metrics(run_id, [["sharpe", step, sharpe * step / 4, 0.0] for step in range(5)])
        t.end_run(run_id, "finished")
        ids.append(run_id)
    evil = t.create_run(experiment="ma", name=XSS, params={"note": XSS})
    t.end_run(evil, "finished")
    t.audit.approve(evil, note="<img src=x onerror=alert(2)>")
    ids.append(evil)
    return ids


def test_runs_page_and_json_agree_with_the_cli(
    make_client: Callable[..., Client], project: Project, runs: list[str]
) -> None:
    client = make_client()
    query = {"where": "metrics.sharpe > 1", "order": "-metrics.sharpe", "col": "metrics.sharpe"}
    answer = client.get("/api/v1/ui/runs", params=query)
    assert answer.status_code == 200
    data = answer.json()
    expected = project.tracker().runs(where="metrics.sharpe > 1", order_by="-metrics.sharpe")
    assert [r["id"] for r in data["runs"]] == [r["id"] for r in expected] == [runs[1], runs[2]]
    assert data["columns"] == ["metrics.sharpe"]
    assert data["runs"][0]["values"]["metrics.sharpe"] == pytest.approx(1.5)
    page = client.get("/runs", params=query)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    order = re.findall(r'data-run="([^"]+)"', page.text)
    assert order == [runs[1], runs[2]]


def test_a_bad_where_is_the_clis_error(
    make_client: Callable[..., Client], project: Project, runs: list[str]
) -> None:
    client = make_client()
    cli = project.pedigree("runs", "--where", "bogus > 1")
    assert cli.code != 0
    message = cli.err.strip().splitlines()[0].removeprefix("error: ")
    answer = client.get("/api/v1/ui/runs", {"where": "bogus > 1"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == message
    page = client.get("/runs", {"where": "bogus > 1"})
    assert page.status_code == 400
    assert "error: unknown field &#39;bogus&#39;" in page.text
    assert "Traceback" not in page.text


def test_pages_paginate(
    make_client: Callable[..., Client], project: Project, runs: list[str]
) -> None:
    client = make_client()
    from pedigree.web import views

    first = views.runs(project.tracker(), page=1, page_size=3)
    second = views.runs(project.tracker(), page=2, page_size=3)
    assert first["has_next"]
    assert not second["has_next"]
    assert len(first["runs"]) == 3
    assert len(second["runs"]) == 1
    assert client.get("/api/v1/ui/runs", {"page": "0"}).status_code == 400
    assert client.get("/api/v1/ui/runs", {"page": "x"}).json()["error"]["message"] == (
        "page must be a whole number, not 'x'"
    )


def test_every_page_escapes_what_users_recorded(
    make_client: Callable[..., Client], project: Project, runs: list[str]
) -> None:
    client = make_client()
    evil = runs[-1]
    for path in (
        "/runs",
        f"/runs/{evil}",
        f"/compare?runs={runs[0]}&runs={evil}",
        f"/lineage?target={evil}",
        "/approvals",
        "/audit",
        "/experiments",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
    run_page = client.get(f"/runs/{evil}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in run_page
    assert "&lt;img src=x onerror=alert(2)&gt;" in run_page


def test_run_page_json_holds_the_run_and_its_history(
    make_client: Callable[..., Client], project: Project, runs: list[str]
) -> None:
    client = make_client()
    data = client.get(f"/api/v1/ui/runs/{runs[1][:13]}").json()
    assert data["run"] == json.loads(json.dumps(project.tracker().get_run(runs[1])))
    charts = client.get(f"/api/v1/ui/runs/{runs[1]}/metrics").json()["charts"]
    assert [c["key"] for c in charts] == ["sharpe"]
    assert charts[0]["series"][0]["x"] == [0, 1, 2, 3, 4]
    assert charts[0]["series"][0]["y"] == pytest.approx([1.5 * s / 4 for s in range(5)])
    missing = client.get("/api/v1/ui/runs/ffffffff")
    assert missing.status_code == 404
    assert "ffffffff" in missing.json()["error"]["message"]


def test_compare_marks_differences(
    make_client: Callable[..., Client], project: Project, runs: list[str]
) -> None:
    client = make_client()
    data = client.get("/api/v1/ui/compare", {"runs": f"{runs[0]},{runs[1]}"}).json()
    assert [r["key"] for r in data["params"] if r["differs"]] == ["window"]
    assert data["diffs"][0]["a"]["id"] == runs[0]
    assert client.get("/api/v1/ui/compare", {"runs": runs[0]}).status_code == 400


def test_a_review_needs_the_csrf_token(
    make_client: Callable[..., Client], project: Project, runs: list[str]
) -> None:
    client = make_client()
    target = runs[0]
    before = len(project.tracker().audit.log())
    client.get("/runs")  # sets the token's cookie
    token = client.cookies.get("pedigree_csrf")
    assert token
    refused = client.post(f"/runs/{target}/review", data={"decision": "approved", "note": "forged"})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    wrong = client.post(
        f"/runs/{target}/review", data={"decision": "approved", "csrf": token + "x"}
    )
    assert wrong.status_code == 403
    assert len(project.tracker().audit.log()) == before
    done = client.post(
        f"/runs/{target}/review", data={"decision": "approved", "note": "ok", "csrf": token}
    )
    assert done.status_code == 303
    assert project.tracker().get_run(target)["approvals"][-1]["note"] == "ok"


class _FixedAuth:
    """A signed-in viewer with a given role (the server's login is tested in tests/server)."""

    def __init__(self, viewer: Viewer | None) -> None:
        self._viewer = viewer

    def viewer(self, request: Any) -> Viewer | None:
        return self._viewer

    def login(self, username: str, password: str) -> str:
        raise AssertionError("not used")

    def logout(self, session: str) -> None:
        pass


def test_an_auditor_changes_nothing(
    make_client: Callable[..., Client], project: Project, runs: list[str]
) -> None:
    client = make_client(auth=_FixedAuth(Viewer("ann", "auditor")))
    page = client.get(f"/runs/{runs[0]}")
    assert "your role (auditor) may not review" in page.text
    assert re.search(r'value="approved" disabled', page.text)
    token = client.cookies.get("pedigree_csrf")
    before = len(project.tracker().audit.log())
    answer = client.post(f"/runs/{runs[0]}/review", data={"decision": "approved", "csrf": token})
    assert answer.status_code == 403
    assert len(project.tracker().audit.log()) == before
    # The auditor may verify.
    verified = client.post("/audit/verify", data={"csrf": token})
    assert verified.status_code == 200
    assert "The record is intact" in verified.text


def test_without_a_session_the_pages_ask_for_a_login(
    make_client: Callable[..., Client], runs: list[str]
) -> None:
    client = make_client(auth=_FixedAuth(None))
    page = client.get("/runs?where=status%20%3D%20%27finished%27")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=/runs")
    assert client.get("/api/v1/ui/runs").status_code == 401
    assert client.get("/login").status_code == 200
