"""Metric points as the audit log holds them: packed binary columns.

A flush of metrics carries thousands of points. As JSON lists (``[key, step, value, ts]`` each)
they would cost more to encode, hash and store than the rows they make, on every write and on
every ``audit verify``. A ``run.metrics`` event in the log holds them as fixed-width binary
columns instead, which both ends convert with C code (``struct``, ``binascii``)::

    "points": {"keys": ["loss", "acc"], "data": "<base64>"}

``keys`` lists the distinct metric names in the order of their first point. ``data`` is the
base64 (standard alphabet, padded, no line breaks) of four little-endian columns, one after the
other, each with one entry per point:

1. the key, as an index into ``keys``: uint16, or uint32 when there are more than 65,536 names;
2. the step: int64;
3. the value: IEEE 754 float64; NaN for a missing value (the tables hold it as NULL);
4. the time: float64 seconds since the epoch.

The packing is a function of the points alone, whatever the machine: little-endian always, every
NaN written as the one quiet NaN ``0x7ff8000000000000``, integers as floats where the column
is a float (as the database stores them). The same points always give the same text, so the
canonical JSON of the event stays canonical.

>>> packed = pack_points([["loss", 0, 0.5, 10.0], ["acc", 0, None, 10.0], ["loss", 1, 0.25, 11.0]])
>>> packed["keys"]
['loss', 'acc']
>>> keys, steps, values, times = unpack_points(packed)
>>> list(zip(keys, steps, values, times))
[('loss', 0, 0.5, 10.0), ('acc', 0, None, 10.0), ('loss', 1, 0.25, 11.0)]
"""

from __future__ import annotations

import binascii
import math
import struct
from collections.abc import Sequence
from functools import partial
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple

from pedigree.errors import InvalidValue

__all__ = ["Columns", "MalformedPoints", "columns", "pack_columns", "pack_points", "unpack_points"]

_NAN: float = struct.unpack("<d", b"\x00\x00\x00\x00\x00\x00\xf8\x7f")[0]
_SMALL = 65_536  # names that a uint16 index can address
_FIELDS = frozenset({"keys", "data"})
_formats: dict[tuple[int, bool], struct.Struct] = {}


class Columns(NamedTuple):
    """Points as columns, one entry per point; a value is None for NaN (as the tables hold it)."""

    keys: Sequence[str]
    steps: Sequence[int]
    values: Sequence[float | None]
    times: Sequence[float]


_NONE = Columns((), (), (), ())
_columns = partial(tuple.__new__, Columns)  # Columns(*fields) without its Python-level __new__
_a2b = binascii.a2b_base64


class MalformedPoints(ValueError):
    """A packed ``points`` object that :func:`pack_points` cannot have made."""


def _format(n: int, small: bool) -> struct.Struct:
    fmt = _formats.get((n, small))
    if fmt is None:
        fmt = struct.Struct(f"<{n}{'H' if small else 'I'}{n}q{n}d{n}d")
        if len(_formats) < 4096:
            _formats[n, small] = fmt
    return fmt


def columns(points: Sequence[Sequence[Any]]) -> Columns:
    """``[key, step, value or None, ts]`` points as :class:`Columns` (NaN values become None).

    Raises :class:`InvalidValue` when the points are not all four fields long; the types of the
    fields are checked by :func:`pack_columns`.
    """
    if not points:
        return _NONE
    # One pass over the points, into one flat list, then its four strided slices: measured
    # cheaper (in the SDK's process, where the points are scattered over the heap) than
    # zip(*points), which makes an iterator for every point.
    try:
        if set(map(len, points)) != {4}:
            raise TypeError
        flat = list(chain.from_iterable(points))
    except TypeError:
        raise InvalidValue("a metric point is [key, step, value, timestamp]") from None
    keys, steps, values, times = flat[0::4], flat[1::4], flat[2::4], flat[3::4]
    try:
        total = sum(values)
    except TypeError:  # None for a NaN (or something that is no number, refused when packed)
        total = math.nan
    if total != total:  # a NaN somewhere (or +inf and -inf)
        values = [None if v != v else v for v in values]
    return Columns(keys, steps, values, times)


def pack_columns(cols: Columns) -> dict[str, Any]:
    """The packed form of :func:`columns` (see the module docstring).

    Raises :class:`InvalidValue` for a point that the tables could not hold: a key that is not a
    string, a step that is not a 64-bit integer, a value or a time that is not a number, a time
    that is not finite.
    """
    keys, steps, values, times = cols
    n = len(keys)
    index = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    for k in index:
        if type(k) is not str:
            raise InvalidValue(f"a metric name must be a string, not {k!r}")
    indexes = itemgetter(*keys)(index) if n > 1 else tuple(map(index.__getitem__, keys))
    fmt = _format(n, len(index) <= _SMALL)
    try:
        data = fmt.pack(*indexes, *steps, *values, *times)
    except (struct.error, OverflowError, TypeError):  # None for NaN, or not a number
        # Every NaN is written as the same quiet NaN (columns() made them None), so that equal
        # points pack the same whatever the sign and payload bits of their NaNs.
        nans = tuple(_NAN if v is None else v for v in values)
        try:
            data = fmt.pack(*indexes, *steps, *nans, *times)
        except (struct.error, OverflowError, TypeError):
            raise InvalidValue(_first_bad(cols)) from None
    try:
        finite = math.isfinite(sum(times))
    except TypeError:  # a Decimal...: struct took it as a float
        finite = False
    if not finite and not all(math.isfinite(float(t)) for t in times):
        raise InvalidValue("the time of a metric point must be a finite number")
    return {"keys": list(index), "data": binascii.b2a_base64(data, newline=False).decode()}


def pack_points(points: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """The packed form of ``[key, step, value or None, ts]`` points: see :func:`pack_columns`."""
    return pack_columns(columns(points))


def _first_bad(cols: Columns) -> str:
    """Why the first point that ``struct`` refused cannot be stored."""
    for key, step, value, ts in zip(*cols, strict=True):
        for what, x, fmt in (("step", step, "<q"), ("value", value, "<d"), ("time", ts, "<d")):
            if what == "value" and x is None:
                continue
            try:
                struct.pack(fmt, x)
            except (struct.error, OverflowError, TypeError):
                if fmt == "<q" and isinstance(x, int):
                    return f"the step {x} of metric {key!r} is out of range (64-bit integers)"
                kind = "an integer" if fmt == "<q" else "a number"
                return f"the {what} of metric {key!r} must be {kind}, not {x!r}"
    return "a metric point is not numeric"


def unpack_points(packed: Any) -> Columns:
    """The points of a packed object, as :class:`Columns`.

    Raises :class:`MalformedPoints` (a ``ValueError``) for anything :func:`pack_points` cannot
    have made.
    """
    # This runs for every run.metrics event ``audit verify`` folds: it is written for speed.
    if type(packed) is not dict or packed.keys() != _FIELDS:
        raise MalformedPoints("points is not an object of keys and data")
    names = packed["keys"]
    text = packed["data"]
    if type(names) is not list or type(text) is not str:
        raise MalformedPoints("points.keys is not a list or points.data not a string")
    try:
        data = _a2b(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedPoints(f"points.data is not base64: {exc}") from None
    small = len(names) <= _SMALL
    n, rest = divmod(len(data), 26 if small else 28)
    fmt = _formats.get((n, small)) or _format(n, small)
    if rest:
        raise MalformedPoints("points.data does not hold whole points")
    cols = fmt.unpack(data)
    indexes = cols[:n]
    try:
        keys = list(map(names.__getitem__, indexes))
    except IndexError:
        raise MalformedPoints("points.data names a key that points.keys does not list") from None
    for k in names:
        if type(k) is not str:
            raise MalformedPoints(f"points.keys holds {k!r}, not a name")
    values: Sequence[float | None] = cols[2 * n : 3 * n]
    total = sum(values)  # type: ignore[arg-type]
    if total != total:
        values = [None if v != v else v for v in values]
    return _columns((keys, cols[n : 2 * n], values, cols[3 * n :]))
