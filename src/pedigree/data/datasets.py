"""Datasets: named, numbered, immutable versions of a file or a folder.

``add`` hashes a path (the stat cache skips unchanged files), stores what the object store lacks,
and records ``NAME@vN`` (the next number for that name) unless the content equals the latest
version's. A folder version is its manifest's digest; the manifest is stored too, so a version can
be checked out from its digest alone.

>>> import pathlib, tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> project, _ = init_project(tempfile.mkdtemp())
>>> ctx = Context(project)
>>> _ = (project.root / "data").mkdir(), (project.root / "data" / "prices.csv").write_text("1\\n")
>>> result = add(ctx, project.root / "data" / "prices.csv")
>>> result.version.ref, result.created
('data/prices.csv@v1', True)
>>> add(ctx, project.root / "data" / "prices.csv").created
False
>>> to = pathlib.Path(tempfile.mkdtemp()) / "prices-v1.csv"
>>> checkout(ctx, "data/prices.csv@v1", to=str(to)).written, to.read_text()
(1, '1\\n')
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.data.tree import SYMLINK, Entry, Manifest
from pedigree.digest import Digest
from pedigree.errors import (
    Conflict,
    IntegrityError,
    InvalidInput,
    NotFound,
    ObjectNotFound,
    PedigreeError,
)
from pedigree.store.reads.data import DatasetVersion

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pedigree.context import Context
    from pedigree.data.statcache import StatCache
    from pedigree.objects.base import ObjectStore
    from pedigree.store.events import Event
    from pedigree.store.reader import Reader

__all__ = [
    "AddResult",
    "CheckoutResult",
    "DatasetVersion",
    "DiffResult",
    "VerifyReport",
    "add",
    "checkout",
    "diff",
    "get",
    "list_latest",
    "log",
    "parse_ref",
    "place",
    "verify",
]


def _file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


# Restored files get the mode a new file gets (object files are read-only).
_FILE_MODE = _file_mode()
_REF = re.compile(r"^(?P<name>[^@]+?)(?:@v?(?P<version>\d+|latest))?$")
_NAME_MAX = 250


@dataclass(frozen=True)
class AddResult:
    version: DatasetVersion
    created: bool  # False when the content equals the latest version's

    def to_json(self) -> dict[str, Any]:
        return {**self.version.to_json(), "created": self.created}


def stat_cache(ctx: Context) -> StatCache:
    from pedigree.data.statcache import StatCache

    return StatCache.for_project(ctx.project.cache_dir)


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a dataset name cannot be empty")
    if "@" in name:
        raise InvalidInput(f"a dataset name cannot contain '@': {name!r} (it separates versions)")
    if len(name) > _NAME_MAX:
        raise InvalidInput(f"a dataset name is at most {_NAME_MAX} characters")
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        raise InvalidInput(f"a dataset name cannot contain control characters: {name!r}")
    return name


def parse_ref(text: str) -> tuple[str, int | None]:
    """``prices@v3`` -> ("prices", 3); ``prices`` or ``prices@latest`` -> ("prices", None)."""
    m = _REF.match(text.strip())
    if not m:
        raise InvalidInput(f"not a dataset version: {text!r} (expected NAME@vN, e.g. prices@v3)")
    version = m.group("version")
    number = None if version in (None, "latest") else int(version)
    if number is not None and number < 1:
        raise InvalidInput(f"versions count from 1: {text!r}")
    return check_name(m.group("name")), number


def _current_run(reader: Reader) -> str | None:
    """The run a ``pedigree data add`` inside ``pedigree run`` belongs to."""
    run_id = os.environ.get("PEDIGREE_RUN_ID")
    if not run_id:
        return None
    return run_id if reader.run_started_at(run_id) is not None else None


def add(
    ctx: Context,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    progress: bool = False,
) -> AddResult:
    """Version a file or folder under ``name`` (default: its path relative to the project)."""
    from pedigree.data.snapshot import take

    root = ctx.project.root
    with stat_cache(ctx) as cache:
        snap = take(root, path, objects=ctx.objects, cache=cache, progress=progress)
    if name is None:
        name = snap.rel or root.name
    name = check_name(name)
    box: dict[str, Any] = {}

    from pedigree.store.events import DatasetVersioned, TreeRecorded  # a read needs no events

    def build(reader: Reader) -> list[Event]:
        latest = reader.dataset_version(name)
        if latest is not None and latest.digest == str(snap.digest):
            box["version"], box["created"] = latest, False
            return []
        events: list[Event] = []
        if snap.kind == "dir" and not reader.tree_known(str(snap.digest)):
            events.append(TreeRecorded(digest=str(snap.digest), entries=snap.tree_entries()))
        run_id = _current_run(reader)
        version = DatasetVersion(
            name=name,
            version=(latest.version + 1) if latest is not None else 1,
            digest=str(snap.digest),
            kind=snap.kind,
            size=snap.size,
            file_count=snap.file_count,
            path=snap.rel,
            created_at=time.time(),
            user=ctx.user,
            run_id=run_id,
        )
        events.append(DatasetVersioned(**asdict(version)))
        box["version"], box["created"] = version, True
        return events

    ctx.write(build)
    return AddResult(box["version"], box["created"])


def get(ctx: Context, ref: str) -> DatasetVersion:
    """The version ``NAME@vN`` names (``NAME`` alone: the latest)."""
    name, number = parse_ref(ref)
    with ctx.read() as reader:
        found = reader.dataset_version(name, number)
        if found is None:
            known = reader.dataset_versions(name)
    if found is None:
        if not known:
            raise NotFound(f"no dataset named {name!r} (see `pedigree data ls`)")
        raise NotFound(f"{name} has no version {number} (its latest is v{known[-1].version})")
    return found


def list_latest(ctx: Context) -> list[DatasetVersion]:
    with ctx.read() as reader:
        return reader.latest_versions()


def log(ctx: Context, name: str) -> list[DatasetVersion]:
    """Every version of a dataset, oldest first."""
    name = check_name(name)
    with ctx.read() as reader:
        versions = reader.dataset_versions(name)
    if not versions:
        raise NotFound(f"no dataset named {name!r} (see `pedigree data ls`)")
    return versions


# -- contents, diff ----------------------------------------------------------------------------


def entries(ctx: Context, version: DatasetVersion) -> Manifest:
    """The files of a version (a file or symlink version is one entry named after it)."""
    digest = Digest.parse(version.digest)
    if version.kind == "dir":
        return Manifest.decode(ctx.objects.get_bytes(digest))
    label = os.path.basename(version.path or version.name) or version.name
    kind = SYMLINK if version.kind == SYMLINK else "file"
    return Manifest((Entry(label, digest, version.size, kind),))


@dataclass(frozen=True)
class DiffResult:
    old: DatasetVersion
    new: DatasetVersion
    added: list[Entry]
    removed: list[Entry]
    changed: list[tuple[Entry, Entry]]
    unchanged: int

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.old.ref,
            "to": self.new.ref,
            "added": [e.to_json() for e in self.added],
            "removed": [e.to_json() for e in self.removed],
            "changed": [
                {
                    "path": a.path,
                    "old_digest": str(a.digest),
                    "new_digest": str(b.digest),
                    "old_size": a.size,
                    "new_size": b.size,
                }
                for a, b in self.changed
            ],
            "unchanged": self.unchanged,
        }


def diff(ctx: Context, old_ref: str, new_ref: str) -> DiffResult:
    old, new = get(ctx, old_ref), get(ctx, new_ref)
    a, b = entries(ctx, old).by_path(), entries(ctx, new).by_path()
    added = [b[p] for p in sorted(b.keys() - a.keys())]
    removed = [a[p] for p in sorted(a.keys() - b.keys())]
    changed, same = [], 0
    for p in sorted(a.keys() & b.keys()):
        if a[p].digest != b[p].digest or a[p].type != b[p].type:
            changed.append((a[p], b[p]))
        else:
            same += 1
    return DiffResult(old, new, added, removed, changed, same)


# -- checkout ------------------------------------------------------------------------------------


@dataclass
class CheckoutResult:
    version: DatasetVersion
    path: Path
    written: int = 0
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # files left in place that the version lacks

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.version.ref,
            "digest": self.version.digest,
            "path": str(self.path),
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "extra": self.extra,
        }


def _destination(ctx: Context, version: DatasetVersion, to: str | None) -> Path:
    if to is None:
        if version.path is None:
            raise InvalidInput(f"{version.ref} has no recorded path; give --to DIR")
        parts = Path(version.path).parts
        if not parts or Path(version.path).is_absolute() or ".." in parts:
            raise IntegrityError(
                f"{version.ref}: the recorded path {version.path!r} is outside the project; "
                "give --to DIR"
            )
        return ctx.project.root / version.path
    dest = Path(os.path.abspath(to))
    if version.kind != "dir" and dest.is_dir() and not dest.is_symlink():
        return dest / (os.path.basename(version.path or version.name) or version.name)
    if dest.exists() and not (dest.is_file() or dest.is_dir() or dest.is_symlink()):
        # A device or a pipe (/dev/null...): replacing it by a file would break the machine.
        raise InvalidInput(f"--to {to}: not a file or folder that a checkout can write")
    return dest


def place(
    objects: ObjectStore,
    items: Sequence[tuple[Entry, Path]],
    *,
    mode: int | None,
    progress: bool = False,
) -> None:
    """Write each entry's content at its path, all or nothing (``data checkout``, ``get``).

    Every file is restored (and verified as it is written) beside its place first, and they are
    only moved into place once all of them are: a corrupt object leaves every destination as it
    was. A folder in the way of a file is replaced. Raises ``OSError``; the callers check first
    that every object is there and that no folder on the way is a link.
    """
    from concurrent.futures import ThreadPoolExecutor

    from pedigree.data.hashing import Progress, workers

    staged: dict[Path, Path] = {}
    try:
        with Progress("restoring", sum(e.size for e, _ in items), enabled=progress) as bar:

            def restore(item: tuple[Entry, Path]) -> None:
                e, path = item
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.parent / f".{path.name}.pedigree-{os.getpid()}"
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                staged[path] = tmp
                if e.type == SYMLINK:
                    os.symlink(os.fsdecode(objects.get_bytes(e.digest)), tmp)  # verified
                else:
                    objects.get_file(e.digest, tmp)  # verified as written
                    if mode is not None:
                        os.chmod(tmp, mode)
                bar.advance(e.size)

            with ThreadPoolExecutor(workers()) as pool:
                list(pool.map(restore, items))
        for final in list(staged):
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            os.replace(staged.pop(final), final)
    finally:
        for tmp in staged.values():
            with contextlib.suppress(OSError):
                tmp.unlink()


def checkout(
    ctx: Context,
    ref: str,
    *,
    to: str | None = None,
    clean: bool = False,
    force: bool = False,
    progress: bool = False,
) -> CheckoutResult:
    """Restore the exact bytes of a version, at its recorded path or at ``to``.

    Files already right are left alone. A file the checkout would overwrite (or, with ``clean``,
    delete) whose content is in no stored version is refused unless ``force``: a checkout never
    silently loses work. Every check happens before the first write, the first of them that the
    store passes ``audit verify`` (a record edited behind Pedigree's back is not acted on).
    """
    from pedigree.audit.guard import require_intact
    from pedigree.data.hashing import hash_files, scan
    from pedigree.data.tree import check_relpath

    require_intact(ctx, "nothing was checked out")
    version = get(ctx, ref)
    manifest = entries(ctx, version)
    dest = _destination(ctx, version, to)
    result = CheckoutResult(version, dest)
    objects = ctx.objects

    # What is there now, by path relative to the destination.
    single = version.kind != "dir"
    present: dict[str, Any] = {}
    if os.path.lexists(dest):
        if single:
            if dest.is_dir() and not dest.is_symlink():
                raise Conflict(f"{dest} is a folder; {version.ref} is a single file")
            present = {f.rel or manifest.entries[0].path: f for f in scan(dest)}
        else:
            if not dest.is_dir() or dest.is_symlink():
                raise Conflict(f"{dest} exists and is not a folder")
            present = {f.rel: f for f in scan(dest)}
        with stat_cache(ctx) as cache:
            hash_files(list(present.values()), cache=cache, progress=progress)

    wanted = manifest.by_path()
    todo: list[Entry] = []
    refused: list[str] = []
    for path, entry in wanted.items():
        check_relpath(path)
        have = present.get(path)
        if have is not None and have.digest == entry.digest and have.type == entry.type:
            result.unchanged += 1
            continue
        if have is not None and not force and have.digest and not objects.has(have.digest):
            refused.append(path)
        todo.append(entry)
    extra = sorted(p for p in present if p not in wanted)
    if clean:
        for path in extra:
            have = present[path]
            if not force and have.digest and not objects.has(have.digest):
                refused.append(path)
    if refused:
        shown = ", ".join(refused[:5]) + (", ..." if len(refused) > 5 else "")
        raise Conflict(
            f"checking out {version.ref} would overwrite changes that are in no stored version: "
            f"{shown}",
            hint="add them first (pedigree data add), or pass --force to discard them",
        )
    if not single:
        _refuse_links_inside(dest, [e.path for e in todo] + (extra if clean else []))
    for e in todo:  # fail before writing anything if an object is missing
        if not objects.has(e.digest):
            raise ObjectNotFound(f"object {e.digest} of {version.ref} ({e.path}) is missing")

    def target(e: Entry) -> Path:
        return dest if single else dest / e.path

    try:
        place(objects, [(e, target(e)) for e in todo], mode=_FILE_MODE, progress=progress)
        if clean:
            for path in extra:
                _remove(dest / path)
                result.removed.append(path)
        else:
            result.extra = extra
    except OSError as exc:
        raise InvalidInput(f"cannot write {exc.filename or dest}: {exc.strerror or exc}") from exc
    result.written = len(todo)
    return result


def _refuse_links_inside(dest: Path, paths: list[str]) -> None:
    """Refuse when a folder a checkout would write into is a symlink (``ds/sub -> /elsewhere``).

    A checkout writes only through folders it can see are real: following a link it did not
    create could write outside the project. Links that are entries themselves are replaced, not
    followed, so only the parent chain of each path is looked at (each folder once).
    """
    seen: dict[str, bool] = {}
    for path in paths:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            link = seen.get(folder)
            if link is None:
                link = seen[folder] = os.path.islink(dest / folder)
            if link:
                raise Conflict(
                    f"{dest / folder} is a symlink; a checkout never writes through a link "
                    "it did not create",
                    hint="remove the link, or check out somewhere else with --to DIR",
                )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


# -- verify --------------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "corrupt": self.corrupt,
            "missing": self.missing,
        }


def verify(ctx: Context, *, progress: bool = False) -> VerifyReport:
    """Re-hash every stored object; report corrupt ones and referenced ones that are missing."""
    from concurrent.futures import ThreadPoolExecutor

    from pedigree.data.hashing import Progress, workers

    objects = ctx.objects
    stored = list(objects.iter_digests())
    report = VerifyReport(checked=len(stored))
    sizes = {}
    for d in stored:
        with contextlib.suppress(PedigreeError):
            sizes[d] = objects.size(d)

    with Progress("verifying", sum(sizes.values()), enabled=progress) as bar:

        def check(d: Digest) -> str | None:
            try:
                objects.verify(d)
            except IntegrityError:
                return "corrupt"
            except ObjectNotFound:
                return "missing"
            finally:
                bar.advance(sizes.get(d, 0))
            return None

        with ThreadPoolExecutor(workers()) as pool:
            verdicts = list(pool.map(check, stored))
    present = set()
    for d, verdict in zip(stored, verdicts, strict=True):
        if verdict == "corrupt":
            report.corrupt.append(str(d))
        elif verdict is None:
            present.add(str(d))
    with ctx.read() as reader:
        refs = reader.referenced_digests()
    for digest, where in sorted(refs.items()):
        if digest not in present and str(digest) not in report.corrupt:
            report.missing.append({"digest": digest, "referenced_by": where})
    return report


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
