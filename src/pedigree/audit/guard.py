"""Act only on records the audit chain vouches for.

``report`` refuses to vouch for a store that fails ``audit verify``; the commands that act on
records (``reproduce`` runs a recorded command, ``data checkout`` writes recorded files) refuse
in the same way, with the same message, before they run or write anything: a row edited behind
Pedigree's back (``update runs set command=...``) must not become code execution on a
colleague's machine.

>>> from pedigree.store.events import RunCreated
>>> from pedigree.store.sql import open_store
>>> class _Ctx:  # only ``store`` is read
...     store = open_store("sqlite://")
>>> _ = _Ctx.store.append([RunCreated(id="0190e0a0-0000-7000-8000-000000000001", experiment="e")],
...                       actor="ann")
>>> require_intact(_Ctx(), "nothing was run")  # type: ignore[arg-type]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pedigree.errors import AuditError

if TYPE_CHECKING:
    from pedigree.context import Context

__all__ = ["require_intact"]


def require_intact(ctx: Context, consequence: str) -> None:
    """Raise :class:`AuditError` when the store fails ``audit verify`` (chain and tables).

    ``consequence`` ends the message: what was not done (``"nothing was run"``).
    """
    from pedigree.audit.verify import verify

    report = verify(ctx.store, max_problems=1)
    if not report.ok:
        raise AuditError(
            f"the record fails `pedigree audit verify` ({report.problem_count:,} problems; "
            f"the first: {report.problems[0]}); {consequence}"
        )
