"""Import and CLI start: ``import pedigree`` vs ``import mlflow``; ``pedigree --version`` vs
``mlflow --version`` and ``dvc --version``.

Each sample is a fresh process (wall clock from spawn to exit), so the figure is what a user
waits for. The interpreter's own start (``python -c pass``) is shown as the floor.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .env import tool, version
from .harness import Case, Side, alternate, expect

WORKLOAD = "startup"


def proc(argv: list[str], cwd: Path) -> Callable[[], str]:
    """A side's ``run``: start ``argv``, wait, return its stdout (a failure raises)."""

    def run() -> str:
        out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {out.returncode}: {out.stderr[-500:]}")
        return out.stdout

    return run


def prints(expected: str) -> Callable[[str], None]:
    def check(stdout: str) -> None:
        expect(expected in stdout, f"expected {expected!r} in the output, got {stdout[:200]!r}")

    return check


def import_side(module: str, cwd: Path, role: str = "anchor") -> Side:
    code = f"import {module}, sys; sys.stdout.write({module}.__version__)"
    return Side(
        f"import {module}",
        run=proc([sys.executable, "-c", code], cwd),
        check=prints(version(module) or "?"),
        role=role,
    )


def version_side(name: str, cwd: Path, role: str = "anchor") -> Side:
    exe = tool(name)
    if exe is None:
        raise RuntimeError(f"{name} is not installed next to {sys.executable}")
    return Side(
        f"{name} --version",
        run=proc([exe, "--version"], cwd),
        check=prints(version(name) or "?"),
        role=role,
    )


def run(work: Path, *, pairs: int, warmup: int, **_: object) -> list[Case]:
    cwd = work / "startup"  # no repository here: DVC has nothing to look at
    cwd.mkdir(parents=True, exist_ok=True)
    floor = Side("python -c pass", run=proc([sys.executable, "-c", "pass"], cwd), role="reference")
    imports = [import_side("pedigree", cwd, role="subject"), import_side("mlflow", cwd), floor]
    versions = [
        version_side("pedigree", cwd, role="subject"),
        version_side("mlflow", cwd),
        version_side("dvc", cwd),
    ]
    return [
        alternate(WORKLOAD, "import", imports, pairs=pairs, warmup=warmup, unit="process"),
        alternate(WORKLOAD, "cli --version", versions, pairs=pairs, warmup=warmup, unit="process"),
    ]
