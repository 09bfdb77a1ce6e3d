"""The compliance report: one self-contained HTML file about one run.

It states the code (commit and patch), the data (every input and output with its digest), the
environment, parameters, metrics, a lineage diagram, reproductions and their verdicts, reviews,
and the audit-chain head at the time of the report, after verifying the whole log.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> run_id = create_run(ctx, experiment="ma-crossover")
>>> write_report(ctx, "last", "report.html").name
'report.html'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pedigree.audit.check import ProgressFn
    from pedigree.context import Context

__all__ = ["build_report", "write_report"]


def build_report(
    ctx: Context, ref: str, *, verify: bool = True, progress: ProgressFn | None = None
) -> str:
    """The report on run ``ref`` as HTML text."""
    from pedigree.report.collect import collect
    from pedigree.report.html import render

    return render(collect(ctx, ref, verify=verify, progress=progress))


def write_report(
    ctx: Context,
    ref: str,
    path: str | os.PathLike[str],
    *,
    verify: bool = True,
    progress: ProgressFn | None = None,
) -> Path:
    """Write the report to ``path`` atomically: a failed report leaves no file behind.

    An existing ``path`` that is not a regular file (``/dev/stdout``, a FIFO) is written to.
    """
    from pedigree.errors import InvalidInput

    target = Path(path)
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder; give the report's file name")
    if not target.parent.is_dir():
        raise InvalidInput(f"cannot write {target}: the folder {target.parent} does not exist")
    html = build_report(ctx, ref, verify=verify, progress=progress)
    if target.exists() and not target.is_file():
        # A device or a pipe (-o /dev/stdout, a FIFO): written to, never replaced by a file.
        try:
            with open(target, "w", encoding="utf-8") as out:
                out.write(html)
        except OSError as exc:
            raise InvalidInput(f"cannot write {target}: {exc.strerror}") from exc
        return target
    try:
        fd, tmp = tempfile.mkstemp(prefix=".pedigree-report-", dir=target.parent)
    except OSError as exc:
        raise InvalidInput(f"cannot write {target}: {exc.strerror}") from exc
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
