"""The UI mounted at / of a real ``pedigree server`` subprocess: a login page (passwords set
with ``pedigree users passwd``), session cookies, CSRF, roles and four eyes enforced on every
state-changing route, and tokens still working for the API."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import PYTHON
from tests.server.conftest import USERS, Server, start_server
from tests.web.conftest import Client

pytestmark = pytest.mark.slow

PASSWORDS = {role: f"{name}'s long passphrase" for role, name in USERS.items()}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    server = start_server(tmp_path_factory.mktemp("ui-server"))
    try:
        for role, name in USERS.items():
            proc = subprocess.run(
                [PYTHON, "-m", "pedigree.cli.main", "users", "passwd", name, "--password-stdin"],
                input=PASSWORDS[role] + "\n",
                capture_output=True,
                text=True,
                cwd=server.root,
                env=server.env,
                timeout=120,
            )
            assert proc.returncode == 0, proc.stderr
        runs = {}
        for role in ("researcher", "reviewer"):
            done = server.cli(role, "run", "-e", "ma", "--param", "window=5", "python", "-c", "1")
            assert done.code == 0, done.err
            listed = json.loads(server.cli(role, "runs", "--json", "--limit", "1").out)
            runs[role] = listed[0]["id"]
        yield server, runs
    finally:
        server.stop()


def _login(server: Server, role: str, password: str | None = None) -> tuple[Client, int]:
    client = Client(server.port)
    page = client.get("/login")
    assert page.status_code == 200
    answer = client.post(
        "/login?next=/runs",
        {
            "username": USERS[role],
            "password": password or PASSWORDS[role],
            "csrf": client.cookies["pedigree_csrf"],
        },
    )
    return client, answer.status_code


def test_pages_need_a_login_and_the_session_cookie_is_safe(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, _ = served
    anonymous = Client(server.port)
    page = anonymous.get("/runs")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")
    assert anonymous.get("/api/v1/ui/runs").status_code == 401
    _, status = _login(server, "reviewer", "not the password")
    assert status == 401
    client = Client(server.port)
    client.get("/login")
    refused = client.post(
        "/login", {"username": USERS["reviewer"], "password": PASSWORDS["reviewer"]}
    )  # no CSRF token
    assert refused.status_code == 403
    conn_answer = client.request(
        "POST",
        "/login?next=/runs",
        data={
            "username": USERS["reviewer"],
            "password": PASSWORDS["reviewer"],
            "csrf": client.cookies["pedigree_csrf"],
        },
    )
    assert conn_answer.status_code == 303
    assert conn_answer.headers["location"] == "/runs"
    cookie = conn_answer.headers["set-cookie"]
    assert "pedigree_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert client.get("/runs").status_code == 200
    log = (server.log.read_text() if server.log else "").lower()
    assert PASSWORDS["reviewer"].lower() not in log
    assert "$argon2" not in log


def test_a_reviewer_approves_and_is_refused_as_the_author(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, runs = served
    client, status = _login(server, "reviewer")
    assert status == 303
    token = client.cookies["pedigree_csrf"]
    # another researcher's run: approved, in the reviewer's authenticated name
    done = client.post(
        f"/runs/{runs['researcher']}/review",
        {"decision": "approved", "note": "checked", "csrf": token},
    )
    assert done.status_code == 303
    approvals = json.loads(server.cli("auditor", "show", runs["researcher"], "--json").out)
    last = approvals["approvals"][-1]
    assert (last["decision"], last["actor"], last["note"]) == ("approved", "rita", "checked")
    assert last["identity"] == "authenticated"
    # their own run: the button says why, and the server refuses (four eyes)
    page = client.get(f"/runs/{runs['reviewer']}")
    assert "you recorded this run: four eyes needs another reviewer" in page.text
    refused = client.post(
        f"/runs/{runs['reviewer']}/review", {"decision": "approved", "csrf": token}
    )
    assert refused.status_code == 403
    assert "four eyes" in refused.text
    # a cross-site form (no token) changes nothing
    forged = client.post(f"/runs/{runs['researcher']}/review", {"decision": "rejected"})
    assert forged.status_code == 403
    after = json.loads(server.cli("auditor", "show", runs["researcher"], "--json").out)
    assert len(after["approvals"]) == len(approvals["approvals"])


def test_an_auditor_verifies_and_changes_nothing(served: tuple[Server, dict[str, str]]) -> None:
    server, runs = served
    client, status = _login(server, "auditor")
    assert status == 303
    token = client.cookies["pedigree_csrf"]
    page = client.get(f"/runs/{runs['researcher']}")
    assert "your role (auditor) may not review" in page.text
    refused = client.post(
        f"/runs/{runs['researcher']}/review", {"decision": "rejected", "csrf": token}
    )
    assert refused.status_code == 403
    verified = client.post("/audit/verify", {"csrf": token})
    assert verified.status_code == 200
    assert "The record is intact" in verified.text
    researcher, _ = _login(server, "researcher")
    assert (
        researcher.post("/audit/verify", {"csrf": researcher.cookies["pedigree_csrf"]}).status_code
        == 403
    )


def test_tokens_still_work_for_the_api(served: tuple[Server, dict[str, str]]) -> None:
    server, runs = served
    answer = server.request("GET", "/api/v1/whoami", role="reviewer")
    assert answer.status == 200
    assert answer.json()["user"] == "rita"
    ui = server.request("GET", "/api/v1/ui/runs", role="auditor")
    assert ui.status == 200
    assert {r["id"] for r in ui.json()["runs"]} >= set(runs.values())
    missing = server.request("GET", "/api/v1/nowhere", role="auditor")
    assert missing.status == 404
    assert missing.json()["error"]["message"] == "no route GET /api/v1/nowhere"
    assert server.request("GET", "/healthz").status == 200
    assert Path(server.root).exists()


def test_in_chromium_log_in_and_approve(served: tuple[Server, dict[str, str]]) -> None:
    from playwright.sync_api import sync_playwright
    from tests.web.test_browser import AXE, CHROMIUM, Checked

    server, runs = served
    assert AXE.exists(), "make web"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            checked = Checked(browser, server.url)
            page = checked.goto(f"/runs/{runs['researcher']}")
            assert "/login" in page.url  # sent to the login page, then back
            checked.settled("login")
            page.fill("#username", USERS["reviewer"])
            page.fill("#password", PASSWORDS["reviewer"])
            page.click("form.login button[type=submit]")
            checked.settled()
            assert page.url.endswith(f"/runs/{runs['researcher']}")
            assert "rita (reviewer)" in page.locator("header").inner_text()
            page.fill("#note", "reviewed in the browser")
            page.click("button[value=approved]")
            checked.settled()
            assert "reviewed in the browser" in page.locator("ul.reviews").inner_text()
            page = checked.goto(f"/runs/{runs['reviewer']}")
            button = page.locator("button[value=approved]")
            assert button.is_disabled()
            assert "four eyes" in (button.get_attribute("title") or "")
            page.click("header form button[type=submit]")  # sign out
            page.wait_for_load_state("networkidle")
            assert "/login" in page.url
            checked.close()
        finally:
            browser.close()
