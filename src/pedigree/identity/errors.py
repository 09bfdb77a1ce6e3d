"""The errors of authentication and authorization, in the one tree of :mod:`pedigree.errors`.

They subclass the team server's :class:`~pedigree.errors.Unauthenticated` (exit 8, HTTP 401)
and :class:`~pedigree.errors.PermissionDenied` (exit 9, HTTP 403), so the CLI and the server
render them with the handlers they already have; ``code`` is the ``error.code`` of the server's
JSON error body.
"""

from __future__ import annotations

from pedigree.errors import PermissionDenied, Unauthenticated

__all__ = ["AuthError", "Forbidden", "SelfApproval"]


class AuthError(Unauthenticated):
    """A token that does not authenticate: unknown, malformed, revoked, expired, or its user
    disabled. The message never says which (a caller probing tokens learns nothing) and never
    repeats the token."""

    code = "unauthenticated"

    def __init__(self, message: str = "invalid, revoked or expired token") -> None:
        super().__init__(message)


class Forbidden(PermissionDenied):
    """An authenticated user whose role may not do what was asked (exit 9, HTTP 403)."""

    code = "forbidden"


class SelfApproval(Forbidden):
    """Four eyes: an approval by the author of the run, or of something the run's lineage
    shows as its immediate producer, under ``[approvals] allow_self = false`` (exit 9)."""

    code = "four_eyes"
