"""Tokens: made, hashed, authenticated, expired, revoked, and never stored or logged in clear."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pedigree.config import init_project
from pedigree.context import Actor, Context
from pedigree.errors import Conflict, InvalidInput, NotFound
from pedigree.identity import AuthError, Principal, authenticate
from pedigree.identity.tokens import parse_duration
from pedigree.identity.users import (
    add_user,
    create_token,
    disable_user,
    list_tokens,
    revoke_token,
    set_role,
)


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    project, _ = init_project(tmp_path)
    return Context(project, actor=Actor("root"))


def _auth(ctx: Context, token: str, now: float | None = None) -> Principal:
    with ctx.read() as reader:
        return authenticate(reader, token, now=now)


def test_a_token_authenticates_its_user_with_their_current_role(ctx: Context) -> None:
    add_user(ctx, "ann", "researcher")
    made = create_token(ctx, "ann")
    assert _auth(ctx, made["token"]) == Principal("ann", "researcher", made["id"])
    set_role(ctx, "ann", "reviewer")
    assert _auth(ctx, made["token"]).role == "reviewer"


def test_every_bad_token_is_refused_the_same_way(ctx: Context) -> None:
    add_user(ctx, "ann", "researcher")
    good = create_token(ctx, "ann")["token"]
    tid = good.split("_")[1]
    forged = f"pdg_{tid}_" + "A" * 43
    unknown = "pdg_0123456789abcdef_" + good.split("_", 2)[2]
    for bad in (forged, unknown, "", "pdg_", "Bearer x", good[:-1], good + "x", good.upper()):
        with pytest.raises(AuthError) as caught:
            _auth(ctx, bad)
        assert str(caught.value) == "invalid, revoked or expired token"
        assert caught.value.exit_code == 8
        assert caught.value.http_status == 401
        assert caught.value.code == "unauthenticated"


def test_expiry(ctx: Context) -> None:
    add_user(ctx, "ann", "researcher")
    made = create_token(ctx, "ann", expires="1h")
    now = time.time()
    assert _auth(ctx, made["token"], now=now + 3500).user == "ann"
    with pytest.raises(AuthError):
        _auth(ctx, made["token"], now=now + 3700)
    assert list_tokens(ctx)[0]["state"] == "active"
    forever = create_token(ctx, "ann", expires="never")
    assert forever["expires_at"] is None
    assert _auth(ctx, forever["token"], now=now + 10 * 365 * 86400).user == "ann"


def test_revoked_tokens_and_disabled_users_no_longer_authenticate(ctx: Context) -> None:
    add_user(ctx, "ann", "researcher")
    first, second = create_token(ctx, "ann"), create_token(ctx, "ann")
    assert revoke_token(ctx, first["id"])["state"] == "revoked"
    with pytest.raises(AuthError):
        _auth(ctx, first["token"])
    assert _auth(ctx, second["token"]).token_id == second["id"]
    with pytest.raises(Conflict, match="revoked already"):
        revoke_token(ctx, first["id"])
    disable_user(ctx, "ann")
    with pytest.raises(AuthError):
        _auth(ctx, second["token"])
    with pytest.raises(Conflict, match="disabled"):
        create_token(ctx, "ann")
    with pytest.raises(Conflict, match="disabled already"):
        disable_user(ctx, "ann")


def test_bad_requests_write_nothing(ctx: Context) -> None:
    with ctx.read() as reader:
        head = reader.db.scalar("SELECT seq FROM audit_head")
    with pytest.raises(NotFound):
        create_token(ctx, "nobody")
    with pytest.raises(NotFound):
        revoke_token(ctx, "0123456789abcdef")
    with pytest.raises(NotFound):
        set_role(ctx, "nobody", "admin")
    with pytest.raises(InvalidInput):
        add_user(ctx, "ann", "boss")
    with pytest.raises(InvalidInput):
        add_user(ctx, "a b", "admin")
    add_user(ctx, "ann", "admin")
    with pytest.raises(Conflict, match="exists already"):
        add_user(ctx, "ann", "admin")
    with pytest.raises(InvalidInput, match="--expires"):
        create_token(ctx, "ann", expires="soon")
    with pytest.raises(InvalidInput, match="not the token itself"):
        revoke_token(ctx, "pdg_0123456789abcdef_secret")
    with ctx.read() as reader:
        assert reader.db.scalar("SELECT seq FROM audit_head") == head + 1  # the one user added


def test_the_secret_is_nowhere_in_the_store(ctx: Context) -> None:
    add_user(ctx, "ann", "researcher")
    made = create_token(ctx, "ann")
    secret = made["token"].split("_", 2)[2]
    from pedigree.context import close_all

    close_all()
    folder = ctx.project.dir
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data, path
            assert made["token"].encode() not in data, path
    with ctx.read() as reader:
        payloads = reader.db.scalars("SELECT payload FROM audit_events")
        stored = reader.token(made["id"])
    assert not any(secret in p for p in payloads)
    assert stored is not None
    assert stored.hash.startswith("sha256:")
    assert "hash" not in list_tokens(ctx)[0]


def test_durations() -> None:
    assert parse_duration("30m") == 1800
    assert parse_duration("2w") == 14 * 86400
    assert parse_duration(" 1Y ") == 365 * 86400
    for bad in ("", "0d", "90", "-1d", "1.5d", "90 days", "9999999d"):
        with pytest.raises(InvalidInput):
            parse_duration(bad)
