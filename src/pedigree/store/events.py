"""The events every write is made of: one frozen dataclass per kind, checked when built.

An event is a kind, a JSON payload and (for run-scoped events) the run it concerns. The store
appends events to the hash-chained audit log and applies each to the tables in the same
transaction (``store.projections``), so the tables can always be checked against the log
(``audit.model`` folds the same log in Python). Both dispatch through :data:`REGISTRY`, so a kind
is known to both or to neither (a test holds them equal).

>>> ev = RunParams(run_id="r1", params={"window": 50})
>>> ev.KIND, ev.scope, ev.payload()
('run.params', 'r1', {'run_id': 'r1', 'params': {'window': 50}})
>>> event("run.params", {"run_id": "r1", "params": {"": 1}})
Traceback (most recent call last):
...
pedigree.errors.InvalidValue: a parameter name must be a non-empty string, not ''

The payload keys are the field names; the log holds the payload as canonical JSON, with metric
points packed (:mod:`pedigree.store.codec`). An optional field of :class:`RunUpdated` left
:data:`UNSET` is absent from the payload.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pedigree.errors import InvalidInput, InvalidValue
from pedigree.jsonutil import canonical_json
from pedigree.store.codec import Columns, columns, pack_columns
from pedigree.values import check_key, check_param_value

__all__ = [
    "END_STATUSES",
    "REGISTRY",
    "ROLES",
    "RUN_TYPES",
    "STATUSES",
    "UNSET",
    "ApprovalRecorded",
    "DatasetVersioned",
    "EnvironmentRecorded",
    "Event",
    "ImportRecorded",
    "ModelAliasMoved",
    "ModelRegistered",
    "PolicyChanged",
    "ReproductionRecorded",
    "RunAttached",
    "RunCaptured",
    "RunCreated",
    "RunEnded",
    "RunIO",
    "RunMetrics",
    "RunParams",
    "RunTagged",
    "RunUntagged",
    "RunUpdated",
    "SweepCreated",
    "TokenCreated",
    "TokenRevoked",
    "TreeRecorded",
    "UserAdded",
    "UserDisabled",
    "UserPasswordSet",
    "UserRoleChanged",
    "event",
    "log_payload",
    "prepare",
]

STATUSES = ("running", "finished", "failed", "killed", "crashed")
END_STATUSES = frozenset(STATUSES[1:])
# What a run is: an ordinary run, a sweep's parent, or a reproduction of another run.
RUN_TYPES = ("run", "sweep", "reproduction")
# Steps are stored as 64-bit integers on every backend.
_STEP_MIN, _STEP_MAX = -(2**63), 2**63 - 1


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""A field that was not given (absent from the payload), where ``None`` means something."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """The base of every event kind. ``KIND`` names it in the log."""

    KIND: ClassVar[str] = ""
    # The event concerns one run and lives in that run's per-run tables (``audit verify`` may
    # check such events run by run).
    RUN_SCOPED: ClassVar[bool] = False
    # Refused once its run has ended: a record never changes after the fact.
    WHILE_RUNNING: ClassVar[bool] = False

    @property
    def scope(self) -> str | None:
        """The run the log files this event under (its ``run_id`` column), if any."""
        return getattr(self, "run_id", None)

    def payload(self) -> dict[str, Any]:
        return {
            f.name: v for f in dataclasses.fields(self) if (v := getattr(self, f.name)) is not UNSET
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Event:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(payload) - names
        if unknown:
            raise InvalidInput(f"{cls.KIND} event: unknown fields {', '.join(sorted(unknown))}")
        try:
            return cls(**payload)
        except TypeError as exc:  # a required field is missing
            raise InvalidInput(f"{cls.KIND} event: {exc}") from None


REGISTRY: dict[str, type[Event]] = {}


def _kind(name: str, *, run_scoped: bool = False, while_running: bool = False) -> Any:
    def register(cls: type[Event]) -> type[Event]:
        cls.KIND = name
        cls.RUN_SCOPED = run_scoped
        cls.WHILE_RUNNING = while_running
        REGISTRY[name] = cls
        return cls

    return register


def event(kind: str, payload: Mapping[str, Any]) -> Event:
    """The typed event of a kind, from its payload (checked as any event is)."""
    try:
        cls = REGISTRY[kind]
    except KeyError:
        raise InvalidInput(f"unknown event kind {kind!r}") from None
    return cls.from_payload(payload)


def _optional_key(value: Any, what: str) -> None:
    if value is not None and value is not UNSET:
        check_key(value, what)


@_kind("run.created", run_scoped=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunCreated(Event):
    id: str
    experiment: str
    name: str | None = None
    kind: str = "run"
    parent_id: str | None = None
    command: list[str] | None = None
    cwd: str | None = None
    user: str | None = None
    host: str | None = None
    pid: int | None = None
    seed: int | None = None
    started_at: float = 0.0

    def __post_init__(self) -> None:
        check_key(self.experiment, "experiment name")
        _optional_key(self.name, "run name")
        if self.kind not in RUN_TYPES:
            raise InvalidValue(f"a run's kind is one of {', '.join(RUN_TYPES)}, not {self.kind!r}")

    @property
    def scope(self) -> str | None:
        return self.id


@_kind("run.updated", run_scoped=True, while_running=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunUpdated(Event):
    run_id: str
    experiment: str = UNSET
    name: str | None = UNSET
    seed: int | None = UNSET

    def __post_init__(self) -> None:
        if self.experiment is not UNSET:
            check_key(self.experiment, "experiment name")
        _optional_key(self.name, "run name")
        if self.seed is not UNSET and self.seed is not None and type(self.seed) is not int:
            raise InvalidValue(f"a seed must be an integer, not {self.seed!r}")


@_kind("run.params", run_scoped=True, while_running=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunParams(Event):
    run_id: str
    params: dict[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.params, dict):
            raise InvalidValue(f"parameters must be a mapping, not {self.params!r}")
        for key, value in self.params.items():
            check_key(key, "parameter name")
            check_param_value(key, value)


@_kind("run.metrics", run_scoped=True, while_running=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunMetrics(Event):
    """``points``: ``[[key, step, value or None for NaN, timestamp], ...]``, or their columns
    (:class:`~pedigree.store.codec.Columns`), or packed as the log holds them."""

    run_id: str
    points: Any

    def __post_init__(self) -> None:
        points = self.points
        if type(points) is not list:
            return  # columns or packed: made by the store's own codec, checked there
        keys = set()
        try:
            # One pass, unpacking each point: the recorder checks every batch a script sends.
            for key, step, value, ts in points:
                keys.add(key)
                if type(step) is not int or not _STEP_MIN <= step <= _STEP_MAX:
                    raise InvalidValue(
                        f"the step of metric {key!r} must be a 64-bit integer, not {step!r}"
                    )
                if value is not None and type(value) is not float and type(value) is not int:
                    raise InvalidValue(f"metric {key!r} must be a number, not {value!r}")
                if type(ts) is not float and type(ts) is not int:
                    raise InvalidValue(f"metric {key!r} has no valid time ({ts!r})")
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InvalidValue):
                raise
            raise InvalidValue(f"a metric point is [key, step, value, time]: {exc}") from None
        for key in keys:
            check_key(key, "metric name")


@_kind("run.captured", run_scoped=True, while_running=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunCaptured(Event):
    run_id: str
    code: dict[str, Any] | None = None
    environment_digest: str | None = None
    invocation: dict[str, Any] | None = None


def _check_items(items: Any, kind: str, *, roles: bool = True) -> None:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidValue(f"{kind} items must be a list of records")
    for item in items:
        if roles and item.get("role") not in ("input", "output"):
            raise InvalidValue(f"a file's role is input or output, not {item.get('role')!r}")
        if not isinstance(item.get("path"), str) or not item["path"]:
            raise InvalidValue(f"a file needs a path, not {item.get('path')!r}")


@_kind("run.io", run_scoped=True, while_running=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunIO(Event):
    """``items``: ``[{role, path, digest, size, kind, declared, modified}, ...]``."""

    run_id: str
    items: list[dict[str, Any]]

    def __post_init__(self) -> None:
        _check_items(self.items, self.KIND)


@_kind("run.attached", run_scoped=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunAttached(Event):
    """An artifact made from a run after it ended (a sweep's plot): adds, never replaces.

    ``items``: ``[{path, digest, size, kind}, ...]``, each an output (the log holds no role).
    """

    run_id: str
    items: list[dict[str, Any]]

    def __post_init__(self) -> None:
        _check_items(self.items, self.KIND, roles=False)


@_kind("run.ended", run_scoped=True, while_running=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunEnded(Event):
    run_id: str
    status: str
    exit_code: int | None = None
    ended_at: float = 0.0
    error: str | None = None
    stdout_digest: str | None = None
    stderr_digest: str | None = None

    def __post_init__(self) -> None:
        if self.status not in END_STATUSES:
            raise InvalidInput(f"a run cannot end as {self.status!r}")


@_kind("environment.recorded")
@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentRecorded(Event):
    digest: str
    python: str | None = None
    platform: str | None = None
    packages_digest: str | None = None
    data: dict[str, Any] | None = None


@_kind("tree.recorded")
@dataclass(frozen=True, slots=True, kw_only=True)
class TreeRecorded(Event):
    """``entries``: ``[[path, digest, size], ...]`` of a folder's Merkle manifest."""

    digest: str
    entries: list[Any]


@_kind("dataset.versioned")
@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetVersioned(Event):
    name: str
    version: int
    digest: str
    kind: str
    size: int
    file_count: int
    path: str | None = None
    created_at: float = 0.0
    user: str | None = None
    # The run that added it (``pedigree.data.add`` inside a run), filed under that run.
    run_id: str | None = None

    def __post_init__(self) -> None:
        check_key(self.name, "dataset name")
        if type(self.version) is not int or self.version < 1:
            raise InvalidValue(f"a dataset version is a positive integer, not {self.version!r}")


@_kind("reproduction.recorded", run_scoped=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class ReproductionRecorded(Event):
    run_id: str
    original_id: str
    verdict: str
    details: dict[str, Any] | None = None


@_kind("approval.recorded")
@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRecorded(Event):
    id: str
    target_type: str
    target: str
    decision: str
    note: str | None = None
    actor: str | None = None
    at: float = 0.0
    # An approval made against a policy (``[approvals] min_dsr``): {"reason", "policy", ...}.
    # Absent from the payload otherwise, so the approvals logged before it hash as they did.
    override: dict[str, Any] = UNSET
    # For a sweep trial, how it was selected when it was reviewed (``selection.context``):
    # the record keeps what the reviewer was shown. Absent otherwise.
    selection: dict[str, Any] = UNSET

    def __post_init__(self) -> None:
        if self.decision not in ("approved", "rejected"):
            raise InvalidValue(f"a review is approved or rejected, not {self.decision!r}")
        if self.override is not UNSET:
            reason = self.override.get("reason") if isinstance(self.override, dict) else None
            if not isinstance(reason, str) or not reason.strip():
                raise InvalidValue("an approval's override needs a reason (a non-empty string)")

    @property
    def scope(self) -> str | None:
        return self.target if self.target_type == "run" else None


@_kind("sweep.created", run_scoped=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class SweepCreated(Event):
    run_id: str
    spec: dict[str, Any]


def _check_model_name(name: Any) -> None:
    check_key(name, "model name")
    # NAME@ALIAS, NAME/N and model:NAME must parse one way only.
    if any(c in name for c in "@/:") or name != name.strip():
        raise InvalidValue(
            f"a model name cannot contain '@', '/' or ':' (or end in spaces): {name!r}"
        )


@_kind("model.registered")
@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRegistered(Event):
    """Version ``version`` of model ``name``: stored content (``digest``), filed under the run
    that produced it when there is one."""

    name: str
    version: int
    digest: str
    kind: str  # file | dir
    size: int
    run_id: str | None = None
    path: str | None = None  # where the run wrote it, relative to the project root
    note: str | None = None
    actor: str | None = None
    at: float = 0.0
    # For a sweep trial, how it was selected (``selection.context``). Absent otherwise.
    selection: dict[str, Any] = UNSET

    def __post_init__(self) -> None:
        _check_model_name(self.name)
        if type(self.version) is not int or self.version < 1:
            raise InvalidValue(f"a model version is a positive integer, not {self.version!r}")
        if self.kind not in ("file", "dir", "symlink"):
            raise InvalidValue(f"a model version is a file or a folder, not {self.kind!r}")


@_kind("model.alias_moved")
@dataclass(frozen=True, slots=True, kw_only=True)
class ModelAliasMoved(Event):
    """Alias ``alias`` of model ``name`` now points at ``version`` (the ``number``-th move of
    that alias; ``previous`` is where it pointed before, None the first time)."""

    name: str
    alias: str
    number: int
    version: int
    previous: int | None = None
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        _check_model_name(self.name)
        check_key(self.alias, "alias")
        for what, value in (("move number", self.number), ("version", self.version)):
            if type(value) is not int or value < 1:
                raise InvalidValue(f"an alias {what} is a positive integer, not {value!r}")


MAX_TAG_VALUE = 5000


def _check_tag(run_id: Any, key: Any, number: Any) -> None:
    if not isinstance(run_id, str) or not run_id:
        raise InvalidValue(f"a tag names its run, not {run_id!r}")
    check_key(key, "tag name")
    if type(number) is not int or number < 1:
        raise InvalidValue(f"a tag change number is a positive integer, not {number!r}")


@_kind("run.tagged")
@dataclass(frozen=True, slots=True, kw_only=True)
class RunTagged(Event):
    """Tag ``key`` of run ``run_id`` is now ``value`` (the ``number``-th change of that key).

    Not run-scoped in the audit's sense (``RUN_SCOPED``): a tag may change after its run ended,
    which is the point of tagging; the log still files it under the run."""

    run_id: str
    key: str
    number: int
    value: str
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        _check_tag(self.run_id, self.key, self.number)
        if not isinstance(self.value, str):
            raise InvalidValue(f"a tag value is text, not {self.value!r}")
        if len(self.value) > MAX_TAG_VALUE:
            raise InvalidValue(
                f"tag {self.key!r} is {len(self.value):,} characters; the limit is "
                f"{MAX_TAG_VALUE:,}"
            )
        if any(ord(c) < 32 and c not in "\t" for c in self.value):
            raise InvalidValue(f"tag {self.key!r}: its value contains control characters")
        check_param_value(self.key, self.value)  # valid text (no lone surrogates)


@_kind("run.untagged")
@dataclass(frozen=True, slots=True, kw_only=True)
class RunUntagged(Event):
    """Tag ``key`` of run ``run_id`` was removed (the ``number``-th change of that key)."""

    run_id: str
    key: str
    number: int
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        _check_tag(self.run_id, self.key, self.number)


IMPORT_TARGETS = ("run", "model")


@_kind("import.recorded")
@dataclass(frozen=True, slots=True, kw_only=True)
class ImportRecorded(Event):
    """Record ``target`` (a run id, or a model version ``NAME/N``) came from ``source`` in
    another tool (``mlflow:<run id>``, ``mlflow:models:/NAME/N``): logged with the events that
    made the record, so a second import finds it and adds nothing. ``details``: what the source
    said that has no column here (an MLflow run's tags, experiment id, artifact location)."""

    source: str
    target_type: str
    target: str
    details: dict[str, Any] | None = None
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source or len(self.source) > 1000:
            raise InvalidValue(f"an import source is text of 1 to 1000 characters: {self.source!r}")
        if self.target_type not in IMPORT_TARGETS:
            raise InvalidValue(
                f"an import's target is one of {', '.join(IMPORT_TARGETS)}, "
                f"not {self.target_type!r}"
            )
        if not isinstance(self.target, str) or not self.target:
            raise InvalidValue(f"an import names its target, not {self.target!r}")

    @property
    def scope(self) -> str | None:
        return self.target if self.target_type == "run" else None


# -- identities (the team server) ---------------------------------------------------------------

# The roles a user may have; what each may do is ``pedigree.identity.AUTHZ_MATRIX``.
ROLES: tuple[str, ...] = ("researcher", "reviewer", "auditor", "admin")
# A user name is at most this long and cannot contain "/" or spaces (it names a principal in
# URLs, logs and ``actor`` columns).
_USER_NAME_MAX = 120


def _check_user_name(name: Any) -> None:
    check_key(name, "user name")
    if len(name) > _USER_NAME_MAX or any(c.isspace() or c in "/:@" for c in name):
        raise InvalidValue(
            f"a user name is at most {_USER_NAME_MAX} characters without spaces, '/', ':' or "
            f"'@', not {name!r}"
        )


def _check_role(role: Any) -> None:
    if role not in ROLES:
        raise InvalidValue(f"a role is one of {', '.join(ROLES)}, not {role!r}")


def _check_time(value: Any, what: str) -> None:
    if type(value) not in (int, float) or value != value:
        raise InvalidValue(f"{what} is a time in seconds since the epoch, not {value!r}")


@_kind("user.added")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserAdded(Event):
    """User ``name`` exists from now on, with ``role``; ``actor`` is the admin who added them."""

    name: str
    role: str
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        _check_user_name(self.name)
        _check_role(self.role)
        _check_time(self.at, "at")


@_kind("user.role_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserRoleChanged(Event):
    name: str
    role: str
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        _check_user_name(self.name)
        _check_role(self.role)
        _check_time(self.at, "at")


@_kind("user.disabled")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserDisabled(Event):
    """User ``name`` can no longer authenticate (with any token); their records stay theirs."""

    name: str
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        _check_user_name(self.name)
        _check_time(self.at, "at")


@_kind("user.password_set")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserPasswordSet(Event):
    """User ``name`` signs in to the web UI with a password whose argon2id ``hash`` this is
    (never the password; the hash is not shown by ``users ls`` nor written to any log)."""

    name: str
    hash: str
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        _check_user_name(self.name)
        if not isinstance(self.hash, str) or not self.hash.startswith("$argon2id$"):
            raise InvalidValue("a password is recorded as its argon2id hash")
        if len(self.hash) > 250:
            raise InvalidValue("a password hash is at most 250 characters")
        _check_time(self.at, "at")


@_kind("token.created")
@dataclass(frozen=True, slots=True, kw_only=True)
class TokenCreated(Event):
    """An API token of ``user``: its public ``id`` and the ``hash`` of its secret, never the
    secret (which only the person it was printed to holds)."""

    id: str
    user: str
    hash: str
    expires_at: float | None = None
    note: str | None = None
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.isalnum() or not 8 <= len(self.id) <= 36:
            raise InvalidValue(f"a token id is 8 to 36 letters and digits, not {self.id!r}")
        _check_user_name(self.user)
        if not isinstance(self.hash, str) or not self.hash.startswith("sha256:"):
            raise InvalidValue("a token is stored as the sha256 hash of its secret")
        if self.expires_at is not None:
            _check_time(self.expires_at, "expires_at")
        _check_time(self.at, "at")


@_kind("token.revoked")
@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRevoked(Event):
    id: str
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        check_key(self.id, "token id")
        _check_time(self.at, "at")


@_kind("policy.changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyChanged(Event):
    """The approvals policy in force from now on (the ``number``-th recorded), e.g.
    ``{"allow_self": false, "required": 1}``."""

    number: int
    policy: dict[str, Any]
    actor: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        if type(self.number) is not int or self.number < 1:
            raise InvalidValue(f"a policy number is a positive integer, not {self.number!r}")
        if not isinstance(self.policy, dict):
            raise InvalidValue(f"a policy is a mapping, not {self.policy!r}")
        _check_time(self.at, "at")


def log_payload(event: Event) -> str:
    """The payload as the audit log holds it: canonical JSON, with metric points packed.

    >>> log_payload(RunMetrics(run_id="r", points=[["m", 0, 1.0, 2.0]]))
    '{"points":{"data":"AAAAAAAAAAAAAAAAAAAAAPA/AAAAAAAAAEA=","keys":["m"]},"run_id":"r"}'
    """
    return prepare(event)[0]


def prepare(event: Event) -> tuple[str, dict[str, Any]]:
    """The payload as the audit log holds it, and the payload to apply to the tables.

    A ``run.metrics`` event may carry its points as a list (what the SDK buffers), as
    :class:`~pedigree.store.codec.Columns`, or packed (an event read back from a log); the log
    always holds them packed (:mod:`pedigree.store.codec`). Packing a list makes its columns on
    the way, and the projector is handed those (it takes any of the three forms) rather than
    making them again.
    """
    payload = event.payload()
    if type(event) is not RunMetrics:
        return canonical_json(payload), payload
    points = payload["points"]
    if type(points) is list:
        cols = columns(points)
    elif type(points) is Columns:
        cols = points
    else:  # packed already: logged as it is, unpacked by the projector
        return canonical_json(payload), payload
    packed = pack_columns(cols)
    # canonical_json of {"points": packed, "run_id": ...}, without scanning the long base64 text
    # for characters to escape: it has none.
    run_id = canonical_json(payload["run_id"])
    keys = canonical_json(packed["keys"])
    logged = f'{{"points":{{"data":"{packed["data"]}","keys":{keys}}},"run_id":{run_id}}}'
    return logged, {"run_id": payload["run_id"], "points": cols}
