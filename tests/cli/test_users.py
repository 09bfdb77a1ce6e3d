"""`pedigree users` and `pedigree tokens` through the real CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from tests.conftest import CliResult, Project


@pytest.mark.slow
def test_users_and_tokens_end_to_end(any_project: Project) -> None:
    p = any_project.pedigree
    added = p("users", "add", "maria", "--role", "admin", "--json")
    assert added.code == 0, added.err
    assert json.loads(added.out)["role"] == "admin"
    assert p("users", "add", "ben", "--role", "researcher").code == 0
    made = p("tokens", "create", "--user", "ben", "--expires", "2w", "--note", "laptop")
    assert made.code == 0, made.err
    token = made.out.strip()
    assert token.startswith("pdg_")
    assert len(token.splitlines()) == 1
    assert "shown only now" in made.err
    listed = json.loads(p("tokens", "ls", "--json").out)
    assert [(t["user"], t["state"], t["note"]) for t in listed] == [("ben", "active", "laptop")]
    assert token not in p("tokens", "ls").out
    assert "hash" not in listed[0]
    token_id = listed[0]["id"]
    assert token_id in token

    assert p("users", "set-role", "ben", "reviewer").out.strip() == "ben is now reviewer"
    revoked = json.loads(p("tokens", "revoke", token_id, "--json").out)
    assert revoked["state"] == "revoked"
    assert revoked["revoked_by"]
    assert p("users", "disable", "ben").code == 0
    users = json.loads(p("users", "ls", "--json").out)
    assert [(u["name"], u["role"], u["disabled"]) for u in users] == [
        ("ben", "reviewer", True),
        ("maria", "admin", False),
    ]

    log = json.loads(p("audit", "log", "--json").out)
    kinds = [e["kind"] for e in log]
    assert kinds == [
        "user.added",
        "user.added",
        "token.created",
        "user.role_changed",
        "token.revoked",
        "user.disabled",
    ]
    assert {e["identity"] for e in log} == {"self-declared"}
    assert token.split("_", 2)[2] not in json.dumps(log)
    text = p("audit", "log").out
    assert text.splitlines()[0].split()[-1] == "identity"
    assert text.splitlines()[1].split()[-1] == "self-declared"
    verified = p("audit", "verify")
    assert verified.code == 0, verified.err + verified.out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("users", "add", "maria", "--role", "admin"), 4, "error: user 'maria' exists already"),
        (("users", "add", "x", "--role", "boss"), 2, "error: Invalid value for '--role'"),
        (("users", "add", "a b", "--role", "admin"), 2, "error: a user name is at most"),
        (("users", "set-role", "nobody", "admin"), 3, "error: no user 'nobody'"),
        (("users", "set-role", "maria", "chief"), 2, "error: Invalid value for '{researcher|"),
        (("users", "disable", "nobody"), 3, "error: no user 'nobody'"),
        (("tokens", "create", "--user", "nobody"), 3, "error: no user 'nobody'"),
        (("tokens", "create", "--user", "maria", "--expires", "90"), 2, "error: --expires"),
        (("tokens", "revoke", "0123456789abcdef"), 3, "error: no token '0123456789abcdef'"),
        (("tokens", "ls", "--user", "nobody"), 3, "error: no user 'nobody'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    project: Project,
    cli,
    args: tuple[str, ...],
    code: int,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    assert cli("users", "add", "maria", "--role", "admin").code == 0
    before = json.loads(cli("audit", "log", "--json").out)
    res: CliResult = cli(*args)
    assert res.code == code, (res.out, res.err)
    assert res.err.startswith(message), res.err
    assert len(res.err.strip().splitlines()) == 1
    assert "Traceback" not in res.err
    assert json.loads(cli("audit", "log", "--json").out) == before


def test_revoking_twice_is_a_conflict(project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    cli("users", "add", "ben", "--role", "researcher")
    made = json.loads(cli("tokens", "create", "--user", "ben", "--json").out)
    assert made["token"].startswith(f"pdg_{made['id']}_")
    assert cli("tokens", "revoke", made["id"]).code == 0
    again = cli("tokens", "revoke", made["id"])
    assert again.code == 4
    assert again.err.strip() == f"error: token {made['id']} is revoked already"


@pytest.mark.parametrize("command", ["users", "tokens"])
def test_help_has_examples(cli, command: str) -> None:  # type: ignore[no-untyped-def]
    res = cli(command, "--help")
    assert res.code == 0
    assert "Examples:" in res.out
