"""Verified reproduction: re-run a recorded run and judge whether it gave the same results.

- ``workspace``: the run's code (a temporary git worktree at the commit, plus the recorded patch
  and untracked files) and its input bytes, put back from the object store;
- ``environment``: compare the environment with the record, or rebuild it in a virtualenv;
- ``compare``: outputs, standard output and metrics against the original, and the verdict;
- ``runner``: ``reproduce``, which does all of it and records the verdict.

A run recorded from inside a Python process has no command to re-run: its reproduction is
recorded, as failed, with the reason.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run, end_run
>>> from pedigree.reproduce import reproduce
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> end_run(ctx, create_run(ctx, experiment="ma-crossover"), "finished")
>>> r = reproduce(ctx, "last")
>>> r.verdict, r.exit_code, "recorded no command" in r.details["reason"]
('failed', 2, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pedigree.reproduce.compare import EXIT_CODES, VERDICTS
    from pedigree.reproduce.runner import DEFAULT_ATOL, DEFAULT_RTOL, Reproduction, reproduce

# The names below are imported when first used (PEP 562): importing one submodule of the package
# (a run record's enricher, say) does not import them all, which costs every CLI command that
# reads (issue 18).
_LAZY = {
    "EXIT_CODES": "pedigree.reproduce.compare",
    "VERDICTS": "pedigree.reproduce.compare",
    "DEFAULT_ATOL": "pedigree.reproduce.runner",
    "DEFAULT_RTOL": "pedigree.reproduce.runner",
    "Reproduction": "pedigree.reproduce.runner",
    "reproduce": "pedigree.reproduce.runner",
}


def __getattr__(name: str) -> Any:
    from pedigree.lazy import lazy_attribute

    return lazy_attribute(__name__, _LAZY, name)


__all__ = ["DEFAULT_ATOL", "DEFAULT_RTOL", "EXIT_CODES", "VERDICTS", "Reproduction", "reproduce"]
