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
from collections.abc import Callable, Iterator, Sequence

from pedigree.digest import Digest

__all__ = ["ObjectStore"]


class ObjectStore(ABC):
    location: str

    @abstractmethod
    def has(self, digest: Digest) -> bool: ...

    @abstractmethod
    def put_file(self, path: str | os.PathLike[str], digest: Digest | None = None) -> Digest:
        """Store a file's bytes; ``digest`` (when the caller already hashed it) is checked."""

    def put_files(
        self,
        items: Sequence[tuple[str | os.PathLike[str], Digest]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Store many already-hashed files, each checked as ``put_file`` checks it.

        Backends may batch and parallelise the work (the local store makes one durability
        barrier for the whole batch instead of one ``fsync`` per file); this default stores them
        one by one. ``progress`` is called with the size of each file stored.
        """
        for path, digest in items:
            self.put_file(path, digest)
            if progress is not None:
                progress(os.stat(path).st_size)

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
