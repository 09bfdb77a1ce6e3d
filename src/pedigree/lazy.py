"""Names a package re-exports, imported when first asked for (PEP 562).

A package that re-exports the names of its submodules makes every importer of any one of them
pay for all of them; a read command of the CLI imports dozens of packages that way (issue 18).
Such a package lists its names and their modules, and defines::

    def __getattr__(name: str) -> Any:
        return lazy_attribute(__name__, _LAZY, name)

>>> import types, sys
>>> pkg = types.ModuleType("pkg_demo")
>>> sys.modules["pkg_demo"] = pkg
>>> lazy_attribute("pkg_demo", {"dumps": "json"}, "dumps")("x")
'"x"'
>>> "dumps" in vars(pkg)  # kept: the next access does not come here
True
>>> lazy_attribute("pkg_demo", {}, "nope")
Traceback (most recent call last):
AttributeError: module 'pkg_demo' has no attribute 'nope'
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["lazy_attribute"]


def lazy_attribute(package: str, table: Mapping[str, str], name: str) -> Any:
    """``name`` from the module ``table`` maps it to, kept in ``package`` for the next access."""
    module = table.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    setattr(sys.modules[package], name, value)
    return value
