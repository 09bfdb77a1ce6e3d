"""Canonical JSON, the one encoding Pedigree hashes and stores, and JSON for people's tools.

Canonical JSON sorts keys, has no spaces and keeps non-ASCII text as is, so the same value always
gives the same bytes. It allows the non-standard ``NaN`` and ``Infinity`` tokens because a metric
may be infinite; output meant for other programs (``--json``) uses :func:`dumps_public` instead,
which writes those as strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["canonical_json", "dumps_public", "public"]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def public(value: Any) -> Any:
    """Replace non-finite floats so that the value is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [public(v) for v in value]
    return value


def dumps_public(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(public(value), indent=indent, ensure_ascii=False, allow_nan=False)
