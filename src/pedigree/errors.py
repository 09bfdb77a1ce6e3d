"""Every error Pedigree raises, in one tree.

    PedigreeError                 exit 1   HTTP 500
    ├── InvalidInput              exit 2   HTTP 400   bad syntax or value
    │   ├── InvalidQuery                              a malformed --where / --order-by
    │   ├── InvalidParam                              bad --param syntax or parameter value
    │   │   └── UnknownParameter                      a swept name the script does not declare
    │   ├── InvalidValue                              a non-numeric metric, an oversized value
    │   └── EmptySweep                                a sweep with nothing to vary
    ├── NotFound                  exit 3   HTTP 404
    │   ├── StoreNotFound                             no .pedigree/ here or above
    │   ├── RunNotFound
    │   │   └── NotASweep                             a run id that names a run, not a sweep
    │   └── ObjectNotFound                            a digest missing from the object store
    ├── Ambiguous                 exit 2   HTTP 400   a run-id prefix that matches several runs
    ├── Conflict                  exit 4   HTTP 409
    │   ├── RunImmutable                              writing to a run that has ended
    │   └── StaleRead                                 a team-server write built on an old read
    ├── IntegrityError            exit 5   HTTP 500   stored bytes whose digest does not match
    ├── AuditError                exit 1   HTTP 500   the record fails `audit verify`: the chain
    │   │                                             is broken or a table disagrees with the log
    │   └── AnchorNotInChain                          the log no longer holds an anchor's digest
    ├── StoreError                exit 6   HTTP 503   the database or object store failed
    │   ├── ExecutorUnavailable                       a Ray cluster that does not answer
    │   └── ServerUnreachable                         the team server does not answer
    ├── RemoteError               exit 7   HTTP 502   a remote service (an OpenLineage collector)
    │                                                 refused or could not be reached
    ├── Unauthenticated           exit 8   HTTP 401   no token, or one the server does not accept
    ├── PermissionDenied          exit 9   HTTP 403   the token's role may not do that
    ├── RateLimited               exit 10  HTTP 429   too many failed authentications
    ├── CannotReproduce           exit 2   HTTP 409   a reproduction lacks a commit, an object...
    └── CommandNotFound           exit 127 HTTP 400   `pedigree run` of a command that is not there

Library errors (sqlite3, psycopg, botocore, OSError) are translated at the edge with
``raise ... from exc`` so the CLI and the server each need a single handler: the CLI prints
``error: <message>`` and exits with ``exit_code``; the server answers ``http_status``.
"""

from __future__ import annotations

__all__ = [
    "Ambiguous",
    "AnchorNotInChain",
    "AuditError",
    "CannotReproduce",
    "CommandNotFound",
    "Conflict",
    "EmptySweep",
    "ExecutorUnavailable",
    "IntegrityError",
    "InvalidInput",
    "InvalidParam",
    "InvalidQuery",
    "InvalidValue",
    "NotASweep",
    "NotFound",
    "ObjectNotFound",
    "PedigreeError",
    "PermissionDenied",
    "RateLimited",
    "RemoteError",
    "RunImmutable",
    "RunNotFound",
    "ServerUnreachable",
    "StaleRead",
    "StoreError",
    "StoreNotFound",
    "Unauthenticated",
    "UnknownParameter",
    "error_class",
    "error_code",
]


class PedigreeError(Exception):
    """Base of every error Pedigree raises on purpose."""

    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidInput(PedigreeError, ValueError):
    exit_code = 2
    http_status = 400


class InvalidQuery(InvalidInput):
    pass


class InvalidParam(InvalidInput):
    pass


class InvalidValue(InvalidInput):
    pass


class NotFound(PedigreeError, LookupError):
    exit_code = 3
    http_status = 404


class StoreNotFound(NotFound):
    pass


class RunNotFound(NotFound):
    pass


class ObjectNotFound(NotFound):
    pass


class Ambiguous(PedigreeError, LookupError):
    exit_code = 2
    http_status = 400


class Conflict(PedigreeError):
    exit_code = 4
    http_status = 409


class RunImmutable(Conflict):
    pass


class StaleRead(Conflict):
    """Events built from a read of the team server's record, which has moved on since: the
    client reads again and rebuilds them (``Context.write`` through the server)."""


class IntegrityError(PedigreeError):
    exit_code = 5
    http_status = 500


class AuditError(PedigreeError):
    """The audit log or a table was changed behind Pedigree's back (``audit verify``)."""

    exit_code = 1
    http_status = 500


class AnchorNotInChain(AuditError):
    pass


class StoreError(PedigreeError):
    exit_code = 6
    http_status = 503


class RemoteError(PedigreeError):
    exit_code = 7
    http_status = 502


class ServerUnreachable(StoreError):
    """The team server named by ``PEDIGREE_URI`` (or ``pedigree login``) does not answer."""


class Unauthenticated(PedigreeError):
    """No token, or one the team server does not accept (unknown, revoked, expired, or its user
    disabled). The message never repeats the token."""

    exit_code = 8
    http_status = 401


class PermissionDenied(PedigreeError):
    """The token's user is authenticated, but their role may not do what was asked."""

    exit_code = 9
    http_status = 403


class RateLimited(PedigreeError):
    """Too many failed authentications from one address: wait, then try again."""

    exit_code = 10
    http_status = 429


class UnknownParameter(InvalidParam):
    """A swept name that the command's ``pedigree.params(...)`` does not declare."""


class EmptySweep(InvalidInput):
    """A sweep with nothing to vary, or a parameter with no values."""


class NotASweep(RunNotFound):
    """A run id that names a run, not a sweep."""


class ExecutorUnavailable(StoreError):
    """The cluster that should run the trials does not answer (exit 6, like a store failure)."""


class CannotReproduce(PedigreeError):
    """Something a reproduction needs is missing; the reproduction is recorded as failed."""

    exit_code = 2
    http_status = 409


class CommandNotFound(PedigreeError):
    exit_code = 127
    http_status = 400


def error_code(error: type[PedigreeError] | PedigreeError) -> str:
    """The ``error.code`` of the team server's JSON errors: the class's ``code`` when it names
    one, else its name in snake case (``RunNotFound`` -> ``run_not_found``).

    >>> error_code(RunNotFound("x")), error_code(StaleRead)
    ('run_not_found', 'stale_read')
    """
    cls = error if isinstance(error, type) else type(error)
    code = cls.__dict__.get("code")
    if isinstance(code, str) and code:
        return code
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def error_class(code: str) -> type[PedigreeError] | None:
    """The class of this module whose :func:`error_code` is ``code`` (None for another)."""
    for name in __all__:
        cls = globals().get(name)
        if isinstance(cls, type) and issubclass(cls, PedigreeError) and error_code(cls) == code:
            return cls
    return None
