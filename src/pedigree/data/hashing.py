"""Hashing and storing many files fast: one stat per file, one cache query, threads for the rest.

:func:`scan` lists a file or a folder (``os.scandir``, one ``lstat`` per entry, symlinks recorded
and never followed); :func:`hash_files` fills in digests, taking unchanged files from the
:class:`~pedigree.data.statcache.StatCache` and hashing the others on a thread pool (file reads
and BLAKE3 release the GIL, so threads use every core); :func:`store_files` copies the files an
object store lacks, also on a thread pool. A file that changes while it is hashed is refused.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("1,2\\n")
>>> files = scan(folder)
>>> hash_files(files)
>>> [(f.rel, f.digest.short) for f in files]
[('a.csv', '6c703dc4a0fb')]
>>> files[0].digest == hash_bytes(b"1,2\\n")
True
"""

from __future__ import annotations

import os
import stat as stat_module
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pedigree.digest import Digest, hash_bytes, hash_open_file
from pedigree.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    from pedigree.data.statcache import StatCache
    from pedigree.objects.base import ObjectStore

__all__ = ["FileInfo", "Progress", "hash_files", "relpath_in", "scan", "store_files", "workers"]

_TASK_BYTES = 8 * 1024 * 1024
_TASK_FILES = 512
FILE = "file"
SYMLINK = "symlink"


def workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


@dataclass(slots=True)
class FileInfo:
    """A file (or symlink) found by :func:`scan`, with what its ``lstat`` said."""

    path: str  # absolute
    rel: str  # relative to the scanned folder, / separated ("" for a single file)
    type: str  # file | symlink
    size: int
    mtime_ns: int
    dev: int
    ino: int
    digest: Digest | None = None
    target: str | None = None  # a symlink's target text
    ctime_ns: int = -1  # -1: not known (then the stat cache never trusts an entry for it)

    @classmethod
    def from_stat(cls, path: str, rel: str, st: os.stat_result) -> FileInfo:
        if stat_module.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            data = os.fsencode(target)
            return cls(
                path, rel, SYMLINK, len(data), st.st_mtime_ns, st.st_dev, st.st_ino,
                hash_bytes(data), target, st.st_ctime_ns,
            )  # fmt: skip
        return cls(
            path, rel, FILE, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino,
            ctime_ns=st.st_ctime_ns,
        )  # fmt: skip

    def same_state(self, st: os.stat_result) -> bool:
        return (
            st.st_size == self.size
            and st.st_mtime_ns == self.mtime_ns
            and st.st_ctime_ns == self.ctime_ns
            and st.st_ino == self.ino
            and st.st_dev == self.dev
        )

    def target_bytes(self) -> bytes:
        return os.fsencode(self.target or "")


def _lstat(path: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc


def scan(
    path: str | os.PathLike[str], *, skip: Callable[[str], bool] | None = None
) -> list[FileInfo]:
    """Every file and symlink under ``path`` (or ``path`` itself when it is a file).

    Symlinks are recorded as links and never followed, so a scan never leaves the folder.
    ``skip(abs_path)`` can leave out folders (for example the project's ``.pedigree``).
    Sockets, FIFOs and devices are refused: they have no content to version.
    """
    top = os.path.abspath(os.fspath(path))
    st = _lstat(top)
    if not stat_module.S_ISDIR(st.st_mode):
        _check_kind(top, st)
        return [FileInfo.from_stat(top, "", st)]
    out: list[FileInfo] = []
    append = out.append
    stack = [(top, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise InvalidInput(f"cannot list {folder}: {exc.strerror or exc}") from exc
        for entry in entries:
            try:
                # d_type answers these without a system call; one lstat per file remains.
                if entry.is_file(follow_symlinks=False):
                    est = entry.stat(follow_symlinks=False)
                    if stat_module.S_ISREG(est.st_mode):
                        append(
                            FileInfo(
                                entry.path, prefix + entry.name, FILE, est.st_size,
                                est.st_mtime_ns, est.st_dev, est.st_ino,
                                ctime_ns=est.st_ctime_ns,
                            )
                        )  # fmt: skip
                        continue
                elif entry.is_dir(follow_symlinks=False):
                    if skip is None or not skip(entry.path):
                        stack.append((entry.path, prefix + entry.name + "/"))
                    continue
                est = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed while we listed: it is not part of the folder any more
            except OSError as exc:
                raise InvalidInput(f"cannot read {entry.path}: {exc.strerror or exc}") from exc
            _check_kind(entry.path, est)
            append(FileInfo.from_stat(entry.path, prefix + entry.name, est))
    return out


def _check_kind(path: str, st: os.stat_result) -> None:
    if not (stat_module.S_ISREG(st.st_mode) or stat_module.S_ISLNK(st.st_mode)):
        raise InvalidInput(f"{path} is not a regular file, folder or symlink")


class Progress:
    """A progress bar on stderr that appears only if the work takes more than ``delay`` seconds.

    Off when stderr is not a terminal (or ``enabled`` is false); rich is imported only when the
    bar is actually shown. ``advance`` is thread-safe.
    """

    def __init__(self, label: str, total: int, *, enabled: bool = True, delay: float = 1.0):
        import sys

        self.label = label
        self.total = total
        self.enabled = enabled and sys.stderr.isatty() and total > 0
        self.delay = delay
        self._start = time.monotonic()
        self._done = 0
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None

    def advance(self, amount: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._done += amount
            if self._bar is None:
                if time.monotonic() - self._start < self.delay:
                    return
                self._show()
            self._bar.update(self._task, completed=self._done)

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import (
            Progress as RichProgress,
        )

        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=self.total, completed=self._done)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _hash_one(info: FileInfo, progress: Progress | None) -> Digest:
    """Hash a regular file, refusing it if it changed while being read."""
    try:
        with open(info.path, "rb", buffering=0) as f:
            if not info.same_state(os.fstat(f.fileno())):
                raise Conflict(f"{info.path} changed while it was being hashed; try again")
            advance = progress.advance if progress is not None else None
            digest = hash_open_file(f, info.path, info.size, progress=advance)
            after = os.fstat(f.fileno())
    except FileNotFoundError:
        raise Conflict(f"{info.path} was removed while it was being hashed") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {info.path}: {exc.strerror or exc}") from exc
    if not info.same_state(after) or not info.same_state(os.lstat(info.path)):
        raise Conflict(f"{info.path} changed while it was being hashed; try again")
    return digest


def _tasks(items: Sequence[FileInfo]) -> list[Sequence[FileInfo]]:
    """Contiguous runs of files of about 8 MiB (at most 512 files): a big file is a task of its
    own, small ones are grouped so that thread hand-offs do not cost more than the work."""
    tasks: list[Sequence[FileInfo]] = []
    start, size = 0, 0
    for i, f in enumerate(items):
        size += f.size
        if size >= _TASK_BYTES or i + 1 - start >= _TASK_FILES:
            tasks.append(items[start : i + 1])
            start, size = i + 1, 0
    if start < len(items):
        tasks.append(items[start:])
    return tasks


def pool_map(fn: Callable[[FileInfo], Any], items: Sequence[FileInfo]) -> list[Any]:
    """``[fn(f) for f in items]`` on a thread pool, in order; the first error is raised."""
    if len(items) <= 1:
        return [fn(i) for i in items]
    tasks = _tasks(items)
    # Imported here: concurrent.futures (and logging) cost a read command that only needs
    # this module's path helpers ~10 ms.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers(), thread_name_prefix="pedigree-hash") as pool:
        futures = [pool.submit(lambda task: [fn(f) for f in task], t) for t in tasks]
        try:
            return [r for fut in futures for r in fut.result()]
        finally:
            for fut in futures:
                fut.cancel()


def hash_files(
    files: Sequence[FileInfo],
    *,
    cache: StatCache | None = None,
    progress: bool = False,
    label: str = "hashing",
) -> None:
    """Fill in ``digest`` for every file: from the stat cache when it can be trusted, else by
    hashing (and then remembering the result)."""
    todo = [f for f in files if f.digest is None]
    if not todo:
        return
    stamp = cache.stamp() if cache is not None else 0
    if cache is not None:
        for f, d in zip(todo, cache.lookup(todo), strict=True):
            f.digest = d
        todo = [f for f in todo if f.digest is None]
    if not todo:
        return
    total = sum(f.size for f in todo)
    with Progress(label, total, enabled=progress) as bar:
        digests = pool_map(lambda f: _hash_one(f, bar), todo)
    for f, d in zip(todo, digests, strict=True):
        f.digest = d
    if cache is not None:
        cache.record(zip(todo, digests, strict=True), stamp=stamp)


def store_files(
    files: Sequence[FileInfo],
    objects: ObjectStore,
    *,
    progress: bool = False,
    label: str = "storing",
) -> int:
    """Copy into ``objects`` every file (and symlink target) it lacks; returns bytes written.

    Files must be hashed first; the store re-checks each digest against the bytes it copies, so a
    file that changed since it was hashed is refused and nothing partial is stored.
    """
    seen: set[Digest] = set()
    missing: list[FileInfo] = []
    for f in files:
        if f.digest is None:
            raise ValueError(f"{f.path} has not been hashed")
        if f.digest in seen:
            continue
        seen.add(f.digest)
        if not objects.has(f.digest):
            missing.append(f)
    if not missing:
        return 0
    total = sum(f.size for f in missing)
    links = [f for f in missing if f.type == SYMLINK]
    regular = [(f.path, f.digest) for f in missing if f.type != SYMLINK and f.digest is not None]
    with Progress(label, total, enabled=progress) as bar:
        for f in links:
            if objects.put_bytes(f.target_bytes()) != f.digest:
                raise Conflict(f"the symlink {f.path} changed while it was being stored")
        objects.put_files(regular, progress=bar.advance)
    return total


def _relative(absolute: str, base: str) -> str | None:
    rel = os.path.relpath(absolute, base)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return None
    return "" if rel == os.curdir else rel.replace(os.sep, "/")


def relpath_in(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> str:
    """``path`` relative to ``root``, ``/`` separated; refuses paths outside ``root``.

    The last component is never resolved (a link is recorded where it is, not where it points);
    the folders above it are, when that is what puts the path inside the project.
    """
    absolute = os.path.abspath(os.fspath(path))
    base = os.path.realpath(root)
    rel = _relative(absolute, base)
    if rel is None:
        parent, name = os.path.split(absolute)
        rel = _relative(os.path.join(os.path.realpath(parent), name), base)
    if rel is None:
        raise InvalidInput(f"{absolute} is outside the project ({base})")
    return rel
