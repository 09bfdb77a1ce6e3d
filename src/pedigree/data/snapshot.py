"""Snapshots: the content of a file, folder or symlink in the project, hashed (and stored).

This is what ``pedigree data add`` and run input/output linking share. The symlink policy:

- inside a folder, a symlink is recorded as a link (its target text), never followed, so a
  snapshot never leaves the folder and a checkout recreates the link;
- a path that is itself a symlink is followed when its target is inside the project (the bytes a
  script reads through ``data/latest.csv -> v3.csv`` are those of ``v3.csv``), and recorded as a
  link otherwise: Pedigree never reads outside the project on its own.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "prices").mkdir(), (root / "prices" / "a.csv").write_text("1\\n")
>>> snap = take(root, root / "prices")
>>> snap.kind, snap.file_count, snap.rel
('dir', 1, 'prices')

:func:`hash_path` is the same through a project's stat cache, for whoever needs the digest a
path would be recorded with (``impact PATH``, comparing a reproduction's outputs).
"""

from __future__ import annotations

import os
import stat as stat_module
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pedigree.data.hashing import SYMLINK, FileInfo, hash_files, relpath_in, scan, store_files
from pedigree.data.tree import Entry, Manifest
from pedigree.digest import Digest, hash_bytes
from pedigree.errors import InvalidInput

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.data.statcache import StatCache
    from pedigree.objects.base import ObjectStore

__all__ = ["Snapshot", "hash_path", "take"]

DIR = "dir"
FILE = "file"


@dataclass
class Snapshot:
    """What a path held when it was hashed."""

    rel: str  # project-relative, / separated
    kind: str  # file | dir | symlink
    digest: Digest
    size: int
    file_count: int
    files: list[FileInfo] = field(default_factory=list)
    manifest: Manifest | None = None  # folders only; loaded from the store when not built
    objects: ObjectStore | None = None

    def tree(self) -> Manifest | None:
        """The folder's manifest (None for a file or symlink)."""
        if self.kind != DIR:
            return None
        if self.manifest is None:
            if self.objects is None:
                raise ValueError("no manifest and no object store to read it from")
            self.manifest = Manifest.decode(self.objects.get_bytes(self.digest))
        return self.manifest

    def tree_entries(self) -> list[list[object]]:
        """``[path, digest, size]`` rows for the ``tree.recorded`` event."""
        tree = self.tree()
        if tree is None:
            return []
        return [[e.path, str(e.digest), e.size] for e in tree.entries]


def _skip_dirs(root: Path) -> set[str]:
    from pedigree.config import DIRNAME

    return {os.path.join(os.path.realpath(root), DIRNAME)}


def take(
    root: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    objects: ObjectStore | None = None,
    cache: StatCache | None = None,
    progress: bool = False,
) -> Snapshot:
    """Hash ``path`` (inside the project ``root``); with ``objects``, also store its content.

    A folder's manifest is stored after every file it lists, so a manifest present in the store
    means its files are too: an unchanged folder costs one stat per file and one lookup.
    """
    root = Path(root)
    top = os.path.abspath(os.fspath(path))
    rel = relpath_in(root, top)
    _check_name(rel, rel)
    try:
        st = os.lstat(top)
    except FileNotFoundError:
        raise InvalidInput(f"{top} does not exist") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {top}: {exc.strerror or exc}") from exc
    source = top
    if stat_module.S_ISLNK(st.st_mode):
        real = os.path.realpath(top)
        try:
            relpath_in(root, real)
            inside = os.path.exists(real)
        except InvalidInput:
            inside = False
        if inside:
            source = real
            st = os.stat(real)
    skip = _skip_dirs(root)
    if stat_module.S_ISDIR(st.st_mode):
        if os.path.realpath(source) in skip:
            raise InvalidInput(f"{top} is Pedigree's own store")
        stamp = cache.stamp() if cache is not None else 0  # before the scan's stats
        files = scan(source, skip=lambda p: p in skip)
        for f in files:
            _check_name(f.rel, f"{rel}/{f.rel}")
        fingerprint = _fingerprint(files)
        if cache is not None and files:
            newest = max(max(f.mtime_ns, f.ctime_ns) for f in files)
            hit = cache.tree_lookup(source, fingerprint, newest)
            if hit is not None and (objects is None or objects.has(hit[0])):
                digest, size, count = hit
                return Snapshot(rel, DIR, digest, size, count, files, None, objects)
        hash_files(files, cache=cache, progress=progress)
        manifest = Manifest.build(
            Entry(f.rel, f.digest, f.size, f.type) for f in files if f.digest is not None
        )
        encoded = manifest.encode()
        digest = hash_bytes(encoded)
        if objects is not None and not objects.has(digest):
            store_files(files, objects, progress=progress)
            objects.put_bytes(encoded)
        if cache is not None:
            cache.tree_record(source, fingerprint, digest, manifest.size, len(files), stamp=stamp)
        return Snapshot(rel, DIR, digest, manifest.size, len(files), files, manifest, objects)
    files = scan(source)
    hash_files(files, cache=cache, progress=progress)
    info = files[0]
    assert info.digest is not None
    if objects is not None:
        store_files(files, objects, progress=progress)
    kind = SYMLINK if info.type == SYMLINK else FILE
    return Snapshot(rel, kind, info.digest, info.size, 1, files, None, objects)


def hash_path(
    ctx: Context,
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    store: bool = False,
    each_file: bool = False,
    progress: bool = False,
) -> Snapshot:
    """What ``path`` (a file, folder or symlink) holds, with the digest Pedigree records for it:
    a file's BLAKE3, a folder's manifest digest. Files the project's stat cache knows are not
    hashed again.

    ``root`` is the folder ``path`` lies in and ``Snapshot.rel`` is relative to (default: the
    project root; a reproduction gives its workspace). ``store`` also puts the content in the
    object store. ``each_file`` fills in the digest of every one of ``Snapshot.files`` (their
    ``rel`` is relative to the folder), also when the folder's own digest came from the cache.

    >>> import tempfile
    >>> from pedigree.config import init_project
    >>> from pedigree.context import Context
    >>> project, _ = init_project(tempfile.mkdtemp())
    >>> _ = (project.root / "out").mkdir(), (project.root / "out" / "a.csv").write_text("1\\n")
    >>> snap = hash_path(Context(project), project.root / "out", each_file=True)
    >>> snap.rel, snap.kind, snap.file_count, [(f.rel, f.digest.short) for f in snap.files]
    ('out', 'dir', 1, [('a.csv', '50cc1102b1c6')])
    >>> hash_path(Context(project), project.root / "out").digest == snap.digest
    True
    """
    from pedigree.data.statcache import StatCache

    with StatCache.for_project(ctx.project.cache_dir) as cache:
        snap = take(
            ctx.project.root if root is None else root,
            path,
            objects=ctx.objects if store else None,
            cache=cache,
            progress=progress,
        )
        if each_file:
            hash_files(snap.files, cache=cache, progress=progress)
    return snap


def _check_name(name: str, shown: str) -> None:
    """Refuse a file name that is not UTF-8 (``os.fsdecode`` gives it lone surrogates).

    The record's paths are text; such a name cannot be stored as it is, and storing it changed
    would make a record that names a file that does not exist. Refused with the name escaped, so
    the user can rename it (or, for a run, it is left out with a warning that says so).
    """
    if name.isascii():
        return
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        printable = os.fsencode(shown).decode("utf-8", "backslashreplace")
        raise InvalidInput(
            f"{printable}: the file name is not UTF-8, and Pedigree records only UTF-8 names "
            "(rename it to have it recorded)"
        ) from None


def _fingerprint(files: list[FileInfo]) -> bytes:
    """A digest of every file's path and stat (and link target): equal means "nothing moved"."""
    text = "\x00".join(
        f"{f.rel}\x01{f.size}\x01{f.mtime_ns}\x01{f.ctime_ns}\x01{f.ino}\x01{f.dev}\x01"
        f"{f.target or ''}"
        for f in files
    )
    return hash_bytes(text.encode("utf-8", "surrogateescape")).hex.encode()
