"""The layers of docs/architecture.md, enforced: what may import what.

faces (cli, server, web) -> facade (api) -> domain -> context -> backends (store, objects) ->
primitives. The imports are read from the source (every ``import`` statement, at module level,
inside functions and under ``TYPE_CHECKING``), so a lazy import cannot hide a wrong dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pedigree"

DOMAIN = (
    "capture",
    "client",
    "data",
    "lineage",
    "audit",
    "sweep",
    "reproduce",
    "export",
    "report",
    "tracking",
    "selection",
    "models",
    "identity",
    "interop",
)
BACKENDS = ("store", "objects")
FACES = ("cli", "server", "ui", "web")


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py")) if "migrations" not in p.parts}


def _imports(
    path: Path, *, module_level_only: bool = False, name: str | None = None
) -> Iterator[str]:
    """Every module an import statement in ``path`` names (``from a import b`` names ``a`` and,
    when ``a.b`` is a module, ``a.b``)."""
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    nodes = _top_level(tree.body) if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    yield f"{target}.{alias.name}"


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import time: the module body, and the bodies of its ``if``/``try``
    blocks, except ``if TYPE_CHECKING:``."""
    for node in body:
        if isinstance(node, ast.If):
            test = node.test
            if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                yield from _top_level(node.orelse)
                continue
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _top_level(block)
            for handler in node.handlers:
                yield from _top_level(handler.body)
        else:
            yield node


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == f"pedigree.{p}" or module.startswith(f"pedigree.{p}.") for p in packages)


def _violations(sources: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for name, path in MODULES.items():
        if not _in(name, sources):
            continue
        for target in _imports(path):
            if _in(target, forbidden):
                found.append(f"{name} imports {target}")
    return sorted(set(found))


def test_the_domain_and_the_backends_never_import_the_facade_or_a_face() -> None:
    assert _violations((*DOMAIN, *BACKENDS), ("api", *FACES)) == []


def test_backends_know_no_domain() -> None:
    assert _violations(BACKENDS, (*DOMAIN, "context")) == []


def test_only_the_store_and_the_audit_name_tables() -> None:
    found = [
        f"{name} imports pedigree.store.schema"
        for name, path in MODULES.items()
        if not _in(name, ("store", "audit"))
        and any(t == "pedigree.store.schema" for t in _imports(path))
    ]
    assert found == []


def test_faces_reach_the_domain_only_through_the_facade() -> None:
    """A face parses, calls the Tracker and renders; it may import value types and renderers,
    never the modules that perform operations on the stores."""
    operations = ("pedigree.store.sql", "pedigree.store.reader", "pedigree.store.reads")
    found = [
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if _in(name, FACES)
        for target in _imports(path)
        if target in operations or target.startswith("pedigree.store.reads.")
    ]
    assert found == []


def test_no_import_cycles_at_import_time() -> None:
    graph = {
        name: {
            t
            for t in _imports(path, module_level_only=True)
            if t in MODULES and t != name and not name.startswith(t + ".")
        }
        for name, path in MODULES.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from pedigree.api import Tracker\n", {"pedigree.api"}),
        ("def f():\n    from pedigree.api import Tracker\n", {"pedigree.api"}),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pedigree.api\n",
            {"typing", "pedigree.api"},
        ),
    ],
)
def test_the_checker_sees_every_kind_of_import(
    tmp_path: Path, source: str, expected: set[str]
) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert set(_imports(path, name="pedigree.data.probe")) == expected
