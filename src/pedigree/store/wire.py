"""Typed rows and events as JSON, for the team server's wire protocol.

The remote store (:mod:`pedigree.store.remote`) is one more implementation of the store
interface: the domain reads the same typed rows (``RunRow``, ``NodeRef``, ``Graph``...) from it as
from SQL. So a read's answer crosses the wire with its types: JSON's own values stand for
themselves, and everything else is an object with one ``$``-key saying what it is::

    {"$t": [...]}                     a tuple
    {"$s": [...]}                     a set (or frozenset)
    {"$d": [[key, value], ...]}       a dict whose keys are not all plain strings
    {"$b": "<base64>"}                bytes
    {"$f": "nan" | "inf" | "-inf"}    a float JSON cannot spell
    {"$c": "NodeRef", "v": {...}}     a dataclass or NamedTuple of the store's read interface

A class is named by its bare name and looked up in :data:`CLASSES`, a fixed table of the store's
row types: the decoder never imports a module or instantiates anything a message names beyond
that table, so a hostile peer can make nothing but the store's plain value types.

>>> from pedigree.store.reads.lineage import NodeRef
>>> value = {NodeRef("run", "r1"): {1, 2}, "n": (1.5, float("inf"))}
>>> decode(loads(dumps(value))) == value
True
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from pedigree.errors import InvalidInput

__all__ = ["CLASSES", "WireError", "decode", "dumps", "encode", "loads", "register"]

CLASSES: dict[str, type] = {}
_MAX_DEPTH = 64


class WireError(InvalidInput):
    """A message that this encoding cannot have produced."""


def register(*classes: type) -> None:
    """Allow ``classes`` (dataclasses or NamedTuples) to cross the wire."""
    for cls in classes:
        CLASSES[cls.__name__] = cls


def _register_store_rows() -> None:
    """Every row type of the read interface: the dataclasses and NamedTuples defined in the
    modules of ``pedigree.store.reads`` (a new read's row type crosses the wire without being
    listed anywhere), and the query types of ``pedigree.store.where``."""
    import importlib
    import pkgutil

    from pedigree.store import reads, where

    modules = [where] + [
        importlib.import_module(f"{reads.__name__}.{m.name}")
        for m in pkgutil.iter_modules(reads.__path__)
    ]
    for module in modules:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and not value.__name__.startswith("_")
                and (dataclasses.is_dataclass(value) or _is_namedtuple_class(value))
            ):
                register(value)


def _is_namedtuple_class(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def encode(value: Any) -> Any:
    """``value`` as plain JSON values (see the module docstring)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$f": "nan" if value != value else ("inf" if value > 0 else "-inf")}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if _is_namedtuple(value):
        name = type(value).__name__
        if not CLASSES:
            _register_store_rows()
        if CLASSES.get(name) is not type(value):
            raise WireError(f"{name} is not a type the wire protocol carries")
        row: Any = value
        return {"$c": name, "v": {f: encode(getattr(row, f)) for f in row._fields}}
    if isinstance(value, tuple):
        return {"$t": [encode(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {"$s": [encode(v) for v in value]}
    if isinstance(value, dict):
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"$d": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if not CLASSES:
            _register_store_rows()
        if CLASSES.get(name) is not type(value):
            raise WireError(f"{name} is not a type the wire protocol carries")
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$c": name, "v": fields}
    raise WireError(f"a {type(value).__name__} cannot cross the wire")


def _decode_tagged(tag: str, body: Any, value: Mapping[str, Any], depth: int) -> Any:
    def items(x: Any) -> list[Any]:
        if not isinstance(x, list):
            raise WireError(f"{tag} holds a list")
        return [_decode(v, depth + 1) for v in x]

    if tag == "$t":
        return tuple(items(body))
    if tag == "$s":
        try:
            return set(items(body))
        except TypeError:
            raise WireError("a set holds only hashable values") from None
    if tag == "$d":
        out = {}
        for pair in items(body):
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("$d holds [key, value] pairs")
            try:
                out[pair[0]] = pair[1]
            except TypeError:
                raise WireError("a dict key must be hashable") from None
        return out
    if tag == "$b":
        if not isinstance(body, str):
            raise WireError("$b holds base64 text")
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise WireError("$b holds base64 text") from None
    if tag == "$f":
        if body not in ("nan", "inf", "-inf"):
            raise WireError("$f is nan, inf or -inf")
        return float(body)
    if tag == "$c":
        if not CLASSES:
            _register_store_rows()
        cls = CLASSES.get(body) if isinstance(body, str) else None
        fields = value.get("v")
        if cls is None or not isinstance(fields, dict) or set(value) != {"$c", "v"}:
            raise WireError(f"{body!r} is not a type the wire protocol carries")
        kwargs = {str(k): _decode(v, depth + 1) for k, v in fields.items()}
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise WireError(f"a {body} with the wrong fields: {exc}") from None
    raise WireError(f"unknown tag {tag!r}")


def _decode(value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise WireError("the message nests too deeply")
    if isinstance(value, list):
        return [_decode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        tags = [k for k in value if isinstance(k, str) and k.startswith("$")]
        if tags:
            if len(tags) != 1 or (tags[0] != "$c" and len(value) != 1):
                raise WireError("a tagged object has one $-key")
            return _decode_tagged(tags[0], value[tags[0]], value, depth)
        return {k: _decode(v, depth + 1) for k, v in value.items()}
    return value


def decode(value: Any) -> Any:
    """The value :func:`encode` made ``value`` from."""
    if not CLASSES:
        _register_store_rows()
    return _decode(value, 0)


def dumps(value: Any) -> bytes:
    """``value`` encoded, as compact UTF-8 JSON."""
    if not CLASSES:
        _register_store_rows()
    return json.dumps(encode(value), separators=(",", ":"), allow_nan=False).encode()


def loads(data: bytes | str) -> Any:
    """Parse JSON text (not yet decoded: see :func:`decode`)."""
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not JSON: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
