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

What the hook cannot see is said, so that the run's completeness mark is honest (see
``pedigree.capture.files``): an ``opens`` record also carries ``native`` (loaded modules known to
open files in native code: h5py, polars...) and ``spawned`` (programs started through
``subprocess``/``os.system``/``os.exec*``/``os.posix_spawn``, with whether they will run this
hook). ``sqlite3.connect`` is recorded as a read-write open of the database file, and a few
native readers whose paths no audit event shows (pyarrow's Parquet, Feather, CSV, ORC and dataset
functions) are wrapped when imported so that they raise the ``open`` audit event themselves.
"""

import json
import os
import sys

TYPE_CHECKING = False  # typing costs start-up time; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any


# Modules that open files in native code, which no audit event shows: loaded by a process,
# they make its capture partial (unless the run is traced by the OS).
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
SPAWN_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn")
# Native readers and writers that take a path, wrapped when their module is imported so that
# they raise the ``open`` audit event before they open it: module -> {function or class:
# (index and keyword of the path argument, mode)}, where the mode is "r" or "w", or an
# (index, keyword, default) of the argument that gives it ("rb", "w", "r+"...).
NATIVE_WRAPS: "dict[str, dict[str, Any]]" = {
    "pyarrow": {
        "OSFile": (0, "path", (1, "mode", "r")),
        "memory_map": (0, "path", (1, "mode", "r")),
        "create_memory_map": (0, "path", "w"),
        "input_stream": (0, "source", "r"),
        "output_stream": (0, "source", "w"),
    },
    "pyarrow.parquet": {
        "read_table": (0, "source", "r"),
        "read_schema": (0, "where", "r"),
        "read_metadata": (0, "where", "r"),
        "read_pandas": (0, "source", "r"),
        "write_table": (1, "where", "w"),
        "ParquetFile": (0, "source", "r"),
        "ParquetWriter": (0, "where", "w"),
    },
    "pyarrow.feather": {
        "read_table": (0, "source", "r"),
        "read_feather": (0, "source", "r"),
        "write_feather": (1, "dest", "w"),
    },
    "pyarrow.csv": {
        "read_csv": (0, "input_file", "r"),
        "open_csv": (0, "input_file", "r"),
        "write_csv": (1, "output_file", "w"),
    },
    "pyarrow.orc": {
        "read_table": (0, "source", "r"),
        "ORCFile": (0, "source", "r"),
        "write_table": (1, "where", "w"),
    },
    "pyarrow.json": {"read_json": (0, "input_file", "r")},
}


def _pedigree_flags(mode: str) -> int:
    if "+" in mode:
        return os.O_RDWR | (os.O_CREAT | os.O_TRUNC if "w" in mode else 0)
    if "a" in mode:
        return os.O_WRONLY | os.O_CREAT | os.O_APPEND
    if "w" in mode or "x" in mode:
        return os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    return os.O_RDONLY


def _pedigree_audit(args: "Any", kwargs: "Any", spec: "Any") -> None:
    """Raise the ``open`` audit event for the path a native reader or writer was given."""
    try:
        index, keyword, mode = spec
        path = args[index] if len(args) > index else kwargs.get(keyword)
        if not isinstance(path, (str, bytes)) and not hasattr(path, "__fspath__"):
            return  # a file object or buffer: opened (and seen) elsewhere, or not a file
        path = os.fsdecode(os.fspath(path))
        if "://" in path or os.path.isdir(path):
            return
        if not isinstance(mode, str):
            at, name, default = mode
            mode = args[at] if len(args) > at else kwargs.get(name, default)
            mode = mode if isinstance(mode, str) else default
        sys.audit("open", path, mode, _pedigree_flags(mode))
    except Exception:
        pass  # capture must never break the reader it watches


def _pedigree_wrap(module: "Any") -> None:
    """Replace the native readers of ``module`` by wrappers that raise the audit event."""
    import functools

    for name, spec in (NATIVE_WRAPS.get(module.__name__) or {}).items():
        original = getattr(module, name, None)
        if original is None or getattr(original, "_pedigree_wrapped", False):
            continue
        if isinstance(original, type):
            # A subclass whose __new__ raises the event before the original opens the file
            # (in __cinit__ for pyarrow's extension types); isinstance checks still hold.
            def __new__(
                cls: "Any", *args: "Any", _o: "Any" = original, _s: "Any" = spec, **kw: "Any"
            ) -> "Any":
                _pedigree_audit(args, kw, _s)
                if _o.__new__ is object.__new__:
                    return object.__new__(cls)
                return _o.__new__(cls, *args, **kw)

            wrapped: "Any" = type(
                original.__name__,
                (original,),
                {
                    "__new__": __new__,
                    "__module__": module.__name__,  # so that pickle finds this class
                    "__qualname__": original.__qualname__,
                    "__doc__": original.__doc__,
                    "_pedigree_wrapped": True,
                },
            )
        else:

            def wrapper(*args: "Any", _o: "Any" = original, _s: "Any" = spec, **kw: "Any") -> "Any":
                _pedigree_audit(args, kw, _s)
                return _o(*args, **kw)

            wrapped = functools.wraps(original)(wrapper)
            wrapped._pedigree_wrapped = True
        try:  # noqa: SIM105
            setattr(module, name, wrapped)
        except Exception:
            pass


class _NativeWrapFinder:
    """Finds nothing itself: when a module of ``NATIVE_WRAPS`` is imported, it lets the other
    finders find it and wraps the module once it has run."""

    def find_spec(self, name: str, path: "Any" = None, target: "Any" = None) -> "Any":
        if name not in NATIVE_WRAPS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        class Loader:
            def __getattr__(self, attr: str) -> "Any":  # get_resource_reader, is_package...
                return getattr(loader, attr)

            def create_module(self, spec: "Any") -> "Any":
                create = getattr(loader, "create_module", None)
                return create(spec) if create is not None else None

            def exec_module(self, module: "Any") -> None:
                exec_module(module)
                try:  # noqa: SIM105 (contextlib costs start-up time)
                    _pedigree_wrap(module)
                except Exception:
                    pass

        spec.loader = Loader()  # type: ignore[assignment]
        return spec


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
    spawned: "list[Any]" = []  # [argv0, hooked] of programs this process started
    native_said: "set[str]" = set()  # native I/O modules already reported
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
            loaded = native_modules()
            native = [m for m in loaded if m not in native_said]
            native_said.update(native)
            spawns = spawned[:]
            del spawned[:]
            if by_flags or before or native or spawns:
                record = {
                    "t": "opens",
                    "pid": os.getpid(),
                    "cwd": os.getcwd(),
                    "flags": by_flags,
                    "before": before,
                }
                if native:
                    record["native"] = native
                if spawns:
                    record["spawned"] = spawns
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
        elif event == "sqlite3.connect":
            try:
                path = sqlite_path(args[0])
                if path is not None:
                    hook("open", (path, "r+", os.O_RDWR))
            except Exception:
                pass
        elif event in SPAWN_EVENTS:
            try:  # noqa: SIM105
                note_spawn(event, args)
            except Exception:
                pass

    def sqlite_path(database: "Any") -> "Any":
        """The file a ``sqlite3.connect(database)`` opens, or None (in memory, a temp db)."""
        if database.__class__ is not str:
            database = text(database) if not isinstance(database, bytes) else fsdecode(database)
        if not database or database == ":memory:":
            return None
        if database.startswith("file:"):  # a URI (uri=True); harmless to read as one if not
            from urllib.parse import unquote, urlsplit

            parts = urlsplit(database)
            if "mode=memory" in parts.query or not parts.path:
                return None
            return unquote(parts.path)
        return database

    def note_spawn(event: str, args: "Any") -> None:
        env: "Any" = None
        if event == "subprocess.Popen":  # (executable, args, cwd, env)
            argv = args[1]
            if isinstance(argv, (str, bytes)) or not hasattr(argv, "__iter__"):
                argv = [argv]
            argv = list(argv)
            exe = args[0] if args[0] is not None else (argv[0] if argv else "")
            env = args[3]
        elif event == "os.system":  # (command,)
            exe, argv = "/bin/sh", ["/bin/sh", "-c", args[0]]
        elif event == "os.spawn":  # (mode, path, args, env)
            exe, argv, env = args[1], list(args[2] or []), args[3]
        else:  # os.exec, os.posix_spawn: (path, argv, env)
            exe, argv, env = args[0], list(args[1] or []), args[2]
        exe = text(exe) if exe.__class__ is not bytes else fsdecode(exe)
        # A Python child runs this hook when it inherits PYTHONPATH and does not ignore it.
        hooked = True
        if env is not None:
            try:
                pp = env.get("PYTHONPATH") or env.get(b"PYTHONPATH") or ""
                hooked = here in (pp if pp.__class__ is str else fsdecode(pp))
            except Exception:
                hooked = False
        for a in argv[1:]:
            a = a if a.__class__ is str else str(a)
            if not a.startswith("-") or a == "-" or a.startswith("--"):
                break
            if "I" in a or "E" in a or "S" in a:  # -I, -E, -S: no PYTHONPATH or no site
                hooked = False
        spawned.append([exe, hooked])

    def native_modules() -> "list[str]":
        modules = sys.modules
        return [name for name in NATIVE_IO if name in modules]

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

    here = os.path.dirname(os.path.abspath(__file__))
    import atexit

    atexit.register(flush)
    sys.meta_path.insert(0, _NativeWrapFinder())
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=after_fork)
    sys.addaudithook(hook)


_pedigree_hello()
_pedigree_sdk()
_pedigree_capture()
_pedigree_chain()
