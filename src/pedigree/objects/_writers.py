"""Temporary files left by a writer that died (``kill -9`` during ``data add``) are removed by
the next writer on the same machine.

Every process that writes to a local object store leaves a marker, ``<root>/.writers/<tag>``
(``tag`` = host and pid), and names its temporary files ``.tmp-<tag>-...``. A process about to
write first looks at the markers: one of this host whose process is gone means that writer
died, and its temporary files (found by their tag: nobody else's are touched, in progress or
not) are removed with its marker. A clean exit removes the marker, so the walk over the store's
folders is only paid after a crash. Markers of other hosts are left alone: their pids mean
nothing here.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "ab").mkdir()
>>> _ = (root / ".writers").mkdir(), (root / ".writers" / f"{HOST}-999999999").touch()
>>> _ = (root / "ab" / f".tmp-{HOST}-999999999-x").touch(), (root / "ab" / "cdef").touch()
>>> sweep_dead(root)
1
>>> sorted(p.name for p in (root / "ab").iterdir()), list((root / ".writers").iterdir())
(['cdef'], [])
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import socket
from pathlib import Path

from pedigree.procs import pid_alive

__all__ = ["HOST", "claim", "sweep_dead", "tag"]

MARKERS = ".writers"
HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "localhost"


def tag() -> str:
    """This process's tag (the pid is read each time: a forked child has its own)."""
    return f"{HOST}-{os.getpid()}"


def sweep_dead(root: Path) -> int:
    """Remove the temporary files of this host's dead writers; the number of files removed."""
    removed = 0
    try:
        markers = list(os.scandir(root / MARKERS))
    except OSError:
        return 0
    for marker in markers:
        host, _, pid = marker.name.rpartition("-")
        if host != HOST or not pid.isdigit() or pid_alive(int(pid)):
            continue
        prefix = f".tmp-{marker.name}-"
        with contextlib.suppress(OSError):
            for sub in os.scandir(root):
                if len(sub.name) != 2 or not sub.is_dir(follow_symlinks=False):
                    continue
                for entry in os.scandir(sub.path):
                    if entry.name.startswith(prefix):
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
                            removed += 1
            os.unlink(marker.path)
    return removed


def claim(root: Path) -> None:
    """Before a process's first write: clean up after dead writers, then leave our marker."""
    sweep_dead(root)
    marker = root / MARKERS / tag()
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        return  # a read-only or full store: the write itself will say so
    atexit.register(_release, marker)


def _release(marker: Path) -> None:
    with contextlib.suppress(OSError):
        marker.unlink()
