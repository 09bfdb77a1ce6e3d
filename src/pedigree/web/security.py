"""Who is looking at the UI, what they may do, and the CSRF token of its forms.

Locally (``pedigree ui``) there is one user, the project's own, who may do everything the
embedded store allows. Behind the team server an :class:`Auth` turns a request (its session
cookie, or a bearer token for the JSON routes) into a :class:`Viewer` with a role, and the role
decides (``pedigree.identity.may``) which buttons work: a state-changing route checks the role
itself, so a hidden button is never the only guard.

CSRF: a double-submit token. Every page sets a random ``pedigree_csrf`` cookie (SameSite=Strict)
and puts the same value in each form; a POST is refused unless the form's value equals the
cookie's, which a page of another site can neither read nor set.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from pedigree.identity.roles import may

__all__ = ["CSRF_COOKIE", "Auth", "Viewer", "csrf_ok", "new_csrf_token"]

CSRF_COOKIE = "pedigree_csrf"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Viewer:
    """The person using the UI: ``local`` is the single user of ``pedigree ui``."""

    name: str
    role: str
    local: bool = False

    def may(self, capability: str) -> bool:
        if self.local:
            return capability in ("read", "record", "review", "audit")
        return may(self.role, capability)

    def why_not(self, capability: str) -> str | None:
        """Why this viewer may not use ``capability``, as a button's title says it."""
        if self.may(capability):
            return None
        return f"your role ({self.role}) may not {capability}"


class Auth(Protocol):
    """Logins for the UI in server mode (see ``pedigree.server``)."""

    def viewer(self, request: Request) -> Viewer | None:
        """The signed-in viewer of ``request`` (its session cookie or bearer token), if any."""

    def login(self, username: str, password: str) -> str:
        """A new session id for a correct username and password, else ``Unauthenticated``."""

    def logout(self, session: str) -> None:
        """Forget a session."""


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Whether a form's token matches its cookie (compared in constant time)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())
