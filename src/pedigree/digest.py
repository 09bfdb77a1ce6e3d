"""Content digests: a small value type and the hashing functions that make them.

A digest always names its algorithm, so stored values never "hash differently" without saying so:

>>> d = hash_bytes(b"hello")
>>> str(d)[:10]
'blake3:ea8'
>>> Digest.parse(str(d)) == d
True
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import blake3

from pedigree.errors import InvalidInput

__all__ = ["ALGORITHM", "Digest", "hash_bytes", "hash_file", "hasher"]

ALGORITHM = "blake3"
_HEX = re.compile(r"^[0-9a-f]{64}$")
# Below this size a plain read beats mmap plus thread start-up.
_MMAP_THRESHOLD = 4 * 1024 * 1024
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


def hash_file(path: str | os.PathLike[str], *, size: int | None = None) -> Digest:
    """Hash a file's bytes; big files are memory-mapped and hashed on all cores."""
    p = Path(path)
    if size is None:
        size = p.stat().st_size
    if size >= _MMAP_THRESHOLD:
        h = hasher()
        h.update_mmap(p)
        return Digest(ALGORITHM, h.hexdigest())
    h = blake3.blake3()
    with open(p, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return Digest(ALGORITHM, h.hexdigest())
