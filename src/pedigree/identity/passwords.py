"""Passwords for the web UI's login (``pedigree users passwd NAME``), stored as argon2id hashes.

Setting one is a ``user.password_set`` event in the audit chain, like every change to a user;
the event holds the hash (argon2id, salted, memory-hard), never the password, and nothing prints
the hash. Checking one is done on the team server only: the hash is not among the reads it
serves (``pedigree.store.remote.SERVER_ONLY_READS``). API tokens are unchanged: a password opens a
browser session, a token authenticates a program.

Needs ``argon2-cffi`` (the ``server`` extra).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput
from pedigree.identity.errors import AuthError
from pedigree.identity.tokens import Principal
from pedigree.store.events import Event, UserPasswordSet

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.store.reader import Reader

__all__ = ["MIN_LENGTH", "check_password", "hash_password", "set_password"]

MIN_LENGTH = 12
# Compared against when the user has no password or does not exist, so that an unknown user
# costs what a known one does (a login cannot probe who exists).
_DUMMY: str | None = None


def _hasher() -> Any:
    try:
        from argon2 import PasswordHasher
    except ImportError:
        raise InvalidInput("passwords need argon2-cffi: pip install 'pedigree[server]'") from None
    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (at least :data:`MIN_LENGTH` characters)."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > 1024:
        raise InvalidInput("a password has at most 1024 characters")
    return str(_hasher().hash(password))


def set_password(ctx: Context, name: str, password: str) -> dict[str, Any]:
    """Record ``name``'s new password (as its hash); returns ``{name, password_set_at}``."""
    digest = hash_password(password)
    at = time.time()

    def build(reader: Reader) -> list[Event]:
        from pedigree.identity.users import UserNotFound

        if reader.user(name) is None:
            raise UserNotFound(f"no user {name!r} (see `pedigree users ls`)")
        return [UserPasswordSet(name=name, hash=digest, actor=ctx.user, at=at)]

    ctx.write(build)
    return {"name": name, "password_set_at": at}


def check_password(reader: Reader, name: str, password: str) -> Principal:
    """The principal whose password this is, or :class:`AuthError` (unknown user, no password,
    wrong password, disabled user: the message says none of these)."""
    global _DUMMY
    hasher = _hasher()
    from argon2.exceptions import InvalidHashError, VerificationError

    user = reader.user(name) if isinstance(name, str) and 0 < len(name) <= 250 else None
    stored = reader.password_hash(name) if user is not None else None
    if _DUMMY is None:
        _DUMMY = hasher.hash("not a password of anyone")
    try:
        hasher.verify(stored or _DUMMY, password if isinstance(password, str) else "")
        good = stored is not None
    except (VerificationError, InvalidHashError):
        good = False
    if not good or user is None or user.disabled:
        raise AuthError("wrong user name or password")
    return Principal(user.name, user.role, "session")
