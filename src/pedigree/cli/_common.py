"""What the commands share: options, the tracker, output helpers."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

    from pedigree.api import Tracker

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["console", "emit_json", "json_option", "tracker"]


def json_option(fn: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table."
    )(fn)


def tracker() -> Tracker:
    from pedigree.api import Tracker

    return Tracker.from_env()


def emit_json(value: Any) -> None:
    from pedigree.jsonutil import dumps_public

    sys.stdout.write(dumps_public(value) + "\n")


def console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output is for other programs and for files: never cut it at 80 columns.
    width = None if stream.isatty() else 1000
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)
