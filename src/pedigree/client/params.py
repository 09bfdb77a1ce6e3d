"""Parameters: declared with defaults in the script, overridden by a sweep or ``--param``.

>>> p = Params({"window": 50, "instrument": "AAPL"})
>>> p.window, p["instrument"]
(50, 'AAPL')
>>> parse_assignment("fee_bps=2.5")
('fee_bps', 2.5)
"""

from __future__ import annotations

import json
import re
from typing import Any

from pedigree.errors import InvalidParam

__all__ = ["Params", "coerce_like", "parse_assignment", "parse_value"]

_KEY = re.compile(r"^[A-Za-z_][\w.\-]*$")
_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


class Params(dict[str, Any]):
    """A dict of parameter values that also reads as attributes (``p.window``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}; declared: {', '.join(self)}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("parameters are read-only once declared")


def parse_value(text: str) -> Any:
    """Type a command-line value: int, float, bool, or string (quote it to force a string)."""
    s = text.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s)
    return text


def parse_assignment(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep:
        raise InvalidParam(f"--param {text!r} is not key=value (example: --param window=50)")
    if not _KEY.match(key):
        raise InvalidParam(
            f"--param {text!r}: {key!r} is not a parameter name "
            "(letters, digits, _ . - and not starting with a digit)"
        )
    return key, parse_value(value)


def coerce_like(default: Any, value: Any) -> Any:
    """Give an injected value the type of the script's default when that loses nothing."""
    if default is None or value is None or type(default) is type(value):
        return value
    if isinstance(default, bool):
        if value in (0, 1) and not isinstance(value, float):
            return bool(value)
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, int) and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(default, str) and isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    return value
