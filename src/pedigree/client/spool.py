"""The spool: how a tracked process hands its records to the recording process.

``pedigree run`` makes a spool folder and names it in ``PEDIGREE_SPOOL``. Every process of the run
(the script, and any Python subprocess it starts) appends JSON lines to its own file
``events-<pid>.jsonl``; the recorder reads complete lines as they come and once more at the end.
A file per process means no interleaving and no locking; a line is only read once it ends with a
newline, so a process killed mid-write loses at most that line.

Record types (the ``t`` field): ``hello`` (interpreter facts), ``attach`` (experiment/name from
``start_run``), ``params`` (values and declared names), ``metrics`` (points), ``seed``, ``use`` and
``produce`` (declared files), ``file`` (a file the audit hook saw opened), ``status`` (a failure
inside ``start_run``).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["SpoolReader", "SpoolWriter"]

_FLUSH_LINES = 1000
_FLUSH_SECONDS = 1.0


class SpoolWriter:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._last_flush = time.monotonic()
        self._pid = os.getpid()
        atexit.register(self.flush)

    def write(self, record: dict[str, Any], *, flush: bool = False) -> None:
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
        with self._lock:
            self._lines.append(line)
            due = (
                flush
                or len(self._lines) >= _FLUSH_LINES
                or time.monotonic() - self._last_flush > _FLUSH_SECONDS
            )
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._lines:
                return
            data = "".join(self._lines)
            self._lines.clear()
            self._last_flush = time.monotonic()
            pid = os.getpid()  # after a fork, the child writes a file of its own
            path = os.path.join(self.folder, f"events-{pid}.jsonl")
            try:
                with open(path, "a", encoding="utf-8") as f:
                    f.write(data)
            except OSError:
                # The recorder is gone or the spool was removed: tracking must never break
                # the script it tracks.
                pass


class SpoolReader:
    """Reads the records of every process of a run, each complete line once."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._offsets: dict[str, int] = {}

    def read_new(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        try:
            files = sorted(self.folder.glob("events-*.jsonl"))
        except OSError:
            return records
        for path in files:
            start = self._offsets.get(path.name, 0)
            try:
                with open(path, "rb") as f:
                    f.seek(start)
                    data = f.read()
            except OSError:
                continue
            end = data.rfind(b"\n")
            if end < 0:
                continue
            self._offsets[path.name] = start + end + 1
            for raw in data[: end + 1].splitlines():
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue  # a torn line from a killed process
                if isinstance(record, dict):
                    records.append(record)
        return records
