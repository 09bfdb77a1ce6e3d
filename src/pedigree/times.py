"""Timestamps as Pedigree prints and parses them: ISO 8601 in UTC.

>>> iso(0.0)
'1970-01-01T00:00:00.000000Z'
>>> parse_time("1970-01-02")
86400.0
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso", "parse_time"]


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> float:
    """``2026-11-01`` or ``2026-11-01T09:30`` (UTC unless it names a zone) as epoch seconds;
    ``ValueError`` for anything else."""
    when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()
