"""The command-line interface: a thin face over the Tracker.

:func:`main` is the ``pedigree`` console script. It answers ``pedigree --version`` before
importing click or any command (a third of a ``--version`` process was importing click,
issue 18); everything else goes to :func:`pedigree.cli.main.main`.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["main"]


def main(argv: list[str] | None = None) -> Any:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from pedigree._version import __version__

        # What click's version option prints (``pedigree.cli.main``), word for word.
        sys.stdout.write(f"pedigree, version {__version__}\n")
        return None
    from pedigree.cli.main import main as run

    return run(argv)
