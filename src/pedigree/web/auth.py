"""Logins for the UI behind the team server: a password opens a browser session, a token still
works for the JSON routes.

Sessions live in the server's memory (a restart signs everyone out), last
:data:`SESSION_SECONDS`, and name only the user: the user's role and whether they are disabled are
read again on every request, so a role change or a disabled account takes effect at once.
Passwords are checked against their argon2id hashes (``pedigree users passwd``); a wrong user
name and a wrong password get the same answer, and failed logins are counted per user name so a
password cannot be guessed at speed.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from starlette.requests import Request

from pedigree.errors import PedigreeError, RateLimited
from pedigree.web.app import SESSION_COOKIE, TrackerFactory
from pedigree.web.security import Viewer

__all__ = ["FAILED_LOGIN_LIMIT", "SESSION_SECONDS", "SessionAuth"]

SESSION_SECONDS = 12 * 3600
FAILED_LOGIN_LIMIT = 10  # failed logins per user name per minute, then refused for a while


class SessionAuth:
    """The :class:`pedigree.web.Auth` of ``pedigree server``."""

    def __init__(self, tracker_factory: TrackerFactory, *, seconds: float = SESSION_SECONDS):
        self._tracker = tracker_factory
        self._seconds = seconds
        self._sessions: dict[str, tuple[str, float]] = {}
        self._failed: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def viewer(self, request: Request) -> Viewer | None:
        session = request.cookies.get(SESSION_COOKIE)
        name = None
        if session:
            with self._lock:
                found = self._sessions.get(session)
                if found is not None and found[1] < time.time():
                    del self._sessions[session]
                    found = None
            name = found[0] if found else None
        if name is not None:
            who = self._tracker(None).users.principal(name)
            return Viewer(who.user, who.role) if who is not None else None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            from pedigree.api.server import ServerAPI

            try:
                principal = ServerAPI(self._tracker(None).ctx).authenticate(token.strip())
            except PedigreeError:
                return None
            return Viewer(str(principal.user), str(principal.role))
        return None

    def login(self, username: str, password: str) -> str:
        now = time.time()
        with self._lock:
            recent = self._failed.setdefault(username, deque())
            while recent and recent[0] < now - 60:
                recent.popleft()
            if len(recent) >= FAILED_LOGIN_LIMIT:
                raise RateLimited("too many failed logins for this user: wait a minute")
        try:
            who = self._tracker(None).users.check_password(username, password)
        except PedigreeError:
            with self._lock:
                self._failed.setdefault(username, deque()).append(now)
            raise
        session = secrets.token_urlsafe(32)
        with self._lock:
            self._failed.pop(username, None)
            self._sessions[session] = (who.user, now + self._seconds)
        return session

    def logout(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)
