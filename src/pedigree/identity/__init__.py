"""Identities for the team server: users, tokens, roles, and the four-eyes approvals policy.

The pieces the server (a face) and the facade (``tracker.users``, ``tracker.tokens``) use:

- :func:`authenticate` turns a token into a :class:`Principal` (user, role, token id), or raises
  :class:`AuthError` (exit 8, HTTP 401) without saying why;
- :func:`may` and :func:`may_append` answer what a role may do (:data:`AUTHZ_MATRIX`), and
  :class:`Forbidden` (exit 9, HTTP 403) refuses the rest;
- ``identity.users`` records users and tokens as audit events;
- ``identity.policy`` holds four eyes: :class:`SelfApproval` (exit 9) refuses an author's
  approval of their own run when ``[approvals] allow_self`` is false.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pedigree.identity.errors import AuthError, Forbidden, SelfApproval
    from pedigree.identity.roles import AUTHZ_MATRIX, CAPABILITIES, ROLES, may, may_append
    from pedigree.identity.tokens import Principal, authenticate

# The names below are imported when first used (PEP 562): importing one submodule of the package
# (a run record's enricher, say) does not import them all, which costs every CLI command that
# reads (issue 18).
_LAZY = {
    "AuthError": "pedigree.identity.errors",
    "Forbidden": "pedigree.identity.errors",
    "SelfApproval": "pedigree.identity.errors",
    "AUTHZ_MATRIX": "pedigree.identity.roles",
    "CAPABILITIES": "pedigree.identity.roles",
    "ROLES": "pedigree.identity.roles",
    "may": "pedigree.identity.roles",
    "may_append": "pedigree.identity.roles",
    "Principal": "pedigree.identity.tokens",
    "authenticate": "pedigree.identity.tokens",
}


def __getattr__(name: str) -> Any:
    from pedigree.lazy import lazy_attribute

    return lazy_attribute(__name__, _LAZY, name)


__all__ = [
    "AUTHZ_MATRIX",
    "CAPABILITIES",
    "ROLES",
    "AuthError",
    "Forbidden",
    "Principal",
    "SelfApproval",
    "authenticate",
    "may",
    "may_append",
]
