"""API tokens: how they are made, stored and checked.

A token is ``pdg_<id>_<secret>``: ``id`` (16 hex digits) is public and names the stored row,
``secret`` is 32 random bytes (URL-safe base64). The store keeps only ``sha256:<hex>`` of the
secret (a hash of a high-entropy secret needs no salt or stretching: there is nothing to guess),
compared in constant time. The secret is printed once, when the token is made, and appears in no
event, log line or error message.

>>> token = make_token()
>>> token.text.startswith(f"pdg_{token.id}_"), len(token.id)
(True, 16)
>>> parse_token(token.text) == (token.id, token.secret)
True
>>> token.hash == hash_secret(token.secret) and token.secret not in token.hash
True
>>> parse_duration("90d"), parse_duration("12h"), parse_duration("never")
(7776000.0, 43200.0, None)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pedigree.errors import InvalidInput
from pedigree.identity.errors import AuthError

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = [
    "NewToken",
    "Principal",
    "authenticate",
    "hash_secret",
    "make_token",
    "parse_duration",
    "parse_token",
]

PREFIX = "pdg_"
_ID_HEX = 16
_SECRET_BYTES = 32
_TOKEN = re.compile(r"pdg_([0-9a-f]{16})_([A-Za-z0-9_-]{40,100})")
# Compared against when the id names no token, so that an unknown id costs what a known one does.
_NOTHING = "sha256:" + "0" * 64


@dataclass(frozen=True)
class Principal:
    """Who a request is from, as its token proves: the user, their role, and the token's id."""

    user: str
    role: str
    token_id: str


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``text`` is what its user presents; only ``hash`` is stored."""

    id: str
    secret: str
    hash: str

    @property
    def text(self) -> str:
        return f"{PREFIX}{self.id}_{self.secret}"

    def __repr__(self) -> str:  # never print the secret by accident
        return f"NewToken(id={self.id!r}, secret=***)"


def hash_secret(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def make_token() -> NewToken:
    token_id = secrets.token_hex(_ID_HEX // 2)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewToken(token_id, secret, hash_secret(secret))


def parse_token(text: str) -> tuple[str, str]:
    """(id, secret) of a token's text; :class:`AuthError` when it is not one (without saying
    what it was)."""
    found = _TOKEN.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise AuthError()
    return found.group(1), found.group(2)


def authenticate(reader: Reader, token: str, *, now: float | None = None) -> Principal:
    """The principal ``token`` proves, or :class:`AuthError` for a token that is malformed,
    unknown, revoked or expired, or whose user is unknown or disabled (the error says none of
    these, and never repeats the token)."""
    token_id, secret = parse_token(token)
    row = reader.token(token_id)
    good = hmac.compare_digest(row.hash if row is not None else _NOTHING, hash_secret(secret))
    if row is None or not good:
        raise AuthError()
    now = time.time() if now is None else now
    if row.state(now) != "active":
        raise AuthError()
    user = reader.user(row.user)
    if user is None or user.disabled:
        raise AuthError()
    return Principal(user.name, user.role, row.id)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION = re.compile(r"(\d{1,6})\s*([smhdwy])")


def parse_duration(text: str) -> float | None:
    """Seconds in ``90d``, ``12h``, ``30m``, ``2w``, ``1y`` (``s`` too); None for ``never``."""
    value = text.strip().lower()
    if value in ("never", "none", "0"):
        return None
    found = _DURATION.fullmatch(value)
    if found is None or int(found.group(1)) == 0:
        raise InvalidInput(
            f"--expires takes a duration like 90d, 12h, 30m, 2w or 1y, or 'never'; not {text!r}"
        )
    return float(int(found.group(1)) * _UNITS[found.group(2)])
