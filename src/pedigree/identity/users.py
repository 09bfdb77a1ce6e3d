"""Users and their tokens, recorded as events in the audit chain.

Each change is an event (``user.added``, ``user.role_changed``, ``user.disabled``,
``token.created``, ``token.revoked``) appended by the acting identity, checked against the store
inside the write transaction: a duplicate user, an unknown one, a token revoked twice write
nothing. On the embedded store anyone who can write the project's files can run these (that is
how the first admin is made on the server's machine); through the team server only an admin may
(``pedigree.identity.roles``).

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Actor, Context
>>> ctx = Context(init_project(tempfile.mkdtemp())[0], actor=Actor("root"))
>>> add_user(ctx, "ann", "researcher")["role"]
'researcher'
>>> made = create_token(ctx, "ann", expires="30d")
>>> made["token"].startswith("pdg_"), made["user"], made["state"]
(True, 'ann', 'active')
>>> revoke_token(ctx, made["id"])["state"]
'revoked'
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pedigree.errors import Conflict, InvalidInput, NotFound
from pedigree.identity.tokens import make_token, parse_duration
from pedigree.store.events import (
    ROLES,
    Event,
    TokenCreated,
    TokenRevoked,
    UserAdded,
    UserDisabled,
    UserRoleChanged,
)
from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.store.reader import Reader
    from pedigree.store.reads.identity import TokenRow, UserRow

__all__ = [
    "DEFAULT_EXPIRY",
    "add_user",
    "create_token",
    "disable_user",
    "list_tokens",
    "list_users",
    "revoke_token",
    "set_role",
    "token_json",
    "user_json",
]

DEFAULT_EXPIRY = "90d"


class UserNotFound(NotFound):
    pass


class TokenNotFound(NotFound):
    pass


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    return role


def user_json(u: UserRow) -> dict[str, Any]:
    return {
        "name": u.name,
        "role": u.role,
        "disabled": u.disabled,
        "created_at": iso(u.created_at),
        "created_by": u.created_by,
        "updated_at": iso(u.updated_at),
    }


def token_json(t: TokenRow, now: float | None = None) -> dict[str, Any]:
    """A token as listed: never its hash, let alone its secret."""
    return {
        "id": t.id,
        "user": t.user,
        "state": t.state(time.time() if now is None else now),
        "created_at": iso(t.created_at),
        "created_by": t.created_by,
        "expires_at": iso(t.expires_at) if t.expires_at is not None else None,
        "revoked_at": iso(t.revoked_at) if t.revoked_at is not None else None,
        "revoked_by": t.revoked_by,
        "note": t.note,
    }


def _existing(reader: Reader, name: str) -> UserRow:
    user = reader.user(name)
    if user is None:
        raise UserNotFound(f"no user {name!r} (see `pedigree users ls`)")
    return user


def add_user(ctx: Context, name: str, role: str) -> dict[str, Any]:
    _check_role(role)
    at = time.time()

    def build(reader: Reader) -> list[Event]:
        if reader.user(name) is not None:
            raise Conflict(f"user {name!r} exists already")
        return [UserAdded(name=name, role=role, actor=ctx.user, at=at)]

    ctx.write(build)
    with ctx.read() as reader:
        return user_json(_existing(reader, name))


def set_role(ctx: Context, name: str, role: str) -> dict[str, Any]:
    """Give ``name`` the role ``role``; their role already is that, nothing is recorded."""
    _check_role(role)
    at = time.time()

    def build(reader: Reader) -> list[Event]:
        user = _existing(reader, name)
        if user.role == role:
            return []
        return [UserRoleChanged(name=name, role=role, actor=ctx.user, at=at)]

    ctx.write(build)
    with ctx.read() as reader:
        return user_json(_existing(reader, name))


def disable_user(ctx: Context, name: str) -> dict[str, Any]:
    """From now on no token of ``name`` authenticates; their records stay as they are."""
    at = time.time()

    def build(reader: Reader) -> list[Event]:
        if _existing(reader, name).disabled:
            raise Conflict(f"user {name!r} is disabled already")
        return [UserDisabled(name=name, actor=ctx.user, at=at)]

    ctx.write(build)
    with ctx.read() as reader:
        return user_json(_existing(reader, name))


def list_users(ctx: Context) -> list[dict[str, Any]]:
    with ctx.read() as reader:
        return [user_json(u) for u in reader.users()]


def create_token(
    ctx: Context, user: str, *, expires: str | None = DEFAULT_EXPIRY, note: str | None = None
) -> dict[str, Any]:
    """Make a token for ``user``, valid for ``expires`` (``90d``, ``12h``, ``never``...).

    Returns the token as listed plus ``token``: its text, the only time anyone sees it.
    """
    lifetime = parse_duration(expires) if expires is not None else None
    note = (note or "").strip() or None
    made = make_token()
    at = time.time()

    def build(reader: Reader) -> list[Event]:
        if _existing(reader, user).disabled:
            raise Conflict(f"user {user!r} is disabled: they cannot have a new token")
        return [
            TokenCreated(
                id=made.id,
                user=user,
                hash=made.hash,
                expires_at=None if lifetime is None else at + lifetime,
                note=note,
                actor=ctx.user,
                at=at,
            )
        ]

    ctx.write(build)
    with ctx.read() as reader:
        row = reader.token(made.id)
    assert row is not None
    return {**token_json(row), "token": made.text}


def list_tokens(ctx: Context, user: str | None = None) -> list[dict[str, Any]]:
    now = time.time()
    with ctx.read() as reader:
        if user is not None:
            _existing(reader, user)
        return [token_json(t, now) for t in reader.tokens(user)]


def revoke_token(ctx: Context, token_id: str) -> dict[str, Any]:
    """Revoke a token by its id (``pedigree tokens ls``); from now on it authenticates no one."""
    token_id = token_id.strip()
    if token_id.startswith("pdg_"):
        raise InvalidInput(
            "give the token's id (`pedigree tokens ls`), not the token itself: "
            "a token is a secret and should not be typed into commands"
        )
    at = time.time()

    def build(reader: Reader) -> list[Event]:
        row = reader.token(token_id)
        if row is None:
            raise TokenNotFound(f"no token {token_id!r} (see `pedigree tokens ls`)")
        if row.revoked_at is not None:
            raise Conflict(f"token {token_id} is revoked already")
        return [TokenRevoked(id=token_id, actor=ctx.user, at=at)]

    ctx.write(build)
    with ctx.read() as reader:
        row = reader.token(token_id)
    assert row is not None
    return token_json(row)
