"""Verified reproduction: re-run a recorded run and judge whether it gave the same results.

- ``workspace``: the run's code (a temporary git worktree at the commit, plus the recorded patch
  and untracked files) and its input bytes, put back from the object store;
- ``environment``: compare the environment with the record, or rebuild it in a virtualenv;
- ``compare``: outputs, standard output and metrics against the original, and the verdict;
- ``runner``: ``reproduce``, which does all of it and records the verdict.

>>> from pedigree.reproduce import reproduce                         # doctest: +SKIP
>>> reproduce(tracker, "last").verdict                               # doctest: +SKIP
'identical'
"""

from __future__ import annotations

from pedigree.reproduce.compare import EXIT_CODES, VERDICTS
from pedigree.reproduce.runner import DEFAULT_ATOL, DEFAULT_RTOL, Reproduction, reproduce

__all__ = ["DEFAULT_ATOL", "DEFAULT_RTOL", "EXIT_CODES", "VERDICTS", "Reproduction", "reproduce"]
