"""Injected by ``pedigree run`` into every Python process of a tracked run.

``pedigree run`` puts this folder first on ``PYTHONPATH``, so Python imports this module at start-up
in the tracked script and in any Python subprocess it starts. It must work on any Python 3.9+, in
any virtualenv, without Pedigree installed there: it uses the standard library only and never
imports ``pedigree``.

It reports the interpreter (``hello``: executable, version, sys.path) to the spool named by
``PEDIGREE_SPOOL``, makes the Pedigree SDK importable as a last resort (``PEDIGREE_SDK_PATH``,
appended to the end of ``sys.path``), installs the file-capture audit hook, then runs the
sitecustomize it shadows, if any.

File capture (``_pedigree_capture``): an audit hook (``sys.addaudithook``) notes every file this
process opens (``open``, ``os.open``, ``io.open_code``: the ``open`` audit event) and every rename
target (``os.rename``/``os.replace``). Per event it only appends the event's arguments to a list,
plus, before the first write to a path, the file's stat (what it held before the run rewrote it).
The list is deduplicated and written in batches (every 20,000 events, before a ``chdir`` and at
exit) as one line of ``events-<pid>-files.jsonl`` in the spool: ``{"t": "opens", "pid", "cwd",
"flags": {"<open flags>": [paths as given]}, "before": {path: [size, mtime_ns, dev, ino]}}``.
The recorder turns them into inputs and outputs and drops what is not project data (see
``pedigree.data.capture``), so the tracked script pays as little as possible. A process that ends
by ``os._exit`` or a signal loses what it had not written yet.
"""

import json
import os
import sys

TYPE_CHECKING = False  # typing costs start-up time; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any


def _pedigree_hello() -> None:
    folder = os.environ.get("PEDIGREE_SPOOL")
    if not folder or not os.path.isdir(folder):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    record = {
        "t": "hello",
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "executable": sys.executable,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "implementation": sys.implementation.name,
        "path": [p for p in sys.path if p and os.path.abspath(p) != here],
        "argv": list(sys.argv),
    }
    try:
        with open(os.path.join(folder, "events-%d.jsonl" % os.getpid()), "a") as f:
            f.write(json.dumps(record) + "\n")
    except OSError:
        pass


def _pedigree_chain() -> None:
    """Run the sitecustomize this one shadows (Debian's, a virtualenv's...)."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if p and os.path.abspath(p) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _pedigree_sdk() -> None:
    """Let `import pedigree` work in an interpreter that does not have it installed."""
    folder = os.environ.get("PEDIGREE_SDK_PATH")
    if folder and sys.version_info >= (3, 10) and folder not in sys.path:
        sys.path.append(folder)


def _pedigree_capture() -> None:
    """Install the audit hook that records the files this process opens and renames."""
    folder = os.environ.get("PEDIGREE_SPOOL")
    if not folder or not os.environ.get("PEDIGREE_PROJECT_ROOT") or not os.path.isdir(folder):
        return
    if not hasattr(sys, "addaudithook"):
        return
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    rename_flags = os.O_WRONLY | os.O_CREAT
    stat = os.stat
    fspath = os.fspath
    fsdecode = os.fsdecode

    # The hook only appends the event's arguments (and, before a first write, the file's stat);
    # the rest happens in batches in ``flush``, and the recorder does the filtering.
    events: "list[Any]" = []
    append = events.append
    stats_before: "dict[Any, list[int]]" = {}  # path as given -> stat before its first write
    busy = [False]
    forked = [False]  # this process is a fork of a tracked one
    # A SIGTERM that arrived while a flush was under way: the flush ends the process when done.
    term_pending = [False]
    finalizer: "list[Any]" = [None]

    def text(path: "Any") -> str:
        return path if path.__class__ is str else fsdecode(fspath(path))

    def flush() -> None:
        if busy[0]:
            return
        busy[0] = True
        try:
            batch = events[:]
            del events[:]
            try:
                unique: "Any" = dict.fromkeys(batch)
            except TypeError:  # an unhashable path-like object
                unique = batch
            by_flags: "dict[str, list[str]]" = {}
            for ev in unique:
                path = ev[0]
                if path.__class__ is not int:  # not an already open descriptor
                    by_flags.setdefault(str(ev[2]), []).append(path)
            for key, paths in by_flags.items():
                if any(p.__class__ is not str for p in paths):
                    by_flags[key] = [text(p) for p in paths]
            before = {text(p): st for p, st in stats_before.items()}
            stats_before.clear()
            if by_flags or before:
                record = {
                    "t": "opens",
                    "pid": os.getpid(),
                    "cwd": os.getcwd(),
                    "flags": by_flags,
                    "before": before,
                }
                data = (json.dumps(record) + "\n").encode("utf-8", "surrogateescape")
                name = os.path.join(folder, "events-%d-files.jsonl" % os.getpid())
                fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    while data:
                        data = data[os.write(fd, data) :]
                finally:
                    os.close(fd)
        except Exception:
            pass  # capture must never break the script it watches
        finally:
            busy[0] = False
        if term_pending[0]:
            die_of_sigterm()

    def die_of_sigterm() -> None:
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    def exit_flush_in_worker() -> None:
        # multiprocessing children end with os._exit after running their finalizers, and a
        # Process clears the finalizers it inherited once it starts: register (again) as late
        # as the first open.
        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None:
            try:
                if finalizer[0] is None or not finalizer[0].still_active():
                    finalizer[0] = mp_util.Finalize(None, flush, exitpriority=0)
            except Exception:
                pass

    def hook(event: str, args: "Any") -> None:
        # An exception here would fail the script's own open(): nothing below may raise.
        if event == "open":
            append(args)
            try:
                if forked[0]:
                    exit_flush_in_worker()
                flags = args[2]
                if flags.__class__ is int and flags & write_flags:
                    path = args[0]
                    if path.__class__ is not int and path not in stats_before:
                        # What the file held before this write (an input the run rewrites).
                        s = stat(path)
                        stats_before[path] = [
                            s.st_size,
                            s.st_mtime_ns,
                            s.st_dev,
                            s.st_ino,
                            s.st_ctime_ns,
                        ]
            except Exception:
                pass  # not there yet, or an odd path object: nothing to remember
            if len(events) > 20000 and not busy[0]:
                flush()
        elif event == "os.rename":
            dst = args[1]
            try:
                if args[3] not in (None, -1) and not os.path.isabs(dst):
                    return  # relative to a directory descriptor: cannot be resolved
                append((dst, None, rename_flags))
                if dst not in stats_before:
                    s = stat(dst)
                    stats_before[dst] = [
                        s.st_size,
                        s.st_mtime_ns,
                        s.st_dev,
                        s.st_ino,
                        s.st_ctime_ns,
                    ]
            except Exception:
                pass
        elif event == "os.chdir" or event == "os.fchdir":
            flush()  # relative paths so far are relative to the folder being left

    def after_fork() -> None:
        # The parent writes what it saw; the child records its own opens from here on.
        del events[:]
        stats_before.clear()
        busy[0] = False
        forked[0] = True
        try:  # a pool's workers are stopped with SIGTERM: write what they saw first
            import signal

            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:

                def on_term(signum: int, frame: "Any") -> None:
                    if busy[0]:
                        # It interrupted a flush (a worker's exit finalizer, say), whose batch
                        # is in that frame: let it finish writing, then end.
                        term_pending[0] = True
                        return
                    flush()
                    die_of_sigterm()

                signal.signal(signal.SIGTERM, on_term)
        except Exception:
            pass

    import atexit

    atexit.register(flush)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=after_fork)
    sys.addaudithook(hook)


_pedigree_hello()
_pedigree_sdk()
_pedigree_capture()
_pedigree_chain()
