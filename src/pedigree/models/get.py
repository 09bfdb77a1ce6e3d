"""Get any stored artifact back by its record: ``pedigree get TARGET``.

A target is

- ``blake3:<hex>``, or a unique prefix of 6+ hex characters as text output prints digests;
- ``RUN:PATH``: an output (or input) of a run, PATH relative to the project root; a file inside
  a folder the run wrote names that file;
- ``DATASET@vN`` or ``DATASET@vN:PATH``: a dataset version, or one file of a folder version;
- ``NAME@ALIAS`` or ``NAME/N`` (``model:`` in front is allowed): a registered model version.

Folders come back whole. Every file is written to a temporary file beside its place, verified
against its digest, then renamed: a missing or corrupt object leaves nothing behind, and a file
already at the destination with other content is never replaced without ``force``.

>>> import tempfile
>>> from pathlib import Path
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.data.datasets import add
>>> project, _ = init_project(tempfile.mkdtemp())
>>> ctx = Context(project)
>>> _ = (project.root / "prices.csv").write_text("1\\n")
>>> digest = add(ctx, project.root / "prices.csv", name="prices").version.digest
>>> out = Path(tempfile.mkdtemp()) / "p.csv"
>>> result = get(ctx, "prices@v1", dest=out)
>>> result.written, out.read_text(), result.artifact.digest == digest
(1, '1\\n', True)
>>> cached = get(ctx, digest[:20]).path          # no dest: a read-only copy in the cache
>>> cached.read_text(), cached.name
('1\\n', 'prices.csv')
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pedigree.data import datasets
from pedigree.data.tree import SYMLINK, Entry, Manifest, check_relpath
from pedigree.digest import Digest
from pedigree.errors import Conflict, InvalidInput, NotFound, ObjectNotFound

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.store.reader import Reader

__all__ = ["Artifact", "GetResult", "get", "resolve_artifact"]

_DIGEST_PREFIX = re.compile(r"^blake3:[0-9a-f]{6,64}$")
_DATASET = re.compile(r"^(?P<name>[^@]+)@v(?P<version>\d+)(?::(?P<path>.+))?$")
_RUN_PATH = re.compile(r"^(?P<run>last|[0-9a-fA-F-]{4,36}):(?P<path>.+)$")
_MODEL_VERSION = re.compile(r"^(?P<name>[^@/][^@]*)/(?P<version>\d+)$")
_MODEL_ALIAS = re.compile(r"^(?P<name>[^@]+)@(?P<alias>[A-Za-z][\w.-]*)$")


@dataclass(frozen=True)
class Artifact:
    """What a target names: content by digest, its kind, and where the record holds it."""

    target: str
    digest: str
    kind: str  # file | dir | symlink
    name: str  # the file or folder name it comes back as
    source: str  # for people: "output models/m.pkl of run 0190...", "dataset prices@v1", ...

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "digest": self.digest,
            "kind": self.kind,
            "name": self.name,
            "source": self.source,
        }


@dataclass
class GetResult:
    artifact: Artifact
    path: Path
    written: int = 0  # files written
    unchanged: int = 0  # files already there with the right content
    size: int = 0  # bytes of the artifact
    files: int = 0
    cached: bool = False  # a read-only copy in the project cache (no destination given)
    extra: list[str] = field(default_factory=list)  # files in a destination folder not in it

    def to_json(self) -> dict[str, Any]:
        return {
            **self.artifact.to_json(),
            "path": str(self.path),
            "size": self.size,
            "files": self.files,
            "written": self.written,
            "unchanged": self.unchanged,
            "cached": self.cached,
            "extra": self.extra,
        }


# -- resolving ---------------------------------------------------------------------------------


def _name_of(path: str | None, digest: str) -> str:
    if path:
        return PurePosixPath(path).name or path
    return digest.replace(":", "-")[:19]


def _clean_path(text: str) -> str:
    rel = str(PurePosixPath(text.strip().replace(os.sep, "/")))
    rel = rel.removeprefix("./")
    return check_relpath(rel)


def _kind(reader: Reader, digest: str) -> str:
    return "dir" if reader.tree_known(digest) else "file"


def _inside(ctx: Context, digest: str, kind: str, sub: str, what: str, target: str) -> Artifact:
    """The file ``sub`` inside the folder ``digest``."""
    if kind != "dir":
        raise InvalidInput(f"{what} is a single file: {target!r} names a path inside it")
    manifest = Manifest.decode(_object_bytes(ctx, Digest.parse(digest), what))
    prefix = sub + "/"
    match = manifest.by_path().get(sub)
    if match is not None:
        return Artifact(
            target, str(match.digest), match.type, _name_of(sub, ""), f"{sub} in {what}"
        )
    if any(e.path.startswith(prefix) for e in manifest.entries):
        raise InvalidInput(
            f"{sub} is a folder inside {what}: get the whole version, or one file in it"
        )
    raise NotFound(f"{what} holds no file {sub}")


def resolve_artifact(ctx: Context, text: str) -> Artifact:
    """The stored content a target names; ``NotFound`` when nothing recorded matches it."""
    from pedigree.errors import RunNotFound

    target = text.strip()
    if not target:
        raise InvalidInput("no target: a digest, RUN:PATH, DATASET@vN[:PATH], NAME@ALIAS or NAME/N")
    low = target.lower()
    with ctx.read() as reader:
        if low.startswith("blake3:"):
            return _digest_artifact(reader, target)
        if low.startswith("model:"):
            return _model_artifact(ctx, reader, target, target[len("model:") :])
        m = _DATASET.match(target)
        if m is not None:
            return _dataset_artifact(ctx, reader, target, m)
        m = _RUN_PATH.match(target)
        if m is not None:
            try:
                run_id = reader.resolve_run(m.group("run"))
            except RunNotFound:
                run_id = None
            if run_id is not None:
                return _run_artifact(ctx, reader, target, run_id, m.group("path"))
        if _MODEL_VERSION.match(target) or _MODEL_ALIAS.match(target):
            return _model_artifact(ctx, reader, target, target)
    raise NotFound(
        f"{target!r} is not a target: give a digest (blake3:...), RUN:PATH, DATASET@vN[:PATH], "
        "or a model NAME@ALIAS or NAME/N"
    )


def _digest_artifact(reader: Reader, target: str) -> Artifact:
    low = target.lower()
    if len(low) == len("blake3:") + 64:
        digest = str(Digest.parse(low))
    elif _DIGEST_PREFIX.match(low):
        found = reader.digests_starting(low)
        if len(found) > 1:
            from pedigree.errors import Ambiguous

            raise Ambiguous(f"{target!r} matches several digests; give more characters")
        if not found:
            raise NotFound(
                f"no run read or wrote a digest starting {low}, and no dataset holds one"
            )
        digest = found.pop()
    else:
        raise InvalidInput(f"not a digest: {target!r} (blake3: and 6 to 64 hex characters)")
    if not reader.digest_recorded(digest):
        raise NotFound(f"no run read or wrote {digest}, and no dataset holds it")
    path = reader.digest_path(digest)
    return Artifact(target, digest, _kind(reader, digest), _name_of(path, digest), digest)


def _dataset_artifact(ctx: Context, reader: Reader, target: str, m: re.Match[str]) -> Artifact:
    name, number = m.group("name"), int(m.group("version"))
    version = reader.dataset_version(name, number)
    if version is None:
        latest = reader.dataset_version(name)
        if latest is None:
            raise NotFound(f"no dataset named {name!r} (see `pedigree data ls`)")
        raise NotFound(f"{name} has no version {number} (its latest is v{latest.version})")
    what = f"dataset {version.ref}"
    if m.group("path"):
        return _inside(
            ctx, version.digest, version.kind, _clean_path(m.group("path")), what, target
        )
    label = version.path or version.name
    return Artifact(target, version.digest, version.kind, _name_of(label, version.digest), what)


def _run_artifact(ctx: Context, reader: Reader, target: str, run_id: str, path: str) -> Artifact:
    rel = _clean_path(path)
    items = reader.run_io([run_id])[run_id]
    # An output before an input of the same path: what the run wrote is what people ask for.
    for item in sorted(items, key=lambda i: i.role != "output"):
        if item.path == rel:
            what = f"{item.role} {rel} of run {run_id}"
            return Artifact(target, item.digest, item.kind, _name_of(rel, item.digest), what)
    for item in sorted(items, key=lambda i: i.role != "output"):
        if item.kind == "dir" and rel.startswith(item.path + "/"):
            what = f"{item.role} {item.path} of run {run_id}"
            return _inside(ctx, item.digest, "dir", rel[len(item.path) + 1 :], what, target)
    known = ", ".join(sorted({i.path for i in items if i.role == "output"})[:5]) or "none"
    raise NotFound(f"run {run_id} recorded no file or folder {rel} (its outputs: {known})")


def _model_artifact(ctx: Context, reader: Reader, target: str, ref: str) -> Artifact:
    from pedigree.models.registry import find_version

    version = find_version(reader, ref, project=ctx.project)
    return Artifact(
        target,
        version.digest,
        version.kind,
        _name_of(version.path, version.digest),
        f"model {version.ref}",
    )


# -- writing -----------------------------------------------------------------------------------


def _object_bytes(ctx: Context, digest: Digest, what: str) -> bytes:
    try:
        return ctx.objects.get_bytes(digest)
    except ObjectNotFound:
        raise ObjectNotFound(f"object {digest} ({what}) is missing from the object store") from None


def _entries(ctx: Context, art: Artifact) -> tuple[Manifest, bool]:
    """The files to write, and whether the artifact is a folder."""
    digest = Digest.parse(art.digest)
    if art.kind == "dir":
        return Manifest.decode(_object_bytes(ctx, digest, art.source)), True
    try:
        size = ctx.objects.size(digest)
    except ObjectNotFound:
        raise ObjectNotFound(
            f"object {digest} ({art.source}) is missing from the object store"
        ) from None
    kind = SYMLINK if art.kind == SYMLINK else "file"
    return Manifest((Entry(art.name, digest, size, kind),)), False


def _same(path: Path, entry: Entry) -> bool:
    """Whether ``path`` already holds exactly ``entry``."""
    from pedigree.digest import hash_bytes, hash_file

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if entry.type == SYMLINK:
        return stat.S_ISLNK(st.st_mode) and hash_bytes(os.fsencode(os.readlink(path))) == (
            entry.digest
        )
    if not stat.S_ISREG(st.st_mode) or st.st_size != entry.size:
        return False
    return hash_file(path) == entry.digest


def _check_present(ctx: Context, entries: Sequence[Entry]) -> None:
    """Fail before writing anything when an object is missing."""
    for entry in entries:
        if not ctx.objects.has(entry.digest):
            raise ObjectNotFound(f"object {entry.digest} ({entry.path}) is missing from the store")


def _write(ctx: Context, entries: list[tuple[Entry, Path]], *, mode: int | None = None) -> None:
    """Stage every file beside its place (verified as written), then move them all into place:
    a missing or corrupt object leaves every destination as it was."""
    _check_present(ctx, [entry for entry, _ in entries])
    try:
        datasets.place(ctx.objects, entries, mode=mode)
    except OSError as exc:
        raise InvalidInput(f"cannot write {exc.filename or '?'}: {exc.strerror or exc}") from exc


def _default_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def get(
    ctx: Context,
    target: str,
    *,
    dest: str | os.PathLike[str] | None = None,
    into: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> GetResult:
    """Write the content ``target`` names at ``dest`` (a file given an existing folder as
    ``dest`` goes in it, a folder's files go in it), or under its own name in the folder
    ``into`` (what ``pedigree get`` without ``-o`` does in the working directory); with
    neither, return a read-only copy in the project cache.
    """
    art = resolve_artifact(ctx, target)
    manifest, folder = _entries(ctx, art)
    size = sum(e.size for e in manifest.entries)
    if dest is None and into is not None:
        dest = Path(into) / art.name
    if dest is None:
        return _cached(ctx, art, manifest, folder, size)
    path = Path(os.path.abspath(os.fspath(dest)))
    if path.is_dir() and not path.is_symlink() and not folder:
        path = path / art.name
    result = GetResult(art, path, size=size, files=len(manifest.entries))
    if folder:
        replace = os.path.lexists(path) and (not path.is_dir() or path.is_symlink())
        if replace and not force:
            raise Conflict(
                f"{path} exists and is not a folder; {art.source} is one",
                hint="pass --force to replace it",
            )
        if replace:
            _check_present(ctx, manifest.entries)
            path.unlink()
        places = [(e, path / check_relpath(e.path)) for e in manifest.entries]
        if path.is_dir():
            wanted = {e.path for e in manifest.entries}
            result.extra = sorted(
                p.relative_to(path).as_posix()
                for p in path.rglob("*")
                if (p.is_file() or p.is_symlink()) and p.relative_to(path).as_posix() not in wanted
            )
    else:
        if os.path.lexists(path) and path.is_dir() and not path.is_symlink():
            raise Conflict(f"{path} is a folder inside a folder; name the file to write")
        places = [(manifest.entries[0], path)]
    todo: list[tuple[Entry, Path]] = []
    refused: list[str] = []
    for entry, place in places:
        if _same(place, entry):
            result.unchanged += 1
            continue
        if os.path.lexists(place) and not force:
            refused.append(str(place))
        todo.append((entry, place))
    if refused:
        shown = ", ".join(refused[:5]) + (", ..." if len(refused) > 5 else "")
        raise Conflict(
            f"{shown} already exists with other content; nothing was written",
            hint="pass --force to overwrite it",
        )
    _write(ctx, todo, mode=_default_mode())
    result.written = len(todo)
    return result


def _cached(ctx: Context, art: Artifact, manifest: Manifest, folder: bool, size: int) -> GetResult:
    """A read-only copy under ``.pedigree/cache/get/<digest>/<name>``, made once per digest."""
    import tempfile

    home = ctx.project.cache_dir / "get" / Digest.parse(art.digest).hex
    final = home / art.name
    result = GetResult(art, final, size=size, files=len(manifest.entries), cached=True)
    if os.path.lexists(final):
        result.unchanged = len(manifest.entries)
        return result
    home.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=home, prefix=".building-"))
    try:
        top = work / art.name
        places = [
            (e, top / check_relpath(e.path)) if folder else (e, top) for e in manifest.entries
        ]
        _write(ctx, places, mode=0o444)
        if folder:
            top.mkdir(exist_ok=True)
            for d in sorted((p for p in top.rglob("*") if p.is_dir()), reverse=True):
                os.chmod(d, 0o555)
        try:
            os.rename(top, final)  # before the top folder is read-only: a move rewrites its ".."
        except OSError:
            if not os.path.lexists(final):  # another process made it first: theirs is as good
                raise
        if folder:
            os.chmod(final, 0o555)
    finally:
        _force_remove(work)
    result.written = len(manifest.entries)
    return result


def _force_remove(path: Path) -> None:
    if not os.path.lexists(path):
        return
    for d in [path, *(p for p in path.rglob("*") if p.is_dir() and not p.is_symlink())]:
        with contextlib.suppress(OSError):
            os.chmod(d, 0o755)
    shutil.rmtree(path, ignore_errors=True)
