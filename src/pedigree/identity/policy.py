"""The approvals policy: four eyes (``allow_self``) and how many approvals a run needs
(``required``), from the ``[approvals]`` table of the project's (the server's) config file.

::

    [approvals]
    allow_self = false   # refuse an approval by the run's author or its inputs' producers
    required = 2         # distinct approvers before a run counts as approved

Defaults depend on whether identities are proven: on the embedded store, where every identity
is self-declared (``PEDIGREE_USER`` says who you are), ``allow_self`` defaults to true (a lone
researcher approves their own runs, and four eyes would be one person typing two names); through
the team server, where the token proves the user, it defaults to false. ``required`` defaults to
1. The server records the policy it runs with in the audit chain (:func:`sync_policy` appends
``policy.changed`` when it differs from the last one recorded), so what was in force when is part
of the record; a client of the server uses that recorded policy, not its own config file.

>>> from pathlib import Path
>>> from pedigree.config import Project
>>> configured_policy(Project(Path("."), {}), authenticated=False)
Policy(allow_self=True, required=1)
>>> configured_policy(Project(Path("."), {"approvals": {"required": 2}}), authenticated=True)
Policy(allow_self=False, required=2)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput
from pedigree.identity.errors import SelfApproval

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pedigree.config import Project
    from pedigree.context import Context
    from pedigree.store.events import Event
    from pedigree.store.reader import Reader

__all__ = [
    "LOCAL_DEFAULT",
    "MAX_REQUIRED",
    "Policy",
    "approval_status",
    "check_approval",
    "check_dataset_approval",
    "check_events",
    "configured_policy",
    "effective_policy",
    "policy_for_review",
    "recorded_policy",
    "sync_policy",
]

MAX_REQUIRED = 20


@dataclass(frozen=True)
class Policy:
    allow_self: bool
    required: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Policy:
        return cls(bool(data.get("allow_self", False)), int(data.get("required", 1)))


# What a local (self-declared) store runs with when its config says nothing.
LOCAL_DEFAULT = Policy(allow_self=True, required=1)


def configured_policy(project: Project, *, authenticated: bool) -> Policy:
    """The policy the config file sets, with the defaults for the kind of identities in use."""
    table = project.config.get("approvals", {})
    where = project.root / ".pedigree" / "config.toml"
    allow_self = table.get("allow_self", not authenticated)
    if not isinstance(allow_self, bool):
        raise InvalidInput(
            f"[approvals] allow_self in {where} is true or false, not {allow_self!r}"
        )
    required = table.get("required", 1)
    if isinstance(required, bool) or not isinstance(required, int):
        raise InvalidInput(f"[approvals] required in {where} is a whole number, not {required!r}")
    if not 1 <= required <= MAX_REQUIRED:
        raise InvalidInput(
            f"[approvals] required in {where} is between 1 and {MAX_REQUIRED}, not {required}"
        )
    return Policy(allow_self, required)


def recorded_policy(reader: Reader) -> Policy | None:
    row = reader.policy()
    return None if row is None else Policy.from_json(row.policy)


def effective_policy(ctx: Context) -> Policy:
    """The policy in force for ``ctx``: through the team server, the one the server recorded
    (four eyes by default when it recorded none); on a local store, the config file's."""
    if ctx.actor.authenticated:
        with ctx.read() as reader:
            found = recorded_policy(reader)
        return found if found is not None else Policy(allow_self=False, required=1)
    return configured_policy(ctx.project, authenticated=False)


def policy_for_review(ctx: Context) -> Policy:
    """The policy a review is checked against. On a local store, a configured policy that is
    not the one recorded last (or, when none was, not the default) is recorded first, so the
    log says under which policy each approval was made; a store whose config sets nothing gets
    no ``policy.changed`` event."""
    if ctx.actor.authenticated:
        return effective_policy(ctx)
    configured = configured_policy(ctx.project, authenticated=False)
    with ctx.read() as reader:
        recorded = recorded_policy(reader)
    if configured != (recorded or LOCAL_DEFAULT):
        sync_policy(ctx, configured)
    return configured


def sync_policy(ctx: Context, policy: Policy) -> bool:
    """Record ``policy`` (``policy.changed``) unless it is the last one recorded; True when it
    recorded it. The team server calls it when it starts, with its config file's policy."""
    at = time.time()
    recorded: list[bool] = []  # of each build (a remote write may build again)

    from pedigree.store.events import PolicyChanged  # the event classes cost ~40 ms to import

    def build(reader: Reader) -> list[Event]:
        row = reader.policy()
        if row is not None and Policy.from_json(row.policy) == policy:
            recorded.append(False)
            return []
        recorded.append(True)
        number = 1 if row is None else row.number + 1
        return [PolicyChanged(number=number, policy=policy.to_json(), actor=ctx.user, at=at)]

    ctx.write(build)
    return bool(recorded and recorded[-1])


def check_approval(reader: Reader, *, actor: str, run_id: str, policy: Policy) -> None:
    """Raise :class:`SelfApproval` when ``policy`` forbids ``actor`` to approve run ``run_id``:
    they created it, or created a run or dataset version that it read (its immediate
    producers, as its lineage shows)."""
    if policy.allow_self:
        return
    author = reader.run_authors([run_id]).get(run_id)
    if author is not None and author.actor == actor:
        raise SelfApproval(
            f"{actor} created run {run_id} and cannot approve it: [approvals] allow_self is "
            "false (four eyes); ask another reviewer"
        )
    for producer in reader.producer_authors(run_id):
        if producer.actor == actor:
            raise SelfApproval(
                f"{actor} recorded {producer.what}, which run {run_id} read, and cannot approve "
                "it: [approvals] allow_self is false (four eyes); ask another reviewer"
            )


def check_dataset_approval(reader: Reader, *, actor: str, ref: str, policy: Policy) -> None:
    """Raise :class:`SelfApproval` when ``policy`` forbids ``actor`` to approve dataset version
    ``ref`` (``NAME@vN``) because they added it."""
    if policy.allow_self:
        return
    name, _, version = ref.rpartition("@v")
    found = reader.dataset_version(name, int(version)) if version.isdigit() else None
    if found is not None and found.user == actor:
        raise SelfApproval(
            f"{actor} added {ref} and cannot approve it: [approvals] allow_self is false "
            "(four eyes); ask another reviewer"
        )


def check_events(reader: Reader, events: Sequence[Event], *, actor: str, policy: Policy) -> None:
    """Check every approval among ``events`` against ``policy`` (the team server calls this
    before it appends a batch, so a client cannot skip the check)."""
    from pedigree.store.events import ApprovalRecorded

    for event in events:
        if not isinstance(event, ApprovalRecorded) or event.decision != "approved":
            continue
        if event.target_type == "run":
            check_approval(reader, actor=actor, run_id=event.target, policy=policy)
        elif event.target_type == "dataset":
            check_dataset_approval(reader, actor=actor, ref=event.target, policy=policy)


def approval_status(reviews: Sequence[dict[str, Any]], required: int) -> dict[str, Any]:
    """Whether a run counts as approved, from its reviews (oldest first, each with ``actor``
    and ``decision``): each reviewer's latest decision counts; the run is approved when at least
    ``required`` distinct reviewers approve and none rejects."""
    latest: dict[str, str] = {}
    for review in reviews:
        latest[str(review.get("actor"))] = str(review.get("decision"))
    approvers = sorted(a for a, d in latest.items() if d == "approved")
    rejecters = sorted(a for a, d in latest.items() if d == "rejected")
    return {
        "approved": len(approvers) >= required and not rejecters,
        "approvals": len(approvers),
        "required": required,
        "approvers": approvers,
        "rejected_by": rejecters,
    }
