"""File capture: how a run's file access is traced, and how complete that capture is.

Two ways to see the files a run reads and writes (``pedigree run --trace``):

- ``python``: the audit hook that ``pedigree run`` injects into every Python process of the run
  (``pedigree/_inject/sitecustomize.py``) sees what Python opens (``open``, ``pathlib``,
  ``os.open``, ``io``, and everything built on them: pandas CSV, numpy, pickle, joblib, zipfile,
  shutil...), the database files of ``sqlite3.connect``, and pyarrow's Parquet/Feather/CSV/ORC
  readers and writers, which it wraps. It cannot see files opened by native code on its own
  (h5py, polars, ...) nor by programs that are not Python (``sh``, ``awk``, ``Rscript``): a run
  that loaded such a module or started such a program is marked ``partial``, with the reason.
- ``os``: the command runs under ``strace -f --seccomp-bpf`` tracing ``openat``, ``open``,
  ``creat`` and the renames of every process of the run, whatever opens the file. The Python
  hook still runs beside it (it knows what a file held before the run rewrote it).
- ``auto``: ``os`` where strace is installed and allowed to trace (ptrace may be forbidden in a
  container), else ``python`` with a reason saying why.

Every run records the mark ``capture.files``: ``complete`` (every process of the run was traced
in a way that sees all its file access), ``partial`` (some access may be missing: ``reasons``
says what) or ``off`` (nothing was traced: a command that is not Python under ``python``).
``pedigree run --strict-capture`` (or ``[capture] strict = true``) fails a run whose capture is
not complete, with exit code :data:`STRICT_EXIT_CODE`.

>>> mark = assess(trace="python", records=[{"t": "opens", "native": ["h5py"]}],
...               hellos=[{"pid": 7}], command_pid=7, argv=["python", "x.py"])
>>> mark.files, mark.reasons
('partial', ('process loaded extension modules that do their own I/O: h5py',))
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pedigree.errors import InvalidInput

__all__ = [
    "COMPLETE",
    "OFF",
    "PARTIAL",
    "STRICT_EXIT_CODE",
    "TRACE_MODES",
    "FileCapture",
    "assess",
    "choose_trace",
    "os_tracer_problem",
    "parse_strace",
    "strace_argv",
]

TRACE_MODES = ("auto", "python", "os")
COMPLETE, PARTIAL, OFF = "complete", "partial", "off"
# `pedigree run --strict-capture`: the command ran, but what it read or wrote may be missing.
STRICT_EXIT_CODE = 65
TRACED_SYSCALLS = "openat,open,creat,rename,renameat,renameat2,unlink,unlinkat"
_MAX_CHILDREN_NAMED = 5


@dataclass(frozen=True)
class FileCapture:
    """The completeness mark of a run's file capture."""

    files: str  # complete | partial | off
    reasons: tuple[str, ...] = ()
    trace: str = "python"  # python | os | in-process

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "reasons": list(self.reasons), "trace": self.trace}


@dataclass(frozen=True)
class TraceChoice:
    """The mode a run is traced in, and why not the one asked for (``auto`` without strace)."""

    mode: str  # python | os
    fallback: str | None = None
    strace: str | None = field(default=None, repr=False)


def project_settings(config: Mapping[str, Any]) -> tuple[str, bool]:
    """``[capture] trace`` (default ``python``) and ``[capture] strict`` (default false)."""
    section = config.get("capture") or {}
    trace = str(section.get("trace") or "python")
    if trace not in TRACE_MODES:
        raise InvalidInput(f"[capture] trace = {trace!r}: use one of {', '.join(TRACE_MODES)}")
    return trace, bool(section.get("strict", False))


_probed: dict[str, str | None] = {}


def os_tracer_problem() -> str | None:
    """None when strace is installed and may trace here; else why not (checked once)."""
    exe = shutil.which("strace")
    if exe is None:
        return "strace is not installed"
    if exe in _probed:
        return _probed[exe]
    try:
        proc = subprocess.run(
            [exe, "-f", "--seccomp-bpf", "-qq", "-e", "trace=openat", "-o", os.devnull, "true"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        problem = None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["exit code " + str(proc.returncode)])[-1]
            problem = f"strace cannot trace here ({last.strip()})"
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = f"strace cannot trace here ({exc})"
    _probed[exe] = problem
    return problem


def choose_trace(asked: str) -> TraceChoice:
    """Resolve ``auto``; ``os`` without a working strace is an error (one line)."""
    if asked not in TRACE_MODES:
        raise InvalidInput(f"--trace {asked}: use one of {', '.join(TRACE_MODES)}")
    if asked == "python":
        return TraceChoice("python")
    problem = os_tracer_problem()
    if problem is None:
        return TraceChoice("os", strace=shutil.which("strace"))
    if asked == "os":
        raise InvalidInput(f"--trace os: {problem}; use --trace python or auto")
    return TraceChoice("python", fallback=problem)


def strace_argv(strace: str, log: str | os.PathLike[str]) -> list[str]:
    """The prefix that runs a command under strace, logging the traced calls to ``log``.

    ``--seccomp-bpf`` stops the tracee only at the traced calls; ``-z`` logs successful calls
    only (a Python start-up probes hundreds of paths that do not exist); ``-y`` prints the path
    behind each descriptor (the file an ``openat`` opened, absolute and resolved, and the
    process's working folder as ``AT_FDCWD``); ``-X raw`` prints the open flags as numbers.
    """
    return [
        strace,
        "-f",
        "--seccomp-bpf",
        "-qq",
        "-z",
        "-y",
        "-X",
        "raw",
        "-e",
        "signal=none",
        "-e",
        f"trace={TRACED_SYSCALLS}",
        "-o",
        os.fspath(log),
        "--",
    ]


# -- the strace log -------------------------------------------------------------------------

_LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)(?:<(.*)>)?")
# The common case, parsed in one match: `PID openat(DIRFD<dir>, "path", FLAGS[, MODE]) = FD<path>`.
_OPENAT = re.compile(
    r'^(\d+)\s+openat\((-?\d+)(?:<((?:[^>\\]|\\.)*)>)?, "((?:[^"\\]|\\.)*)", (0x[0-9a-f]+|\d+)'
    r"(?:, \d+)?\)\s+=\s+(\d+)(?:<(.*)>)?$"
)
_UNFINISHED = re.compile(r"^(\d+)\s+(.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_DIRFD = re.compile(r"^-?\d+(?:<(.*)>)?$")
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)")
_SIMPLE = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"v": b"\v", b"f": b"\f", b'"': b'"'}
_RENAME_FLAGS = os.O_WRONLY | os.O_CREAT
_CREAT_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def _unescape(text: str) -> str:
    """A string as strace prints it (C escapes) back to the path it was."""
    if "\\" not in text:
        return text

    def one(m: re.Match[bytes]) -> bytes:
        e = m.group(1)
        if e[:1] == b"x":
            return bytes([int(e[1:], 16)])
        if e[:1].isdigit():
            return bytes([int(e, 8) & 0xFF])
        return _SIMPLE.get(e, e)

    return os.fsdecode(_ESCAPE.sub(one, os.fsencode(text)))


def _split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments (strings may hold commas)."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            m = _STRING.match(text, i)
            if m:
                cur.append(m.group(0))
                i = m.end()
                continue
        if ch in "<[{(":
            depth += 1
        elif ch in ">]})":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    if cur:
        out.append("".join(cur).strip())
    return out


def _string(arg: str) -> str | None:
    m = _STRING.fullmatch(arg)
    return _unescape(m.group(1)) if m else None


def _dirfd(arg: str) -> str | None:
    m = _DIRFD.match(arg)
    return _unescape(m.group(1)) if m and m.group(1) else None


def parse_strace(
    log: str | os.PathLike[str], *, root: str | os.PathLike[str], cwd: str
) -> list[dict[str, Any]]:
    """Turn a strace log into ``opens`` records (the format of the Python hook's), keeping only
    paths inside the project ``root`` (the recorder filters the rest as for the hook's)."""
    root_s = os.path.normpath(os.fspath(root))
    real = os.path.realpath(root_s)
    prefixes = {root_s.rstrip(os.sep) + os.sep: root_s, real.rstrip(os.sep) + os.sep: real}

    def in_project(path: str) -> str | None:
        path = os.path.normpath(path)
        for prefix, base in prefixes.items():
            if path.startswith(prefix) or path == base:
                return root_s + path[len(base) :]
        return None

    by_flags: dict[str, list[str]] = {}
    cwds: dict[str, str] = {}
    pending: dict[str, str] = {}

    def note(flags: int, path: str | None) -> None:
        kept = in_project(path) if path else None
        if kept is not None:
            by_flags.setdefault(str(flags), []).append(kept)

    def absolute(pid: str, dirfd: str | None, path: str) -> str:
        if os.path.isabs(path):
            return path
        return os.path.join(dirfd or cwds.get(pid) or cwd, path)

    # Most lines are the interpreter's and libraries' own files: a line that names no project
    # path (in the call or the descriptor behind it) is skipped before any parsing, except
    # renames (a relative `rename` names no folder) and lines split across processes.
    needles = tuple({p.rstrip(os.sep) for p in prefixes})

    with open(log, encoding="utf-8", errors="surrogateescape") as f:
        for raw in f:
            if (
                "rename" not in raw
                and "unfinished" not in raw
                and "resumed" not in raw
                and not any(n in raw for n in needles)
            ):
                continue
            line = raw.rstrip("\n")
            m_u = _UNFINISHED.match(line)
            if m_u:
                pending[m_u.group(1)] = f"{m_u.group(1)} {m_u.group(2)}"
                continue
            m_r = _RESUMED.match(line)
            if m_r:
                line = pending.pop(m_r.group(1), "") + m_r.group(2)
            fast = _OPENAT.match(line)
            if fast is not None:
                pid, dirfd, here, given, flags_text, _fd, fd_path = fast.groups()
                if dirfd == "-100" and here is not None:
                    cwds[pid] = _unescape(here)
                if fd_path:
                    path = _unescape(fd_path)
                else:
                    path = absolute(pid, _unescape(here) if here else None, _unescape(given))
                note(int(flags_text, 0), path)
                continue
            m = _LINE.match(line)
            if not m:
                continue
            pid, call, args_text, result, fd_path = m.groups()
            if int(result) < 0:
                continue
            args = _split_args(args_text)
            if call in ("openat", "open", "creat"):
                at = 1 if call == "openat" else 0
                if call == "openat" and args:
                    here = _dirfd(args[0])
                    if here is not None and args[0].startswith("-100"):
                        cwds[pid] = here
                if call == "creat":
                    flags = _CREAT_FLAGS
                else:
                    try:
                        flags = int(args[at + 1], 0)
                    except (IndexError, ValueError):
                        continue
                if fd_path:
                    path = _unescape(fd_path)
                else:
                    given = _string(args[at]) if len(args) > at else None
                    if given is None:
                        continue
                    path = absolute(pid, _dirfd(args[0]) if call == "openat" else None, given)
                note(flags, path)
            elif call in ("rename", "renameat", "renameat2"):
                if call == "rename" and len(args) >= 2:
                    dst, dst_dir = _string(args[1]), None
                elif len(args) >= 4:
                    dst, dst_dir = _string(args[3]), _dirfd(args[2])
                else:
                    continue
                if dst is not None:
                    note(_RENAME_FLAGS, absolute(pid, dst_dir, dst))
    for key, paths in by_flags.items():
        by_flags[key] = list(dict.fromkeys(paths))
    if not by_flags:
        return []
    return [{"t": "opens", "pid": 0, "cwd": "/", "flags": by_flags, "before": {}}]


# -- the completeness mark ------------------------------------------------------------------

_PYTHON_NAME = re.compile(r"^(python|pypy)[\d.]*m?$")


def _is_python(exe: str, search_path: str | None) -> bool:
    names = {os.path.basename(exe)}
    found = shutil.which(exe, path=search_path) if os.sep not in exe else exe
    if found:
        names.add(os.path.basename(os.path.realpath(found)))
    return any(_PYTHON_NAME.match(n) for n in names)


def _program(exe: str, search_path: str | None) -> str:
    found = shutil.which(exe, path=search_path) if os.sep not in exe else exe
    return found or exe


def assess(
    *,
    trace: str,
    records: Iterable[Mapping[str, Any]],
    hellos: Sequence[Mapping[str, Any]],
    command_pid: int | None,
    argv: Sequence[str],
    search_path: str | None = None,
    fallback: str | None = None,
    problems: Sequence[str] = (),
) -> FileCapture:
    """The completeness mark of a run traced in ``trace`` mode.

    ``records`` are the ``opens`` records of its processes (their ``native`` and ``spawned``
    fields say what the hook could not see), ``hellos`` the processes that ran the hook,
    ``command_pid`` the command's own process, ``fallback`` why ``auto`` did not trace at the
    OS level, ``problems`` anything else that lost capture (an unreadable strace log).
    """
    reasons: list[str] = []
    if fallback:
        reasons.append(f"OS-level tracing unavailable ({fallback}): traced at the Python level")
    reasons += problems
    if trace == "os":
        return FileCapture(PARTIAL if reasons else COMPLETE, tuple(reasons), "os")

    native: set[str] = set()
    children: dict[str, None] = {}
    for rec in records:
        if rec.get("t") != "opens":
            continue
        native.update(m for m in rec.get("native") or () if isinstance(m, str))
        for spawn in rec.get("spawned") or ():
            if not isinstance(spawn, list) or len(spawn) != 2 or not isinstance(spawn[0], str):
                continue
            exe, hooked = spawn
            if trace == "in-process" or not hooked or not _is_python(exe, search_path):
                children[_program(exe, search_path)] = None
    command = argv[0] if argv else "?"
    if trace != "in-process":
        own = any(h.get("pid") == command_pid for h in hellos)
        if not hellos:
            what = f"{_program(command, search_path)} is not a Python program"
            if _is_python(command, search_path):  # python -I, -E or -S ignores the hook
                what = f"{_program(command, search_path)} did not run Pedigree's hook (-I, -E, -S?)"
            return FileCapture(
                OFF, (*reasons, f"{what}: nothing was traced (use --trace os)"), trace
            )
        if not own:
            children = {f"{_program(command, search_path)} (the command)": None, **children}
    if native:
        reasons.append(
            f"process loaded extension modules that do their own I/O: {', '.join(sorted(native))}"
        )
    names = list(children)
    for name in names[:_MAX_CHILDREN_NAMED]:
        reasons.append(f"child process {name} not traced")
    if len(names) > _MAX_CHILDREN_NAMED:
        reasons.append(f"and {len(names) - _MAX_CHILDREN_NAMED} more child processes not traced")
    return FileCapture(PARTIAL if reasons else COMPLETE, tuple(reasons), trace)


def strace_records(
    log: Path, *, root: str | os.PathLike[str], cwd: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``opens`` records of a strace log, and what went wrong reading it."""
    try:
        return parse_strace(log, root=root, cwd=cwd), []
    except OSError as exc:
        return [], [f"the OS tracer's log could not be read ({exc.strerror or exc})"]
