"""Users and tokens of the team server: ``tracker.users`` and ``tracker.tokens``.

Each change is an event in the audit chain (see :mod:`pedigree.identity.users`). Locally these
run on the project's store, which is how the first admin is made on the server's machine;
through the team server the same calls reach the server's store, which lets only an admin make
them. A token's text is returned once, by :meth:`TokensAPI.create`, and stored only as a hash.

>>> import tempfile
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> tracker = Tracker(init_project(tempfile.mkdtemp())[0])
>>> tracker.users.add("ann", role="reviewer")["role"]
'reviewer'
>>> token = tracker.tokens.create("ann")
>>> [t["id"] for t in tracker.tokens.ls()] == [token["id"]], "hash" in token
(True, False)
>>> tracker.users.set_role("ann", "auditor")["role"]
'auditor'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree.context import Context
from pedigree.identity import users as ops

if TYPE_CHECKING:
    from pedigree.identity.tokens import Principal

__all__ = ["TokensAPI", "UsersAPI"]


class UsersAPI:
    """Who may use the team server, and with what role."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def add(self, name: str, *, role: str) -> dict[str, Any]:
        """Add user ``name`` with ``role`` (researcher, reviewer, auditor or admin)."""
        return ops.add_user(self._ctx, name, role)

    def ls(self) -> list[dict[str, Any]]:
        return ops.list_users(self._ctx)

    def set_role(self, name: str, role: str) -> dict[str, Any]:
        return ops.set_role(self._ctx, name, role)

    def disable(self, name: str) -> dict[str, Any]:
        """No token of ``name`` authenticates any more; their records stay theirs."""
        return ops.disable_user(self._ctx, name)

    def passwd(self, name: str, password: str) -> dict[str, Any]:
        """Set ``name``'s password for the web UI's login (recorded as its argon2id hash)."""
        from pedigree.identity.passwords import set_password

        return set_password(self._ctx, name, password)

    def check_password(self, name: str, password: str) -> Principal:
        """Who signs in with this user name and password (the team server's login page), or
        ``AuthError``; reads only."""
        from pedigree.identity.passwords import check_password

        with self._ctx.read() as reader:
            return check_password(reader, name, password)

    def principal(self, name: str) -> Principal | None:
        """``name`` as the server authorizes them now (None: unknown or disabled): a browser
        session is re-checked on every request, so a role change or a disabled user takes
        effect at once."""
        from pedigree.identity.tokens import Principal

        with self._ctx.read() as reader:
            user = reader.user(name)
        if user is None or user.disabled:
            return None
        return Principal(user.name, user.role, "session")


class TokensAPI:
    """API tokens: made for a user, listed without their secret, revoked by id."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def create(
        self, user: str, *, expires: str | None = ops.DEFAULT_EXPIRY, note: str | None = None
    ) -> dict[str, Any]:
        """A new token for ``user``; ``["token"]`` is its text, shown this once."""
        return ops.create_token(self._ctx, user, expires=expires, note=note)

    def ls(self, user: str | None = None) -> list[dict[str, Any]]:
        return ops.list_tokens(self._ctx, user)

    def revoke(self, token_id: str) -> dict[str, Any]:
        return ops.revoke_token(self._ctx, token_id)
