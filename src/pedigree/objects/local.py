"""A folder of objects: ``<root>/<first 2 hex>/<remaining 62 hex>``.

Writes go to a temporary file in the same folder, are flushed to disk and then renamed into
place, so a reader never sees a partial object, whatever happens to the writer.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pedigree.data.digest import ALGORITHM, Digest, hash_bytes, hash_file, hasher
from pedigree.errors import IntegrityError, ObjectNotFound, StoreError
from pedigree.objects.base import ObjectStore

__all__ = ["LocalObjectStore"]

_COPY_CHUNK = 4 * 1024 * 1024


def _corrupt(digest: Digest) -> str:
    return f"object {digest} is corrupt: its bytes no longer match the digest"


class LocalObjectStore(ObjectStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def _path(self, digest: Digest) -> Path:
        return self.root / digest.hex[:2] / digest.hex[2:]

    def has(self, digest: Digest) -> bool:
        return self._path(digest).is_file()

    def size(self, digest: Digest) -> int:
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(f"object {digest} is missing from {self.location}") from None

    def _write_atomic(self, digest: Digest, write: object) -> None:
        target = self._path(digest)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        except OSError as exc:
            raise StoreError(f"cannot write to the object store {self.location}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)  # type: ignore[operator]
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                hint = " (disk full)" if exc.errno == errno.ENOSPC else ""
                raise StoreError(f"cannot store object {digest}{hint}: {exc}") from exc
            raise

    def put_bytes(self, data: bytes) -> Digest:
        digest = hash_bytes(data)
        if not self.has(digest):
            self._write_atomic(digest, lambda f: f.write(data))
        return digest

    def put_file(self, path: str | os.PathLike[str], digest: Digest | None = None) -> Digest:
        src = Path(path)
        if digest is None:
            digest = hash_file(src)
        if self.has(digest):
            return digest

        def copy(f: object) -> None:
            # Hash what we copy, so a file that changed since it was hashed is refused.
            h = hasher()
            with open(src, "rb") as s:
                while chunk := s.read(_COPY_CHUNK):
                    h.update(chunk)
                    f.write(chunk)  # type: ignore[attr-defined]
            if h.hexdigest() != digest.hex:
                raise IntegrityError(f"{src} changed while it was being stored")

        self._write_atomic(digest, copy)
        return digest

    def _open_verified(self, digest: Digest) -> Path:
        p = self._path(digest)
        if not p.is_file():
            raise ObjectNotFound(f"object {digest} is missing from {self.location}")
        return p

    def get_bytes(self, digest: Digest) -> bytes:
        p = self._open_verified(digest)
        data = p.read_bytes()
        if hash_bytes(data) != digest:
            raise IntegrityError(_corrupt(digest))
        return data

    def get_file(self, digest: Digest, dest: str | os.PathLike[str]) -> None:
        src = self._open_verified(digest)
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.tmp-")
        try:
            h = hasher()
            with os.fdopen(fd, "wb") as f, open(src, "rb") as s:
                while chunk := s.read(_COPY_CHUNK):
                    h.update(chunk)
                    f.write(chunk)
            if h.hexdigest() != digest.hex:
                raise IntegrityError(_corrupt(digest))
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def verify(self, digest: Digest) -> None:
        p = self._open_verified(digest)
        if hash_file(p) != digest:
            raise IntegrityError(_corrupt(digest))

    def iter_digests(self) -> Iterator[Digest]:
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if len(sub.name) != 2 or not sub.is_dir():
                continue
            for obj in sorted(sub.iterdir()):
                if not obj.name.startswith("."):
                    yield Digest(ALGORITHM, sub.name + obj.name)
