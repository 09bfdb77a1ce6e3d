"""Every error Pedigree raises, in one tree.

    PedigreeError                 exit 1   HTTP 500
    ├── InvalidInput              exit 2   HTTP 400   bad syntax or value
    │   ├── InvalidQuery                              a malformed --where / --order-by
    │   ├── InvalidParam                              bad --param syntax or parameter value
    │   └── InvalidValue                              a non-numeric metric, an oversized value
    ├── NotFound                  exit 3   HTTP 404
    │   ├── StoreNotFound                             no .pedigree/ here or above
    │   ├── RunNotFound
    │   └── ObjectNotFound                            a digest missing from the object store
    ├── Ambiguous                 exit 2   HTTP 400   a run-id prefix that matches several runs
    ├── Conflict                  exit 4   HTTP 409
    │   └── RunImmutable                              writing to a run that has ended
    ├── IntegrityError            exit 5   HTTP 500   stored bytes whose digest does not match
    ├── AuditError                exit 1   HTTP 500   the record fails `audit verify`: the chain
    │   │                                             is broken or a table disagrees with the log
    │   └── AnchorNotInChain                          the log no longer holds an anchor's digest
    ├── StoreError                exit 6   HTTP 503   the database or object store failed
    └── RemoteError               exit 7   HTTP 502   a remote service (an OpenLineage collector)
                                                      refused or could not be reached

Library errors (sqlite3, psycopg, botocore, OSError) are translated at the edge with
``raise ... from exc`` so the CLI and the server each need a single handler: the CLI prints
``error: <message>`` and exits with ``exit_code``; the server answers ``http_status``.
"""

from __future__ import annotations

__all__ = [
    "Ambiguous",
    "AnchorNotInChain",
    "AuditError",
    "Conflict",
    "IntegrityError",
    "InvalidInput",
    "InvalidParam",
    "InvalidQuery",
    "InvalidValue",
    "NotFound",
    "ObjectNotFound",
    "PedigreeError",
    "RemoteError",
    "RunImmutable",
    "RunNotFound",
    "StoreError",
    "StoreNotFound",
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
