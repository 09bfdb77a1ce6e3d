"""A lock of a recorded environment's packages, with the hashes the installer left behind.

A run records its packages as ``(name, version)`` pairs (:mod:`pedigree.capture.environment`).
When a bundle is written, the interpreter the run used is usually still there; for each recorded
package whose installed version is still the recorded one, this adds what the installation
says about its bytes:

- ``hashes``: the archive hashes the installer recorded (``direct_url.json``'s
  ``archive_info``, written by pip for a wheel or sdist installed from a file or URL); pip keeps
  none for a package from an index, so this is often empty;
- ``record``: ``sha256:`` of the distribution's ``RECORD`` file, which lists the sha256 of every
  file the installation wrote: a fingerprint another machine can compare with its own install;
- ``installer``: what installed it (``INSTALLER``: pip, uv, conda...).

A package installed at another version now, or not found, is listed with ``found: false``. The
lock is what the bundle's writer found, covered by the manifest's digests but by no audit event
(the chain records names and versions only).

>>> lock = package_lock({"executable": sys.executable, "packages": [["blake3", "0"]]})
>>> lock[0]["name"], lock[0]["found"]
('blake3', False)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["package_lock"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _sys_path(executable: str | None) -> list[str] | None:
    """The ``sys.path`` of the recorded interpreter: this one's, or asked of it."""
    if not executable or os.path.realpath(executable) == os.path.realpath(sys.executable):
        return list(sys.path)
    if not os.access(executable, os.X_OK):
        return None
    try:
        proc = subprocess.run(
            [executable, "-I", "-c", "import json, sys; print(json.dumps(sys.path))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        paths = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) else None


def _hashes(info: Path) -> dict[str, str]:
    try:
        direct = json.loads((info / "direct_url.json").read_text())
    except (OSError, ValueError):
        return {}
    archive = (direct or {}).get("archive_info") or {} if isinstance(direct, dict) else {}
    found = dict(archive.get("hashes") or {})
    if not found and isinstance(archive.get("hash"), str) and "=" in archive["hash"]:
        algo, _, value = archive["hash"].partition("=")
        found[algo] = value
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}


def _installed(paths: list[str]) -> dict[tuple[str, str], Path]:
    """Every ``NAME-VERSION.dist-info`` folder along ``paths`` by (normalised name, version),
    the first one winning as on ``sys.path``. Read from the folder names (which installers
    write from the metadata), not by parsing hundreds of METADATA files."""
    out: dict[tuple[str, str], Path] = {}
    for folder in paths:
        try:
            entries = sorted(os.scandir(folder or "."), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(".dist-info"):
                continue
            name, sep, version = entry.name[: -len(".dist-info")].partition("-")
            if sep:
                out.setdefault((_norm(name), version), Path(entry.path))
    return out


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None


def package_lock(
    env: dict[str, Any], *, paths: list[str] | None = None
) -> list[dict[str, Any]] | None:
    """The recorded packages of ``env`` with what their installation says about their bytes
    (looked up along ``paths``, by default the recorded interpreter's ``sys.path``); None when
    that interpreter is not on this machine any more."""
    paths = _sys_path(env.get("executable")) if paths is None else paths
    if paths is None:
        return None
    installed = _installed(paths)
    out: list[dict[str, Any]] = []
    for name, version, *_ in env.get("packages") or []:
        info = installed.get((_norm(name), version))
        item: dict[str, Any] = {"name": name, "version": version, "found": False}
        if info is not None:
            record = _read(info / "RECORD")
            item.update(
                found=True,
                installer=(_read(info / "INSTALLER") or "").strip() or None,
                hashes=_hashes(info),
                record=(
                    "sha256:"
                    + hashlib.sha256(record.encode("utf-8", "surrogateescape")).hexdigest()
                    if record is not None
                    else None
                ),
            )
        out.append(item)
    return out
