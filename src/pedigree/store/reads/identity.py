"""Reads over identities: users, tokens, the recorded approvals policy, and who recorded what.

Joined with the other parts in :class:`pedigree.store.reader.Reader`. A token row carries the
hash of its secret (what :func:`pedigree.identity.authenticate` compares), never the secret.

>>> from pedigree.store.sql import open_store
>>> with open_store("sqlite://").read() as reader:
...     reader.users(), reader.user("ann"), reader.tokens(), reader.token("0" * 16), reader.policy()
([], None, [], None, None)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pedigree.store.db import Db, in_list

__all__ = ["IdentityReads", "PolicyRow", "RecordAuthor", "TokenRow", "UserRow"]

_USER = "name, role, disabled, created_at, created_by, updated_at"
# ("user" is quoted: on PostgreSQL a bare ``user`` is the session's user.)
_TOKEN = 'id, "user", hash, created_at, created_by, expires_at, revoked_at, revoked_by, note'


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user of the team server: ``role`` is one of ``store.events.ROLES``."""

    name: str
    role: str
    disabled: bool
    created_at: float
    created_by: str | None
    updated_at: float

    @classmethod
    def from_tuple(cls, r: tuple[Any, ...]) -> UserRow:
        name, role, disabled, created_at, created_by, updated_at = r
        return cls(name, role, bool(disabled), created_at, created_by, updated_at)


@dataclass(frozen=True, slots=True)
class TokenRow:
    """An API token: its public id, its user, and the sha256 of its secret (``hash``)."""

    id: str
    user: str
    hash: str
    created_at: float
    created_by: str | None
    expires_at: float | None
    revoked_at: float | None
    revoked_by: str | None
    note: str | None

    @classmethod
    def from_tuple(cls, r: tuple[Any, ...]) -> TokenRow:
        return cls(*r)

    def state(self, now: float) -> str:
        """``active``, ``revoked`` or ``expired`` at time ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class PolicyRow:
    """The ``number``-th approvals policy recorded (``policy.changed``)."""

    number: int
    policy: dict[str, Any]
    actor: str | None
    at: float


@dataclass(frozen=True, slots=True)
class RecordAuthor:
    """Who recorded something (the actor of the event that made it) and whether that identity
    was ``authenticated`` or ``self-declared``; ``what`` names it (``run ID``, ``NAME@vN``)."""

    what: str
    actor: str
    identity: str | None  # None: not looked up (a dataset version's)


def _identity(value: Any) -> str:
    # Events written before identities were recorded (NULL) were all self-declared.
    return str(value) if value else "self-declared"


class IdentityReads:
    db: Db

    def users(self) -> list[UserRow]:
        rows = self.db.rows(f"SELECT {_USER} FROM users ORDER BY name")
        return [UserRow.from_tuple(r) for r in rows]

    def user(self, name: str) -> UserRow | None:
        r = self.db.first(f"SELECT {_USER} FROM users WHERE name = :n", {"n": name})
        return None if r is None else UserRow.from_tuple(r)

    def password_hash(self, name: str) -> str | None:
        """The argon2id hash of ``name``'s web UI password (None: none set). Only the server
        that checks a login reads it: it is not among the reads served to clients."""
        r = self.db.first("SELECT password_hash FROM users WHERE name = :n", {"n": name})
        return None if r is None or r[0] is None else str(r[0])

    def tokens(self, user: str | None = None) -> list[TokenRow]:
        if user is None:
            rows = self.db.rows(f"SELECT {_TOKEN} FROM tokens ORDER BY created_at, id")
        else:
            sql = f'SELECT {_TOKEN} FROM tokens WHERE "user" = :u ORDER BY created_at, id'
            rows = self.db.rows(sql, {"u": user})
        return [TokenRow.from_tuple(r) for r in rows]

    def token(self, token_id: str) -> TokenRow | None:
        r = self.db.first(f"SELECT {_TOKEN} FROM tokens WHERE id = :i", {"i": token_id})
        return None if r is None else TokenRow.from_tuple(r)

    def policy(self) -> PolicyRow | None:
        """The approvals policy recorded last (None when none was)."""
        r = self.db.first("SELECT number, policy, actor, at FROM policies ORDER BY number DESC")
        if r is None:
            return None
        number, policy, actor, at = r
        return PolicyRow(int(number), json.loads(policy), actor, at)

    def run_authors(self, run_ids: list[str]) -> dict[str, RecordAuthor]:
        """Who created each run (the actor of its ``run.created`` event), by run id."""
        if not run_ids:
            return {}
        cond, params = in_list("run_id", run_ids, "r")
        rows = self.db.rows(
            "SELECT run_id, actor, identity FROM audit_events"
            f" WHERE kind = 'run.created' AND {cond}",
            params,
        )
        return {r[0]: RecordAuthor(f"run {r[0]}", r[1], _identity(r[2])) for r in rows}

    def producer_authors(self, run_id: str) -> list[RecordAuthor]:
        """Who recorded the immediate producers of run ``run_id``'s inputs: the runs that wrote
        what it read (its lineage's edges) and the dataset versions it read."""
        srcs = self.db.scalars(
            "SELECT src FROM run_edges WHERE dst = :r ORDER BY src", {"r": run_id}
        )
        found = list(self.run_authors([s for s in srcs if s != run_id]).values())
        rows = self.db.rows(
            'SELECT DISTINCT d.name, d.version, d."user" FROM run_io i'
            " JOIN datasets d ON d.digest = i.digest"
            " WHERE i.run_id = :r AND i.role = 'input' AND d.\"user\" IS NOT NULL"
            " ORDER BY d.name, d.version",
            {"r": run_id},
        )
        found += [RecordAuthor(f"{name}@v{version}", user, None) for name, version, user in rows]
        return found

    def approval_identities(self, run_id: str) -> list[tuple[str, float, str]]:
        """(actor, at, identity) of each review of run ``run_id``, in log order."""
        rows = self.db.rows(
            "SELECT payload, identity FROM audit_events"
            " WHERE run_id = :r AND kind = 'approval.recorded' ORDER BY seq",
            {"r": run_id},
        )
        out = []
        for payload, identity in rows:
            p = json.loads(payload)
            out.append((str(p.get("actor")), float(p.get("at") or 0.0), _identity(identity)))
        return out

    def authenticated_seqs(self, first: int, last: int) -> set[int]:
        """The events from seq ``first`` to ``last`` whose actor was authenticated (the others
        were self-declared): one range read, however many events the range holds."""
        return {
            int(seq)
            for seq in self.db.scalars(
                "SELECT seq FROM audit_events WHERE seq >= :a AND seq <= :b"
                " AND identity = 'authenticated'",
                {"a": first, "b": last},
            )
        }
