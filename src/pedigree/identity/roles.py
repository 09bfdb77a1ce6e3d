"""Roles and what each may do: the authorization matrix the team server enforces.

A role is a set of capabilities; a request needs one capability. Writes are checked by what
they record: :func:`may_append` classifies every event kind of
:data:`pedigree.store.events.REGISTRY` by the capability it needs (a test requires every kind to
be classified, so a new kind cannot slip through unclassified; an unknown kind is refused).

>>> may("auditor", "read"), may("auditor", "record")
(True, False)
>>> may_append("researcher", "run.metrics"), may_append("researcher", "approval.recorded")
(True, False)
>>> may_append("reviewer", "approval.recorded"), may_append("admin", "token.created")
(True, True)
"""

from __future__ import annotations

from pedigree.store.events import ROLES

__all__ = ["AUTHZ_MATRIX", "CAPABILITIES", "KIND_CAPABILITY", "ROLES", "may", "may_append"]

# What a capability lets a role do (docs/server.md renders this table).
CAPABILITIES: dict[str, str] = {
    "read": "read every record: runs, metrics, data, lineage, reviews, models, the audit log, "
    "reports, exports",
    "record": "record runs, data versions, sweeps, reproductions, model versions and alias "
    "moves, tags and imports",
    "review": "approve or reject runs, data and model versions (`pedigree approve/reject`)",
    "audit": "verify the audit chain and take anchors (`pedigree audit verify/anchor`)",
    "admin": "manage users and tokens, and record the approvals policy",
}

# Who may do what. An auditor writes nothing. An admin manages identities but records no
# research and reviews nothing: a stolen admin token cannot forge a result or approve one, and
# an admin who also researches uses a second, researcher or reviewer, account.
AUTHZ_MATRIX: dict[str, frozenset[str]] = {
    "researcher": frozenset({"read", "record"}),
    "reviewer": frozenset({"read", "record", "review"}),
    "auditor": frozenset({"read", "audit"}),
    "admin": frozenset({"read", "audit", "admin"}),
}

# The capability that recording each event kind needs.
KIND_CAPABILITY: dict[str, str] = {
    "run.created": "record",
    "run.updated": "record",
    "run.params": "record",
    "run.metrics": "record",
    "run.captured": "record",
    "run.io": "record",
    "run.attached": "record",
    "run.ended": "record",
    "run.tagged": "record",
    "run.untagged": "record",
    "environment.recorded": "record",
    "tree.recorded": "record",
    "dataset.versioned": "record",
    "reproduction.recorded": "record",
    "sweep.created": "record",
    "model.registered": "record",
    "model.alias_moved": "record",
    "import.recorded": "record",
    "approval.recorded": "review",
    "user.added": "admin",
    "user.role_changed": "admin",
    "user.disabled": "admin",
    "user.password_set": "admin",
    "token.created": "admin",
    "token.revoked": "admin",
    "policy.changed": "admin",
}


def may(role: str, capability: str) -> bool:
    """Whether ``role`` has ``capability`` (an unknown role has none)."""
    return capability in AUTHZ_MATRIX.get(role, frozenset())


def may_append(role: str, kind: str) -> bool:
    """Whether ``role`` may record an event of ``kind`` (an unknown kind: never)."""
    capability = KIND_CAPABILITY.get(kind)
    return capability is not None and may(role, capability)
