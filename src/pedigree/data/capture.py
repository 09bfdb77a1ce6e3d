"""Turning what the audit hook saw into the files a run read and wrote.

The hook injected into every Python process of a run (``pedigree/_inject/sitecustomize.py``)
writes ``opens`` records: the paths each process opened, grouped by open flags, the process's
working directory, and the stat of each file just before its first write. This module resolves
them and keeps only project data:

- files inside the project root (``PEDIGREE_PROJECT_ROOT``), and not the spool;
- not under ``.git``, ``.pedigree``, ``__pycache__``, ``site-packages`` or ``dist-packages``, nor
  in a virtualenv or conda environment (a folder holding ``pyvenv.cfg`` or ``conda-meta``);
- not Python source or bytecode (``.py``, ``.pyc``, ``.pyo``, ``.pyi``, ``.pth``): code is
  recorded by code capture (git), not as data;
- not matching a ``[capture] ignore`` glob of the project config (relative to the project root;
  a pattern without ``/`` matches any single path component, as in ``.gitignore``);
- not folders (``os.open`` on a folder, as ``shutil.rmtree`` does).

>>> c = resolve([{"t": "opens", "cwd": "/p", "flags": {"0": ["data/a.csv"]}, "before": {}}],
...             root="/p")
>>> c["/p/data/a.csv"].read, c["/p/data/a.csv"].written
(True, False)
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Captured", "Stat", "resolve"]

SKIP_PARTS = frozenset({".git", ".pedigree", "__pycache__", "site-packages", "dist-packages"})
SKIP_SUFFIXES = (".py", ".pyc", ".pyo", ".pyi", ".pth")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


@dataclass(frozen=True, slots=True)
class Stat:
    """A file's state: what the stat cache is keyed by."""

    size: int
    mtime_ns: int
    dev: int
    ino: int
    ctime_ns: int = -1  # -1: not known (a record from before ctime was kept): never trusted


@dataclass
class Captured:
    """What the processes of a run did with one file."""

    path: str  # absolute, normalised
    read: bool = False  # opened for reading without truncating it
    written: bool = False  # opened for writing, created, or the target of a rename
    before: Stat | None = None  # its state just before the run first wrote it, if it existed


def _stat(value: Any) -> Stat | None:
    if isinstance(value, list) and len(value) in (4, 5) and all(type(v) is int for v in value):
        return Stat(*value)
    return None


def _bits(flags: int) -> tuple[bool, bool] | None:
    """(read, written) for open flags; None for a folder."""
    if flags & _DIRECTORY:
        return None
    writes = bool(flags & _WRITE_FLAGS)
    reads = (flags & os.O_ACCMODE) != os.O_WRONLY and not flags & os.O_TRUNC
    return reads, writes


class _Filter:
    def __init__(self, root: str, spool: str | None, ignore: Sequence[str]) -> None:
        self.root = os.path.normpath(root)
        self.prefix = self.root.rstrip(os.sep) + os.sep
        self.spool = os.path.normpath(spool) + os.sep if spool else None
        self.ignore = [p.strip().strip("/") for p in ignore if p.strip().strip("/")]
        self._dirs: dict[str, bool] = {}

    def _dir_kept(self, folder: str) -> bool:
        known = self._dirs.get(folder)
        if known is not None:
            return known
        venv = os.path.exists(os.path.join(folder, "pyvenv.cfg")) or os.path.isdir(
            os.path.join(folder, "conda-meta")
        )
        in_spool = self.spool is not None and (folder + os.sep).startswith(self.spool)
        if folder == self.root:
            kept = True
        elif not folder.startswith(self.prefix) or in_spool or venv:
            kept = False
        else:
            kept = os.path.basename(folder) not in SKIP_PARTS and self._dir_kept(
                os.path.dirname(folder)
            )
        self._dirs[folder] = kept
        return kept

    def _ignored(self, rel: str) -> bool:
        parts = rel.split("/")
        for pat in self.ignore:
            if "/" not in pat and any(fnmatch.fnmatchcase(p, pat) for p in parts):
                return True
            for i in range(1, len(parts) + 1):
                if fnmatch.fnmatchcase("/".join(parts[:i]), pat):
                    return True
        return False

    def keep(self, path: str) -> bool:
        if not path.startswith(self.prefix) or path.endswith(SKIP_SUFFIXES):
            return False
        if not self._dir_kept(os.path.dirname(path)):
            return False
        rel = path[len(self.prefix) :].replace(os.sep, "/")
        return not (self.ignore and self._ignored(rel))


def resolve(
    records: Iterable[dict[str, Any]],
    *,
    root: str | os.PathLike[str],
    spool: str | os.PathLike[str] | None = None,
    ignore: Sequence[str] = (),
) -> dict[str, Captured]:
    """Merge ``opens`` records of every process into one :class:`Captured` per project file."""
    keep = _Filter(os.fspath(root), os.fspath(spool) if spool else None, ignore)
    out: dict[str, Captured] = {}
    verdicts: dict[str, bool] = {}

    def entry(path: str) -> Captured | None:
        verdict = verdicts.get(path)
        if verdict is None:
            verdict = verdicts[path] = keep.keep(path) and not os.path.isdir(path)
        if not verdict:
            return None
        c = out.get(path)
        if c is None:
            c = out[path] = Captured(path)
        return c

    for rec in records:
        if rec.get("t") != "opens":
            continue
        cwd = rec.get("cwd")
        if not isinstance(cwd, str) or not os.path.isabs(cwd):
            continue

        def absolute(given: Any, cwd: str = cwd) -> str | None:
            if not isinstance(given, str) or not given:
                return None
            return os.path.normpath(os.path.join(cwd, given))

        flags_map = rec.get("flags")
        if isinstance(flags_map, dict):
            for key, paths in flags_map.items():
                try:
                    bits = _bits(int(key))
                except ValueError:
                    continue
                if bits is None or not isinstance(paths, list):
                    continue
                reads, writes = bits
                for given in paths:
                    path = absolute(given)
                    c = entry(path) if path is not None else None
                    if c is not None:
                        c.read |= reads
                        c.written |= writes
        before = rec.get("before")
        if isinstance(before, dict):
            for given, value in before.items():
                path = absolute(given)
                st = _stat(value)
                c = out.get(path) if path is not None else None
                if c is not None and st is not None and c.before is None:
                    c.before = st
    return out
