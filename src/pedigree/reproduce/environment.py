"""The software environment of a reproduction: check it against the record, or rebuild it.

``compare_environments`` reports every difference between two recorded environments (Python
version, packages added, removed or at another version). ``rebuild`` makes a virtualenv with the
recorded packages at their recorded versions, installed with pip (``--no-deps``: the record lists
the whole environment, so nothing else is resolved); pip's own settings apply, so
``PIP_INDEX_URL``, ``PIP_FIND_LINKS`` or ``PIP_NO_INDEX`` choose where packages come from.
Rebuilt environments are cached by their package list under ``.pedigree/cache/envs``.

>>> recorded = {"digest": "blake3:01", "python": "3.11.7", "packages": [["numpy", "1.26.4"]]}
>>> here = {"digest": "blake3:02", "python": "3.11.7", "packages": [["numpy", "2.0.0"]]}
>>> compare_environments(recorded, here)["differences"]
['package numpy 1.26.4 was recorded, 2.0.0 is installed']

Rebuilding installs packages (``python, notes = rebuild(recorded, cache_dir=...)``), so it is
shown by ``tests/reproduce``, not here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pedigree.reproduce.workspace import CannotReproduce

__all__ = ["SKIPPED_PACKAGES", "compare_environments", "rebuild", "uses_python"]

# Never installed from a registry: Pedigree reaches the child through its own injected path.
SKIPPED_PACKAGES = frozenset({"pedigree"})
_PIP_TIMEOUT = 1800


def compare_environments(
    original: dict[str, Any] | None, reproduced: dict[str, Any] | None
) -> dict[str, Any]:
    """Differences between two environment records (``show --json``'s ``environment``)."""
    from pedigree.capture.environment import package_diff

    a, b = original or {}, reproduced or {}
    packages = package_diff(a.get("packages") or [], b.get("packages") or [])
    out: dict[str, Any] = {
        "original": a.get("digest"),
        "reproduced": b.get("digest"),
        "python": [a.get("python"), b.get("python")],
        "packages": packages,
        "same": bool(a.get("digest")) and a.get("digest") == b.get("digest"),
        "differences": [],
    }
    diffs: list[str] = out["differences"]
    if not a.get("digest"):
        diffs.append("the original run recorded no Python environment")
    elif not b.get("digest"):
        diffs.append("the reproduction recorded no Python environment")
    if a.get("python") and b.get("python") and a["python"] != b["python"]:
        diffs.append(f"Python {a['python']} was recorded, {b['python']} ran")
    diffs += [f"package {n} {v} is installed here, not in the record" for n, v in packages["added"]]
    diffs += [
        f"package {n} {v} is in the record, not installed here" for n, v in packages["removed"]
    ]
    diffs += [
        f"package {n} {va} was recorded, {vb} is installed" for n, va, vb in packages["changed"]
    ]
    return out


def _version_of(python: str) -> str | None:
    """``major.minor`` of the interpreter ``python``, or None when it does not run."""
    try:
        proc = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _interpreter(version: str | None, executable: str | None = None) -> tuple[str, list[str]]:
    """A Python of the recorded major.minor version, and notes when there is none.

    Candidates are checked by running them: a ``python3.9`` on PATH may be a shim (pyenv)
    that only says the version is not selected. The recorded interpreter is tried too.
    """
    if not version:
        return sys.executable, ["no Python version was recorded; using this interpreter"]
    major_minor = ".".join(version.split(".")[:2])
    if f"{sys.version_info.major}.{sys.version_info.minor}" == major_minor:
        return sys.executable, []
    candidates = [shutil.which(f"python{major_minor}"), executable]
    for candidate in dict.fromkeys(c for c in candidates if c):
        if _version_of(candidate) == major_minor:
            return candidate, []
    raise CannotReproduce(
        f"Python {major_minor} (recorded: {version}) is not installed here: the environment "
        "cannot be rebuilt"
    )


def _requirements(env: dict[str, Any]) -> tuple[list[str], list[str]]:
    reqs, notes = [], []
    for name, version in env.get("packages") or []:
        if name in SKIPPED_PACKAGES:
            notes.append(f"{name} {version} is not installed: the run receives Pedigree's SDK")
            continue
        reqs.append(f"{name}=={version}")
    return reqs, notes


def rebuild(env: dict[str, Any], *, cache_dir: Path) -> tuple[Path, list[str]]:
    """A virtualenv holding exactly the recorded packages; returns its python and notes."""
    base, notes = _interpreter(env.get("python"), env.get("executable"))
    reqs, skipped = _requirements(env)
    notes += skipped
    from pedigree.digest import hash_bytes

    key = hash_bytes(json.dumps([env.get("python"), sorted(reqs)]).encode()).hex[:20]
    final = cache_dir / "envs" / key
    marker = final / "pedigree-env.json"
    python = final / "bin" / "python"
    if marker.is_file() and python.exists():
        return python, [*notes, f"reused the environment rebuilt earlier in {final}"]
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{key}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        proc = subprocess.run(
            [base, "-m", "venv", str(tmp)], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise CannotReproduce(f"could not create a virtualenv: {_last(proc.stderr)}")
        if reqs:
            proc = subprocess.run(
                [
                    str(tmp / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--quiet",
                    "--no-deps",
                    *reqs,
                ],
                capture_output=True,
                text=True,
                timeout=_PIP_TIMEOUT,
                check=False,
            )
            if proc.returncode != 0:
                raise CannotReproduce(
                    f"pip could not install the recorded packages: {_last(proc.stderr)}"
                )
        # Only bin/python is used (never the scripts, whose shebangs name the folder), so the
        # finished environment can be moved into place in one rename.
        (tmp / "pedigree-env.json").write_text(
            json.dumps({"python": env.get("python"), "requirements": reqs})
        )
        try:
            os.rename(tmp, final)
        except OSError:
            if not marker.is_file():  # not another reproduction that finished first
                raise
    except subprocess.TimeoutExpired as exc:
        raise CannotReproduce(f"installing the recorded packages timed out: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return python, notes


def _last(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"


def uses_python(argv: list[str], recorded_executable: str | None) -> bool:
    """Whether ``argv`` starts a Python interpreter (so a rebuilt one can take its place)."""
    if not argv:
        return False
    first = argv[0]
    if recorded_executable and os.path.realpath(first) == os.path.realpath(recorded_executable):
        return True
    name = os.path.basename(first)
    return name == "python" or (name.startswith("python") and name[6:].replace(".", "").isdigit())
