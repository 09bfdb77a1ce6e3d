"""The spool: how a tracked process hands its records to the recording process.

``pedigree run`` makes a spool folder and names it in ``PEDIGREE_SPOOL``. Every process of the run
(the script, and any Python subprocess it starts) appends JSON lines to its own file
``events-<pid>.jsonl``; the recorder reads complete lines as they come and once more at the end.
A file per process means no interleaving and no locking; a line is only read once it ends with a
newline, so a process killed mid-write loses at most that line.

Record types (the ``t`` field): ``hello`` (interpreter facts), ``attach`` (experiment/name from
``start_run``), ``params`` (values and declared names), ``metrics`` (points), ``seed``, ``use`` and
``produce`` (declared files), ``model`` (an output to register as a model version), ``tags``
(tags set by ``start_run(tags=...)`` or ``run.set_tags``), ``opens``
(the files the audit hook saw a process open, written by
``pedigree/_inject/sitecustomize.py`` to ``events-<pid>-files.jsonl``), ``status`` (a failure
inside ``start_run``). The recorder turns them into events (``pedigree.tracking.recorder``).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["SpoolReader", "SpoolSink", "SpoolWriter"]

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


class RecordSink:
    """A :class:`~pedigree.client.run.Sink` that says each call as a record (the spool's
    format, which the recorder reads); subclasses say where records go (:meth:`emit`) and how
    a run ends."""

    def emit(self, record: dict[str, Any]) -> None:
        raise NotImplementedError

    def log_params(self, params: dict[str, Any]) -> None:
        self.emit({"t": "params", "values": params})

    def log_metrics(self, points: list[list[Any]]) -> None:
        self.emit({"t": "metrics", "points": points})

    def set_seed(self, seed: int) -> None:
        self.emit({"t": "seed", "seed": seed})

    def declare_io(self, role: str, path: str) -> None:
        self.emit({"t": "use" if role == "input" else "produce", "path": path})

    def update(self, fields: dict[str, Any]) -> None:
        self.emit({"t": "attach", **fields})

    def register_model(self, name: str, path: str) -> None:
        self.emit({"t": "model", "name": name, "path": path})

    def set_tags(self, tags: dict[str, str]) -> None:
        self.emit({"t": "tags", "values": tags})


class SpoolSink(RecordSink):
    """Hands a run's records to the ``pedigree run`` recorder through the spool (the
    :class:`~pedigree.client.run.Sink` of a script run under ``pedigree run``)."""

    def __init__(self, writer: SpoolWriter) -> None:
        self.writer = writer

    def emit(self, record: dict[str, Any]) -> None:
        self.writer.write(record)

    def finish(self, status: str, error: str | None) -> None:
        # The recorder ends the run when the process exits; a failure seen here is reported so
        # that a script which catches the exception and exits 0 is still recorded as failed.
        if status != "finished":
            self.writer.write({"t": "status", "status": status, "error": error})
        self.writer.flush()


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
