"""Content digests: a small value type and the hashing functions that make them.

A digest always names its algorithm, so stored values never "hash differently" without saying so:

>>> d = hash_bytes(b"hello")
>>> str(d)[:10]
'blake3:ea8'
>>> Digest.parse(str(d)) == d
True
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import blake3

from pedigree.errors import InvalidInput

__all__ = ["ALGORITHM", "MMAP_MIN", "Digest", "hash_bytes", "hash_file", "hash_open_file", "hasher"]

ALGORITHM = "blake3"
_HEX = re.compile(r"^[0-9a-f]{64}$")
# From this size on a file is memory-mapped and hashed with BLAKE3's own threads as well, so one
# huge file still uses every core. Below it a plain read wins: files are hashed on a pool, one
# file per thread (``data.hashing``, ``data verify``, the object store's checks), which already
# keeps every core busy (48 files of 12 MiB on such a pool, 2 cores: mmap took 12 % longer).
MMAP_MIN = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """An algorithm and a lowercase hex digest, written ``blake3:<hex>``."""

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        return self.hex[:12]

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``blake3:<hex>`` (or a bare 64-char hex, taken as BLAKE3)."""
        algorithm, sep, hexpart = text.strip().partition(":")
        if not sep:
            algorithm, hexpart = ALGORITHM, algorithm
        hexpart = hexpart.lower()
        if algorithm != ALGORITHM or not _HEX.match(hexpart):
            raise InvalidInput(f"not a digest: {text!r} (expected blake3:<64 hex characters>)")
        return cls(algorithm, hexpart)


def hasher() -> blake3.blake3:
    return blake3.blake3(max_threads=blake3.blake3.AUTO)


def hash_bytes(data: bytes) -> Digest:
    return Digest(ALGORITHM, blake3.blake3(data).hexdigest())


def hash_open_file(
    f: io.RawIOBase,
    path: str | os.PathLike[str],
    size: int,
    *,
    progress: Callable[[int], None] | None = None,
) -> Digest:
    """Hash the file ``f`` (opened unbuffered on ``path``, ``size`` bytes long).

    The caller keeps the file open, so it can check that the file did not change while it was
    read; ``progress`` is called with the number of bytes hashed as the work goes.
    """
    if size >= MMAP_MIN:
        h = hasher()
        h.update_mmap(path)
        if progress is not None:
            progress(size)
        return Digest(ALGORITHM, h.hexdigest())
    h = blake3.blake3()
    # Sized to the file: zeroing a 1 MiB buffer per small file would cost more than reading it.
    buf = bytearray(min(_CHUNK, max(size, 1)))
    view = memoryview(buf)
    while n := f.readinto(buf):
        h.update(view[:n])
        if progress is not None:
            progress(n)
    return Digest(ALGORITHM, h.hexdigest())


def hash_file(path: str | os.PathLike[str], *, size: int | None = None) -> Digest:
    """Hash a file's bytes (see :func:`hash_open_file`).

    >>> import os, tempfile
    >>> fd, path = tempfile.mkstemp()
    >>> os.write(fd, b"hello"), os.close(fd)
    (5, None)
    >>> hash_file(path) == hash_bytes(b"hello")
    True
    """
    with open(path, "rb", buffering=0) as f:
        if size is None:
            size = os.fstat(f.fileno()).st_size
        return hash_open_file(f, path, size)
