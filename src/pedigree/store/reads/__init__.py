"""The store's read interface, one part per area, joined in ``store.reader.Reader``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

__all__ = ["chunked"]

T = TypeVar("T")


def chunked(seq: Sequence[T], size: int = 500) -> Iterator[list[T]]:
    """``seq`` in lists of at most ``size``: the values of one SQL ``IN (...)`` each.

    SQLite allows a limited number of bound parameters per statement, and PostgreSQL plans a
    long IN list slowly, so a lookup of many keys runs as several statements.

    >>> [len(c) for c in chunked(range(1200))]
    [500, 500, 200]
    """
    for i in range(0, len(seq), size):
        yield list(seq[i : i + size])
