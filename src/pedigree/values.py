"""What a key, a parameter value and a metric value may be, and the limits on them.

Policy on non-finite metrics: NaN, +Infinity and -Infinity are accepted, because a diverged
optimiser or a zero-variance Sharpe ratio is a result worth recording. NaN is stored as SQL NULL
(so it never matches a numeric filter and sorts after every number); infinities are stored as
they are. ``--json`` output writes them as the strings "NaN", "Infinity" and "-Infinity".
"""

from __future__ import annotations

import json
import operator
from typing import Any

from pedigree.errors import InvalidParam, InvalidValue

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_PARAM_BYTES",
    "MAX_STEP",
    "MIN_STEP",
    "check_key",
    "check_param_value",
    "check_tags",
    "metric_step",
    "metric_value",
]

MAX_KEY_LENGTH = 250
MAX_PARAM_BYTES = 64 * 1024
MAX_STEP = (1 << 63) - 1
MIN_STEP = -(1 << 63)


def check_key(key: object, what: str = "key") -> str:
    if not isinstance(key, str) or not key:
        raise InvalidValue(f"a {what} must be a non-empty string, not {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidValue(f"{what} {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters")
    if any(ord(c) < 32 for c in key):
        raise InvalidValue(f"{what} {key!r} contains control characters")
    if not key.isascii():
        _check_text(key, what)
    return key


def _check_text(text: str, what: str) -> None:
    """Refuse a string that is not valid Unicode text (a lone surrogate, as ``os.fsdecode`` makes
    of a non-UTF-8 file name): it cannot be stored, and would fail later, far from the call."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise InvalidValue(
            f"{what} {text[:40]!r} is not valid text: it holds the lone surrogate {bad!r}"
        ) from None


def _plain(value: Any) -> Any:
    """numpy scalars and other number-likes become plain Python values."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        return _plain(item())
    raise InvalidParam(
        f"parameter value {value!r} of type {type(value).__name__} is not supported: "
        "use numbers, strings, booleans, None, or lists and dicts of them"
    )


def check_param_value(key: str, value: Any) -> Any:
    # Most parameters are small scalars: they cannot exceed the limit, so they skip the JSON
    # encoding that measures the others (each value is checked by the SDK and again by its event).
    kind = type(value)
    if value is None or kind is bool or kind is float:
        return value
    if kind is int and value.bit_length() < 4096:  # far from the int-to-str digit limit
        return value
    if kind is str and len(value) * 6 <= MAX_PARAM_BYTES:  # 6: the longest JSON escape
        if not value.isascii():
            _check_text(value, f"parameter {key!r}: the value")
        return value
    value = _plain(value)
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode())
    except ValueError as exc:
        raise InvalidParam(f"parameter {key!r}: {exc}") from exc
    if size > MAX_PARAM_BYTES:
        raise InvalidValue(
            f"parameter {key!r} is {size:,} bytes; the limit is {MAX_PARAM_BYTES:,} "
            "(store large values as a file with run.produce)"
        )
    return value


def metric_value(key: str, value: Any) -> float:
    if isinstance(value, str | bytes) or value is None:
        raise InvalidValue(f"metric {key!r} must be a number, not {value!r}")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(
            f"metric {key!r} must be a number, not {type(value).__name__} {value!r}"
        ) from None
    return result


def metric_step(key: str, step: Any) -> int:
    """A step: an integer that fits the store's 64-bit column (checked here, at the call, so one
    bad step is refused alone instead of failing the batch it would be written with)."""
    try:
        value = operator.index(step)
    except TypeError:
        raise InvalidValue(f"the step of metric {key!r} must be an integer, not {step!r}") from None
    if not MIN_STEP <= value <= MAX_STEP:
        raise InvalidValue(
            f"the step of metric {key!r} is {value}; steps are 64-bit integers "
            f"({MIN_STEP} to {MAX_STEP})"
        )
    return value


def check_tags(tags: Any) -> dict[str, str]:
    """Tags as text: a key is a name, a value a string (a number or boolean becomes its text, as
    ``--where tags.KEY`` compares it), so that ``start_run(tags={"fold": 3})`` does what it says.

    >>> check_tags({"stage": "candidate", "fold": 3, "live": False})
    {'stage': 'candidate', 'fold': '3', 'live': 'false'}
    """
    if not isinstance(tags, dict):
        raise InvalidValue(f"tags are a dict of names to text, not {type(tags).__name__}")
    out: dict[str, str] = {}
    for key, value in tags.items():
        check_key(key, "tag name")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif not isinstance(value, str):
            raise InvalidValue(f"tag {key!r} is text, not {type(value).__name__}")
        _check_text(value, f"tag {key!r}")
        out[key] = value
    return out
