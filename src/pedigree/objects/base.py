"""The object store contract.

An object store keeps immutable blobs under their BLAKE3 digest. Implementations promise:

- ``put_*`` is atomic and idempotent: no partial object is ever visible under a digest, also after
  a crash or a full disk, and storing bytes that are already there costs no write;
- every read verifies the bytes against the digest and raises ``IntegrityError`` on a mismatch;
- a missing digest raises ``ObjectNotFound``;
- backend failures surface as ``StoreError``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator

from pedigree.data.digest import Digest

__all__ = ["ObjectStore"]


class ObjectStore(ABC):
    location: str

    @abstractmethod
    def has(self, digest: Digest) -> bool: ...

    @abstractmethod
    def put_file(self, path: str | os.PathLike[str], digest: Digest | None = None) -> Digest:
        """Store a file's bytes; ``digest`` (when the caller already hashed it) is checked."""

    @abstractmethod
    def put_bytes(self, data: bytes) -> Digest: ...

    @abstractmethod
    def get_bytes(self, digest: Digest) -> bytes: ...

    @abstractmethod
    def get_file(self, digest: Digest, dest: str | os.PathLike[str]) -> None:
        """Write the object to ``dest`` atomically, verified."""

    @abstractmethod
    def size(self, digest: Digest) -> int: ...

    @abstractmethod
    def iter_digests(self) -> Iterator[Digest]: ...

    @abstractmethod
    def verify(self, digest: Digest) -> None:
        """Re-hash a stored object; raise ``IntegrityError`` or ``ObjectNotFound``."""
