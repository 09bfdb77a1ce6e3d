"""Blob storage by content digest, behind one small interface.

>>> import tempfile
>>> store = open_object_store(tempfile.mkdtemp())
>>> d = store.put_bytes(b"hello")
>>> store.get_bytes(d), store.has(d), store.size(d)
(b'hello', True, 5)
"""

from __future__ import annotations

from pedigree.objects.base import ObjectStore
from pedigree.objects.local import LocalObjectStore

__all__ = ["LocalObjectStore", "ObjectStore", "open_object_store"]


def open_object_store(location: str) -> ObjectStore:
    """Open the object store a location names: a folder path, ``file://…``, ``s3://bucket/prefix``
    or a team server (``http(s)://host:port``)."""
    if location.startswith("s3://"):
        from pedigree.objects.s3 import S3ObjectStore  # type: ignore[import-not-found,unused-ignore]

        return S3ObjectStore.from_uri(location)  # type: ignore[no-any-return,unused-ignore]
    if location.lower().startswith(("http://", "https://")):
        from pedigree.credentials import token_for
        from pedigree.objects.remote import RemoteObjectStore

        return RemoteObjectStore(location, token_for(location))
    if location.startswith("file://"):
        location = location[len("file://") :]
    return LocalObjectStore(location)
