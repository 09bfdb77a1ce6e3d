"""A plain table for long listings: aligned columns, styled only on a terminal.

``pedigree runs --limit 100`` spent more time in rich laying out 1,100 cells than in everything
else the command does (issue 18). Listings that can be long print through :func:`print_table`
instead: the same look as rich's borderless table (a bold header, two spaces between columns,
numbers to the right), ANSI styles only when the output is a terminal, no markup to escape.

>>> import io
>>> out = io.StringIO()
>>> print_table([Column("run"), Column("took", right=True)], [["a1", "0.5s"], ["b22", "10s"]],
...             out=out)
>>> print(out.getvalue(), end="")
run  took
a1   0.5s
b22   10s
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

__all__ = ["Cell", "Column", "print_table"]

# The few styles the listings use, as ANSI codes.
_CODES = {
    "bold": "1",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False
    style: str | None = None  # for every cell of the column


@dataclass(frozen=True)
class Cell:
    """A cell with a style of its own (a run's status in its colour)."""

    text: str
    style: str | None = None


def _styled(text: str, style: str | None, color: bool) -> str:
    code = _CODES.get(style or "")
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def print_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str | Cell]],
    *,
    out: TextIO | None = None,
) -> None:
    """Print ``rows`` under ``columns``; the output is styled when it is a terminal."""
    stream = out if out is not None else sys.stdout
    color = stream.isatty()
    cells = [[c if isinstance(c, Cell) else Cell(c) for c in row] for row in rows]
    widths = [len(col.header) for col in columns]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell.text))
    last = len(columns) - 1

    def line(values: Sequence[Cell], header: bool) -> str:
        parts = []
        for i, (col, cell) in enumerate(zip(columns, values, strict=True)):
            pad = widths[i] - len(cell.text)
            text = (
                (" " * pad + cell.text)
                if col.right
                else (cell.text + ("" if i == last else " " * pad))
            )
            style = "bold" if header else (cell.style or col.style)
            parts.append(_styled(text, style, color))
        return "  ".join(parts).rstrip()

    lines = [line([Cell(c.header) for c in columns], True)]
    lines += [line(row, False) for row in cells]
    stream.write("\n".join(lines) + "\n")
