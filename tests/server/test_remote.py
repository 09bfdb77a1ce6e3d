"""The CLI through a real team server: runs, data, lineage, approvals and the audit, recorded as
the token's user, with the roles enforced and the record intact afterwards."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
from tests.conftest import PYTHON
from tests.server.conftest import USERS, Server

pytestmark = pytest.mark.slow

SCRIPT = """\
import pedigree
p = pedigree.params(window=20)
pedigree.use("data/prices.csv")
with open("data/prices.csv") as f:
    rows = f.read().splitlines()
with open("signal.csv", "w") as f:
    f.write("signal\\n" + "\\n".join(str(len(r) * p["window"]) for r in rows) + "\\n")
pedigree.produce("signal.csv")
for step in range(5):
    pedigree.log_metric("sharpe", 1.0 + step / 10, step=step)
print("backtest done")
"""


def _json(res: object) -> object:
    assert res.code == 0, res.err  # type: ignore[attr-defined]
    return json.loads(res.out)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def recorded(server: Server) -> dict[str, object]:
    """A dataset and a run recorded through the server by the researcher, PEDIGREE_USER set to
    somebody else."""
    root = server.client_dir
    (root / "data").mkdir()
    (root / "data" / "prices.csv").write_text("date,close\n2026-01-02,101.5\n2026-01-03,99.0\n")
    (root / "backtest.py").write_text(SCRIPT)
    res = server.cli("researcher", "data", "add", "data", "--name", "prices")
    assert res.code == 0, res.err
    res = server.cli(
        "researcher", "run", "--", PYTHON, "backtest.py", PEDIGREE_USER="chief.risk.officer"
    )
    assert res.code == 0, res.err
    assert "backtest done" in res.out
    run = _json(server.cli("researcher", "show", "last", "--json"))
    assert isinstance(run, dict)
    return run


def test_a_run_is_recorded_as_the_token_user_not_the_declared_one(
    server: Server, recorded: dict[str, object]
) -> None:
    assert recorded["status"] == "finished"
    assert recorded["user"] == USERS["researcher"]
    assert recorded["identity"] == "authenticated"
    assert recorded["recorded_by"] == USERS["researcher"]
    assert recorded["params"] == {"window": 20}
    assert recorded["metrics"] == {"sharpe": 1.4}
    log = _json(server.cli("auditor", "audit", "log", "--json"))
    assert isinstance(log, list)
    actors = {e["actor"] for e in log if e.get("run_id") == recorded["id"]}
    assert actors == {USERS["researcher"]}
    assert "chief.risk.officer" not in json.dumps(log)
    # The run's events were proven by the token; the users and tokens were made locally.
    assert {e["identity"] for e in log if e.get("run_id") == recorded["id"]} == {"authenticated"}
    assert {e["identity"] for e in log if e["kind"] == "user.added"} == {"self-declared"}


def test_runs_and_lineage_read_through_the_server(
    server: Server, recorded: dict[str, object]
) -> None:
    runs = _json(server.cli("auditor", "runs", "--json", "--where", "metrics.sharpe > 1"))
    assert isinstance(runs, list)
    assert [r["id"] for r in runs] == [recorded["id"]]
    res = server.cli("reviewer", "lineage", str(recorded["id"]))
    assert res.code == 0, res.err
    assert "prices" in res.out or "data/prices.csv" in res.out
    graph = _json(server.cli("reviewer", "lineage", str(recorded["id"]), "--json"))
    assert "data/prices.csv" in json.dumps(graph)
    graph = _json(server.cli("reviewer", "lineage", str(recorded["id"]), "--down", "--json"))
    assert "signal.csv" in json.dumps(graph)


def test_the_run_s_files_are_in_the_server_s_object_store(
    server: Server, recorded: dict[str, object]
) -> None:
    res = server.cli("researcher", "data", "ls", "--json")
    assert res.code == 0, res.err
    assert "prices" in res.out
    objects = server.root / ".pedigree" / "objects"
    stored = [p for p in objects.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert stored, "nothing was uploaded"
    # No store on the client (a run's spool is scratch space next to the code).
    assert not (server.client_dir / ".pedigree" / "pedigree.db").exists()
    assert not (server.client_dir / ".pedigree" / "objects").exists()


def test_approve_reviewer_yes_researcher_no(server: Server, recorded: dict[str, object]) -> None:
    run_id = str(recorded["id"])
    res = server.cli("researcher", "approve", run_id, "--note", "mine")
    assert res.code == 9, (res.code, res.err)
    assert res.err.startswith("error: ")
    assert len(res.err.strip().splitlines()) == 1
    res = server.cli("reviewer", "approve", run_id, "--note", "holds out of sample")
    assert res.code == 0, res.err
    approvals = _json(server.cli("auditor", "show", run_id, "--json"))
    assert isinstance(approvals, dict)
    assert USERS["reviewer"] in json.dumps(approvals.get("approvals", approvals))


def test_four_eyes_holds_for_an_approval_sent_as_a_raw_event(server: Server) -> None:
    """The server checks four eyes itself: a reviewer cannot approve their own run by sending
    the approval event without the CLI's check."""
    from pedigree.store.events import ApprovalRecorded, prepare

    (server.client_dir / "mine.py").write_text("print('mine')\n")
    res = server.cli("reviewer", "run", "--", PYTHON, "mine.py")
    assert res.code == 0, res.err
    run = _json(server.cli("reviewer", "show", "last", "--json"))
    assert isinstance(run, dict)
    approval = ApprovalRecorded(
        id=str(uuid.uuid4()),
        target_type="run",
        target=str(run["id"]),
        decision="approved",
        actor=USERS["reviewer"],
    )
    body = {
        "batch": uuid.uuid4().hex,
        "events": [{"kind": approval.KIND, "payload": prepare(approval)[0]}],
    }
    answer = server.request("POST", "/api/v1/events", role="reviewer", body=body)
    assert answer.status == 403, answer.body
    assert answer.json()["error"]["code"] == "four_eyes"
    # Nor can an event claim another actor than the token's user.
    forged = ApprovalRecorded(
        id=str(uuid.uuid4()),
        target_type="run",
        target=str(run["id"]),
        decision="approved",
        actor=USERS["researcher"],
    )
    body = {
        "batch": uuid.uuid4().hex,
        "events": [{"kind": forged.KIND, "payload": prepare(forged)[0]}],
    }
    answer = server.request("POST", "/api/v1/events", role="reviewer", body=body)
    assert answer.status == 403, answer.body
    shown = _json(server.cli("auditor", "show", str(run["id"]), "--json"))
    assert isinstance(shown, dict)
    assert shown["approval"]["approvers"] == []


def test_an_admin_manages_users_and_tokens_through_the_server(server: Server) -> None:
    res = server.cli("admin", "users", "add", "newbie", "--role", "researcher")
    assert res.code == 0, res.err
    created = _json(server.cli("admin", "tokens", "create", "--user", "newbie", "--json"))
    assert isinstance(created, dict)
    assert server.request("GET", "/api/v1/whoami", token=created["token"]).json() == {
        "user": "newbie",
        "role": "researcher",
    }
    listed = _json(server.cli("admin", "tokens", "ls", "--json"))
    assert created["token"] not in json.dumps(listed)
    assert "sha256:" not in json.dumps(listed)
    res = server.cli("admin", "tokens", "revoke", str(created["id"]))
    assert res.code == 0, res.err
    assert server.request("GET", "/api/v1/whoami", token=created["token"]).status == 401
    # Only an admin: a researcher may neither add users nor read tokens.
    res = server.cli("researcher", "users", "add", "sneaky", "--role", "admin")
    assert res.code == 9, res.err
    res = server.cli("researcher", "tokens", "ls")
    assert res.code == 9, res.err
    log = _json(server.cli("auditor", "audit", "log", "--json"))
    assert isinstance(log, list)
    kinds = [(e["kind"], e["actor"], e["identity"]) for e in log if e["kind"].startswith("token.")]
    assert ("token.revoked", USERS["admin"], "authenticated") in kinds


def test_the_auditor_reads_but_writes_nothing(server: Server, recorded: dict[str, object]) -> None:
    before = _json(server.cli("auditor", "audit", "log", "--json"))
    assert isinstance(before, list)
    res = server.cli("auditor", "run", "--", PYTHON, "-c", "print(1)")
    assert res.code != 0
    assert "auditor" in res.err
    res = server.cli("auditor", "data", "add", "data", "--name", "other")
    assert res.code == 9, res.err
    for args in (("runs",), ("show", "last"), ("audit", "verify"), ("lineage", "last")):
        res = server.cli("auditor", *args)
        assert res.code == 0, (args, res.err)
    after = _json(server.cli("auditor", "audit", "log", "--json"))
    assert after == before  # reading wrote nothing


def test_missing_bad_and_revoked_tokens_are_refused(server: Server) -> None:
    for token in (None, "pdg_" + "x" * 40):
        extra = {} if token is None else {"PEDIGREE_TOKEN": token}
        res = server.cli(None, "runs", **extra)
        assert res.code == 8, res.err
        assert res.err.startswith("error: ")
        assert len(res.err.strip().splitlines()) == 1
        if token:
            assert token not in res.err
    answer = server.request("GET", "/api/v1/whoami")
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "unauthenticated"
    assert isinstance(answer.json()["error"]["message"], str)
    # A fresh researcher token works, then is revoked and is refused.
    created = _json(server.local("tokens", "create", "--user", USERS["researcher"], "--json"))
    assert isinstance(created, dict)
    assert server.request("GET", "/api/v1/whoami", token=created["token"]).status == 200
    res = server.local("tokens", "revoke", str(created["id"]))
    assert res.code == 0, res.err
    answer = server.request("GET", "/api/v1/whoami", token=created["token"])
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "unauthenticated"
    assert created["token"] not in (server.log.read_text() if server.log else "")


def test_an_expired_token_is_refused(server: Server) -> None:
    import time

    created = _json(
        server.local("tokens", "create", "--user", USERS["auditor"], "--expires", "10s", "--json")
    )
    made = time.monotonic()
    assert isinstance(created, dict)
    assert server.request("GET", "/api/v1/whoami", token=created["token"]).status == 200
    time.sleep(max(0.0, 10.5 - (time.monotonic() - made)))
    res = server.cli(None, "runs", PEDIGREE_TOKEN=created["token"])
    assert res.code == 8, res.err
    assert created["token"] not in res.err


def test_an_upload_whose_bytes_do_not_hash_to_the_digest_is_refused(server: Server) -> None:
    from pedigree.digest import hash_bytes

    digest = hash_bytes(b"the real bytes")
    answer = server.request(
        "PUT", f"/api/v1/objects/{digest}", role="researcher", raw=b"other bytes"
    )
    assert answer.status in (400, 422)
    assert answer.json()["error"]["code"] == "invalid_value"
    assert "nothing was stored" in answer.json()["error"]["message"]
    assert server.request("HEAD", f"/api/v1/objects/{digest}", role="researcher").status == 404
    ok = server.request(
        "PUT", f"/api/v1/objects/{digest}", role="researcher", raw=b"the real bytes"
    )
    assert ok.status == 201
    assert ok.json() == {"digest": str(digest), "stored": True}
    again = server.request(
        "PUT", f"/api/v1/objects/{digest}", role="researcher", raw=b"the real bytes"
    )
    assert again.json()["stored"] is False
    got = server.request("GET", f"/api/v1/objects/{digest}", role="auditor")
    assert got.status == 200
    assert got.body == b"the real bytes"
    for bad in ("..%2F..%2Fetc%2Fpasswd", "blake3:" + "g" * 64, "blake3:" + "0" * 63):
        answer = server.request("GET", f"/api/v1/objects/{bad}", role="auditor")
        assert answer.status in (400, 404, 422), (bad, answer.status)
        assert "error" in answer.json()


def test_an_upload_cut_short_resumes_where_it_stopped(server: Server, tmp_path: Path) -> None:
    import socket
    import time

    from pedigree.digest import hash_bytes
    from pedigree.objects.remote import RemoteObjectStore

    data = os.urandom(3 << 20)
    digest = hash_bytes(data)
    # Half the body, then the connection drops.
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = (
            f"PUT /api/v1/objects/{digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {server.tokens['researcher']}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        sock.sendall(head.encode() + data[: len(data) // 2])
        time.sleep(1)
    held = 0
    for _ in range(50):
        answer = server.request("HEAD", f"/api/v1/uploads/{digest}", role="researcher")
        if answer.status == 200:
            held = int({k.lower(): v for k, v in answer.headers.items()}["upload-offset"])
            if held:
                break
        time.sleep(0.2)
    assert 0 < held <= len(data) // 2
    assert server.request("HEAD", f"/api/v1/objects/{digest}", role="auditor").status == 404
    wrong = server.request("PUT", f"/api/v1/objects/{digest}?offset=0", role="researcher", raw=data)
    assert wrong.status == 409
    # The client resumes: only the rest is sent.
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    store = RemoteObjectStore(server.url, server.tokens["researcher"])
    try:
        assert store.put_file(path, digest) == digest
    finally:
        store.http.close()
    got = server.request("GET", f"/api/v1/objects/{digest}", role="auditor")
    assert got.body == data
    assert server.request("HEAD", f"/api/v1/uploads/{digest}", role="researcher").status == 404


def test_a_retried_batch_is_recorded_once(server: Server) -> None:
    from pedigree.store.events import RunCreated, prepare

    run_id = str(uuid.UUID(int=uuid.uuid4().int | (7 << 76)))
    batch = {
        "batch": uuid.uuid4().hex,
        "events": [
            {"kind": "run.created", "payload": prepare(RunCreated(id=run_id, experiment="e"))[0]}
        ],
    }
    first = server.request("POST", "/api/v1/events", role="researcher", body=batch)
    assert first.status == 200, first.body
    second = server.request("POST", "/api/v1/events", role="researcher", body=batch)
    assert second.status == 200
    assert second.json() == first.json()
    log = _json(server.cli("auditor", "audit", "log", "--json"))
    assert isinstance(log, list)
    assert sum(1 for e in log if e.get("run_id") == run_id) == 1
    # A batch read at an old head is refused, and nothing of it is recorded.
    stale = {
        "batch": uuid.uuid4().hex,
        "expect_head": 1,
        "events": [
            {
                "kind": "run.ended",
                "payload": json.dumps({"run_id": run_id, "status": "finished", "ended_at": 1.0}),
            }
        ],
    }
    answer = server.request("POST", "/api/v1/events", role="researcher", body=stale)
    assert answer.status == 409
    assert answer.json()["error"]["code"] == "stale_read"


def test_bad_input_is_a_4xx_never_a_500(server: Server) -> None:
    cases = [
        ("POST", "/api/v1/events", {"batch": "x", "events": []}),
        (
            "POST",
            "/api/v1/events",
            {"batch": "b" * 20, "events": [{"kind": "nope", "payload": "{}"}]},
        ),
        (
            "POST",
            "/api/v1/events",
            {"batch": "b" * 21, "events": [{"kind": "run.params", "payload": "[1]"}]},
        ),
        (
            "POST",
            "/api/v1/events",
            {
                "batch": "b" * 22,
                "events": [
                    {
                        "kind": "run.metrics",
                        "payload": '{"run_id": "r", "points": {"keys": [], "data": "%%"}}',
                    }
                ],
            },
        ),
        ("POST", "/api/v1/read/select_runs", {"args": [], "kwargs": {"nope": 1}}),
        ("POST", "/api/v1/read/conn", {}),
        ("POST", "/api/v1/read/__init__", {}),
        ("POST", "/api/v1/read/resolve_run", {"args": [{"$c": "Popen", "v": {}}]}),
        ("POST", "/api/v1/read/resolve_run", {"args": ["no-such-run"]}),
        ("POST", "/api/v1/heartbeat", {"run_id": "", "host": "h", "pid": -1}),
        ("POST", "/api/v1/audit/verify", {"anchor": "not-an-anchor"}),
    ]
    for method, path, body in cases:
        answer = server.request(method, path, role="admin", body=body)
        assert 400 <= answer.status < 500, (path, body, answer.status, answer.body)
        error = answer.json()["error"]
        assert set(error) == {"code", "message"}
    answer = server.request(
        "POST",
        "/api/v1/events",
        role="admin",
        raw=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 422


def test_report_export_and_logs_through_the_server(
    server: Server, recorded: dict[str, object], tmp_path: object
) -> None:
    out = server.client_dir / "report.html"
    res = server.cli("auditor", "report", str(recorded["id"]), "-o", str(out))
    assert res.code == 0, res.err
    assert str(recorded["id"]) in out.read_text()
    res = server.cli("researcher", "export", str(recorded["id"]), "--format", "openlineage")
    assert res.code == 0, res.err
    assert "data/prices.csv" in res.out
    res = server.cli("researcher", "logs", str(recorded["id"]))
    assert res.code == 0, res.err
    assert "backtest done" in res.out
    anchor = server.cli("auditor", "audit", "anchor")
    assert anchor.code == 0, anchor.err
    assert "blake3:" in anchor.out


def test_sweep_and_reproduce_through_the_server(server: Server) -> None:
    """Trials run on the client and are recorded on the server; a reproduction executes on the
    client (after verifying the record, which any role may) and records its verdict there."""
    root = server.client_dir
    (root / "sweep_me.py").write_text(
        "import pedigree\np = pedigree.params(window=10)\n"
        "pedigree.log_metric('sharpe', p['window'] / 10)\n"
    )
    subprocess.run(["git", "add", "sweep_me.py"], cwd=root, env=server.env, check=True)
    subprocess.run(["git", "commit", "-qm", "sweep"], cwd=root, env=server.env, check=True)
    res = server.cli("researcher", "sweep", "-p", "window=10,20", "--", PYTHON, "sweep_me.py")
    assert res.code == 0, res.err
    trials = _json(server.cli("auditor", "runs", "--json", "--where", "params.window = 20"))
    assert isinstance(trials, list)
    assert trials[0]["metrics"] == {"sharpe": 2.0}
    res = server.cli("researcher", "reproduce", str(trials[0]["id"]))
    assert res.code == 0, res.err
    assert "identical" in res.err or "equivalent" in res.err


def test_audit_verify_is_intact_through_the_server(
    server: Server, recorded: dict[str, object]
) -> None:
    res = server.cli("auditor", "audit", "verify")
    assert res.code == 0, res.err
    res = server.local("audit", "verify")
    assert res.code == 0, res.err


def test_login_stores_the_token_for_the_user_alone(server: Server) -> None:
    env = {k: v for k, v in server.env.items() if k not in ("PEDIGREE_URI", "PEDIGREE_TOKEN")}
    from tests.server.conftest import run_cli

    res = run_cli(
        "login", server.url, cwd=server.client_dir, env=env, stdin=server.tokens["reviewer"] + "\n"
    )
    assert res.code == 0, res.err
    assert USERS["reviewer"] in res.out
    creds = os.path.join(env["XDG_CONFIG_HOME"], "pedigree", "credentials.toml")
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o600
    try:
        runs = _json(run_cli("runs", "--json", cwd=server.client_dir, env=env))
        assert isinstance(runs, list)
        res = run_cli("login", server.url, cwd=server.client_dir, env=env, stdin="wrong-token\n")
        assert res.code == 8
        assert "wrong-token" not in res.err
    finally:
        res = run_cli("logout", cwd=server.client_dir, env=env)
        assert res.code == 0
    assert not os.path.exists(creds)
