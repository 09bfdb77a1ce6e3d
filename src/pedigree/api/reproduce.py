"""Verified reproduction: ``tracker.reproduce``.

Re-run a recorded run from its exact code, inputs and environment, and record the verdict.

>>> import tempfile
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> tracker = Tracker(init_project(tempfile.mkdtemp())[0])
>>> tracker.reproduce.run("last", rtol=-1)
Traceback (most recent call last):
...
pedigree.errors.InvalidInput: rtol must be a finite number >= 0, not -1
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pedigree.context import Context

if TYPE_CHECKING:
    from pedigree.reproduce.runner import Reproduction

__all__ = ["ReproduceAPI"]


class ReproduceAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def run(
        self,
        ref: str,
        *,
        env: Literal["current", "rebuild"] = "current",
        rtol: float = 1e-9,
        atol: float = 0.0,
        ignore_stdout: bool = False,
        keep: bool = False,
        stream: bool = True,
        on_start: Callable[[str], None] | None = None,
        timeout: float | None = None,
    ) -> Reproduction:
        """Re-run ``ref`` and judge it against the original; the verdict is recorded.

        See :func:`pedigree.reproduce.runner.reproduce`; ``on_start(run_id)`` is called once
        the reproduction run is recorded.
        """
        from pedigree.reproduce.runner import reproduce

        return reproduce(
            self._ctx,
            ref,
            env=env,
            rtol=rtol,
            atol=atol,
            ignore_stdout=ignore_stdout,
            keep=keep,
            stream=stream,
            on_start=on_start,
            timeout=timeout,
        )
