"""The file hook of an in-process run: ``pedigree.start_run()`` in a script, a REPL or a notebook.

Under ``pedigree run`` every Python process gets the injected hook
(``pedigree/_inject/sitecustomize.py``). A run a process records itself gets the same view of
its own file access from this module: an audit hook (``sys.addaudithook``) that notes what
Python opens (``open``, ``os.open``, ``io.open_code``), rename targets, the database files of
``sqlite3.connect`` and the programs the process starts, and hands them to the active run as the
same ``opens`` records the injected hook writes, so one path (:mod:`pedigree.data.capture`)
turns them into inputs and outputs.

An audit hook cannot be removed, so it is installed once per process and does nothing while no
run listens: :func:`listen` attaches a :class:`Listener` for the life of a run and
:meth:`Listener.close` detaches it. Several runs at once (threads) each see everything the
process opens while they are active. Pedigree's own threads (``pedigree-*``: code capture,
heartbeats) are not the script's and are ignored.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> listener = listen()
>>> with open(os.path.join(folder, "x.csv"), "w") as f:
...     _ = f.write("a")
>>> records = listener.close()
>>> [p for p in records[0]["flags"][str(os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC)]
...  if p.startswith(folder)] == [os.path.join(folder, "x.csv")]
True
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

__all__ = ["Listener", "listen"]

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_RENAME_FLAGS = os.O_WRONLY | os.O_CREAT
_SPAWN_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn")
# Modules that open files in native code (the injected hook's list).
NATIVE_IO = (
    "h5py",
    "polars",
    "tables",
    "netCDF4",
    "duckdb",
    "cv2",
    "rasterio",
    "fiona",
    "soundfile",
    "lmdb",
    "pyreadstat",
    "fastavro",
)

_lock = threading.Lock()
_listeners: list[Listener] = []
_installed = False


class Listener:
    """What the process opened while one run listened."""

    def __init__(self) -> None:
        self._batches: list[tuple[str, list[tuple[Any, int]]]] = []
        self._events: list[tuple[Any, int]] = []
        self._before: dict[str, list[int]] = {}
        self._spawned: list[list[Any]] = []
        self._closed = False

    def _open(self, path: Any, flags: int) -> None:
        self._events.append((path, flags))
        if flags & _WRITE_FLAGS and isinstance(path, str):
            where = os.path.abspath(path)
            if where in self._before:
                return
            try:
                s = os.stat(where)
            except OSError:
                return
            self._before[where] = [s.st_size, s.st_mtime_ns, s.st_dev, s.st_ino, s.st_ctime_ns]

    def _chdir(self) -> None:
        # Relative paths so far are relative to the folder being left.
        if self._events:
            self._batches.append((os.getcwd(), self._events))
            self._events = []

    def close(self) -> list[dict[str, Any]]:
        """Stop listening; the ``opens`` records of what was seen (with ``native`` and
        ``spawned``, as the injected hook writes them)."""
        with _lock:
            if self in _listeners:
                _listeners.remove(self)
        if self._closed:
            return []
        self._closed = True
        self._chdir()
        records: list[dict[str, Any]] = []
        for cwd, events in self._batches:
            by_flags: dict[str, list[str]] = {}
            for path, flags in dict.fromkeys(events):
                by_flags.setdefault(str(flags), []).append(path)
            records.append(
                {"t": "opens", "pid": os.getpid(), "cwd": cwd, "flags": by_flags, "before": {}}
            )
        if not records:
            records.append(
                {"t": "opens", "pid": os.getpid(), "cwd": os.getcwd(), "flags": {}, "before": {}}
            )
        records[-1]["before"] = dict(self._before)
        records[-1]["native"] = [m for m in NATIVE_IO if m in sys.modules]
        records[-1]["spawned"] = list(self._spawned)
        return records


def listen() -> Listener:
    """Start collecting what this process opens for a run (installing the hook once)."""
    global _installed
    listener = Listener()
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True
        _listeners.append(listener)
    return listener


def _text(path: Any) -> str | None:
    if isinstance(path, str):
        return path
    if isinstance(path, bytes) or hasattr(path, "__fspath__"):
        return os.fsdecode(os.fspath(path))
    return None  # a descriptor


def _sqlite_path(database: Any) -> str | None:
    path = _text(database)
    if not path or path == ":memory:":
        return None
    if path.startswith("file:"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(path)
        if "mode=memory" in parts.query or not parts.path:
            return None
        return unquote(parts.path)
    return path


def _spawned(event: str, args: Any) -> str:
    if event == "subprocess.Popen":
        argv = args[1]
        argv = [argv] if isinstance(argv, (str, bytes)) else list(argv)
        exe = args[0] if args[0] is not None else (argv[0] if argv else "")
    elif event == "os.system":
        exe = "/bin/sh"
    elif event == "os.spawn":
        exe = args[1]
    else:
        exe = args[0]
    return _text(exe) or "?"


def _hook(event: str, args: Any) -> None:
    if not _listeners:
        return
    # Nothing here may raise: it would fail the script's own open().
    try:
        if threading.current_thread().name.startswith("pedigree-"):
            return
        listeners = list(_listeners)
        if event == "open":
            path, flags = _text(args[0]), args[2]
            if path is None or not isinstance(flags, int):
                return
            for listener in listeners:
                listener._open(path, flags)
        elif event == "os.rename":
            if args[3] not in (None, -1):
                return
            dst = _text(args[1])
            if dst is not None:
                for listener in listeners:
                    listener._open(dst, _RENAME_FLAGS)
        elif event == "sqlite3.connect":
            db = _sqlite_path(args[0])
            if db is not None:
                for listener in listeners:
                    listener._open(db, os.O_RDWR)
        elif event in ("os.chdir", "os.fchdir"):
            for listener in listeners:
                listener._chdir()
        elif event in _SPAWN_EVENTS:
            exe = _spawned(event, args)
            for listener in listeners:
                listener._spawned.append([exe, False])
    except Exception:
        pass
