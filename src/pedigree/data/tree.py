"""Folder manifests: the canonical, hashable description of a folder's content (a Merkle node).

A manifest lists every file under a folder by its path relative to the folder (``/`` separated,
sorted by the UTF-8 bytes of the path), its size, its digest and its type (``file`` or
``symlink``), and names the hash algorithm. Its canonical JSON encoding is what gets hashed and
stored, so a folder's digest depends only on its content: not on listing order, timestamps,
permissions or the machine.

>>> from pedigree.digest import hash_bytes
>>> m = Manifest.build([Entry("b.csv", hash_bytes(b"2"), 1), Entry("a.csv", hash_bytes(b"1"), 1)])
>>> [e.path for e in m.entries]
['a.csv', 'b.csv']
>>> m.encode()[:40]
b'{"algorithm":"blake3","entries":[["a.csv'
>>> Manifest.decode(m.encode()) == m
True

Symlinks are never followed: a link is an entry of type ``symlink`` whose bytes are its target
text (what ``os.readlink`` returns), so a checkout recreates the link itself. Empty folders are
not recorded (as in git).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pedigree.digest import ALGORITHM, Digest, hash_bytes
from pedigree.errors import IntegrityError, InvalidInput

__all__ = ["FORMAT", "Entry", "Manifest", "check_relpath"]

FORMAT = "pedigree.tree/1"
FILE = "file"
SYMLINK = "symlink"


@dataclass(frozen=True, slots=True)
class Entry:
    """One file (or symlink) of a folder, by its path relative to the folder."""

    path: str
    digest: Digest
    size: int
    type: str = FILE

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "digest": str(self.digest), "size": self.size, "type": self.type}


def check_relpath(path: str) -> str:
    """A manifest path: relative, ``/`` separated, no empty, ``.`` or ``..`` parts."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidInput(f"not a valid path inside a folder: {path!r}")
    if "\x00" in path:
        raise InvalidInput(f"a path cannot contain NUL: {path!r}")
    return path


def _path(entry: Entry) -> str:
    return entry.path


def _sort_key(entry: Entry) -> bytes:
    return entry.path.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Manifest:
    """The sorted entries of a folder. Build with :meth:`build` or :meth:`decode`."""

    entries: tuple[Entry, ...]

    @classmethod
    def build(cls, entries: Iterable[Entry]) -> Manifest:
        items = list(entries)
        if all(e.path.isascii() for e in items):
            ordered = sorted(items, key=_path)  # the same order as UTF-8 bytes, faster
        else:
            ordered = sorted(items, key=_sort_key)
        for prev, cur in itertools.pairwise(ordered):
            if prev.path == cur.path:
                raise InvalidInput(f"the path {cur.path!r} appears twice in one folder")
        return cls(tuple(ordered))

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    @property
    def file_count(self) -> int:
        return len(self.entries)

    def encode(self) -> bytes:
        """The canonical bytes: sorted keys, no spaces, entries as [path, type, size, hex]."""
        rows = [[e.path, e.type, e.size, e.digest.hex] for e in self.entries]
        doc = {"algorithm": ALGORITHM, "entries": rows, "format": FORMAT}
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8", "surrogateescape")

    @property
    def digest(self) -> Digest:
        return hash_bytes(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        """Parse a stored manifest, refusing anything that is not canonical."""
        try:
            doc = json.loads(data.decode("utf-8", "surrogateescape"))
            if doc.get("format") != FORMAT or doc.get("algorithm") != ALGORITHM:
                raise ValueError(f"unknown manifest format {doc.get('format')!r}")
            entries = []
            for path, kind, size, hexdigest in doc["entries"]:
                if kind not in (FILE, SYMLINK) or not isinstance(size, int) or size < 0:
                    raise ValueError(f"bad entry for {path!r}")
                entries.append(
                    Entry(check_relpath(path), Digest.parse(f"{ALGORITHM}:{hexdigest}"), size, kind)
                )
        except (ValueError, TypeError, KeyError, AttributeError, InvalidInput) as exc:
            raise IntegrityError(f"not a Pedigree folder manifest: {exc}") from exc
        manifest = cls(tuple(entries))
        if manifest.encode() != data:
            raise IntegrityError("the folder manifest is not in canonical form")
        return manifest

    def by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries}
