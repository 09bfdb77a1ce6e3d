"""The object store through the team server: ``HEAD/GET/PUT /api/v1/objects/{digest}``.

Capture happens on the client, which hashes each file once (the snapshot's stat cache) and then:

- asks whether the server holds the digest (``HEAD``) and skips the upload when it does;
- sends the file as the body of a ``PUT``, streamed from disk in 1 MiB blocks (never whole in
  memory); the server hashes the bytes as they arrive and refuses (400) bytes that do not hash
  to the digest, so a file that changed while it was sent is not stored under the wrong name;
- resumes: an upload cut short leaves what arrived on the server, and the next attempt sends
  only the rest (``HEAD /api/v1/uploads/{digest}`` says how much is there, ``?offset=`` says
  where the body starts);
- reads (``GET``) stream to a temporary file beside the destination, hashed on the way and
  renamed into place only when the digest matches: the contract of every object store (reads
  verify) holds through the server too.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pedigree.digest import Digest, hash_bytes, hash_file, hasher
from pedigree.errors import Conflict, IntegrityError, ObjectNotFound, ServerUnreachable
from pedigree.objects.base import ObjectStore
from pedigree.store.http import HTTPClient, Response
from pedigree.store.outbox import outbox_for

__all__ = ["RemoteObjectStore"]

_CHUNK = 1 << 20
# From this size on an upload first asks how much of it the server already holds.
_RESUME_MIN = 8 << 20
_ATTEMPTS = 5


class RemoteObjectStore(ObjectStore):
    """The objects of the team server at ``location`` (``http(s)://host:port``)."""

    def __init__(self, location: str, token: str | None) -> None:
        self.location = location.rstrip("/")
        self.http = HTTPClient(self.location, token)
        self.outbox = outbox_for(self.location)

    @staticmethod
    def _path(digest: Digest) -> str:
        return f"/api/v1/objects/{digest}"

    def _head(self, digest: Digest) -> Response | None:
        resp = self.http.request("HEAD", self._path(digest), ok=(200, 404))
        assert isinstance(resp, Response)
        return resp if resp.status == 200 else None

    def has(self, digest: Digest) -> bool:
        try:
            return self._head(digest) is not None
        except ServerUnreachable:
            # Recording offline (records already wait in the outbox): say what will be sent,
            # so that capture goes on and queues the rest; otherwise the caller must know.
            if self.outbox.has_pending():
                return self.outbox.holds(digest)
            raise

    def size(self, digest: Digest) -> int:
        resp = self._head(digest)
        if resp is None:
            raise ObjectNotFound(f"object {digest} is not in the team server's object store")
        length = {k.lower(): v for k, v in resp.headers.items()}.get("content-length", "")
        return int(length) if length.isdigit() else len(self.get_bytes(digest))

    def put_file(self, path: str | os.PathLike[str], digest: Digest | None = None) -> Digest:
        if digest is None:
            digest = hash_file(path)
        try:
            self._upload(path, digest)
        except ServerUnreachable:
            # Kept for `pedigree sync`, checked against its digest when the server takes it.
            self.outbox.put_object(digest, path)
        return digest

    def _upload(self, path: str | os.PathLike[str], digest: Digest) -> None:
        """PUT the file, resuming an upload the server holds part of (large files ask first;
        a small one learns it from a 409)."""
        if self.has(digest):
            return
        size = os.stat(path).st_size
        offset = self._offset(digest) if size >= _RESUME_MIN else 0
        for _ in range(_ATTEMPTS):
            with open(path, "rb") as f:
                f.seek(min(offset, size))
                try:
                    self.http.request(
                        "PUT",
                        f"{self._path(digest)}?offset={offset}",
                        body=f,
                        headers={
                            "Content-Type": "application/octet-stream",
                            "Content-Length": str(max(size - offset, 0)),
                        },
                        ok=(200, 201),
                    )
                    return
                except Conflict:
                    # The server holds another part of it (an attempt cut short, another
                    # client's upload): ask how much, and send the rest.
                    offset = self._offset(digest)
        raise Conflict(f"the upload of {digest} kept conflicting; try again")

    def _offset(self, digest: Digest) -> int:
        resp = self.http.request("HEAD", f"/api/v1/uploads/{digest}", ok=(200, 404))
        assert isinstance(resp, Response)
        if resp.status != 200:
            return 0
        value = {k.lower(): v for k, v in resp.headers.items()}.get("upload-offset", "0")
        return int(value) if value.isdigit() else 0

    def put_bytes(self, data: bytes) -> Digest:
        digest = hash_bytes(data)
        try:
            if not self.has(digest):
                self.http.request(
                    "PUT",
                    self._path(digest),
                    body=data,
                    headers={"Content-Type": "application/octet-stream"},
                    ok=(200, 201),
                )
        except ServerUnreachable:
            self.outbox.put_bytes(digest, data)
        return digest

    @contextlib.contextmanager
    def _stream(self, digest: Digest) -> Iterator[http.client.HTTPResponse]:
        resp = self.http.request("GET", self._path(digest), stream=True)
        assert isinstance(resp, http.client.HTTPResponse)
        try:
            yield resp
        finally:
            resp.close()

    def get_bytes(self, digest: Digest) -> bytes:
        with self._stream(digest) as resp:
            data = resp.read()
        if hash_bytes(data) != digest:
            raise IntegrityError(f"object {digest} arrived from the team server corrupted")
        return data

    def get_file(self, digest: Digest, dest: str | os.PathLike[str]) -> None:
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            h = hasher()
            with os.fdopen(fd, "wb") as out, self._stream(digest) as resp:
                while chunk := resp.read(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != digest.hex:
                raise IntegrityError(f"object {digest} arrived from the team server corrupted")
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def iter_digests(self) -> Iterator[Digest]:
        after = ""
        while True:
            page = self.http.call("GET", f"/api/v1/objects?after={after}&limit=1000")
            digests = page["digests"]
            for d in digests:
                yield Digest.parse(d)
            if not page.get("more") or not digests:
                return
            after = digests[-1]

    def verify(self, digest: Digest) -> None:
        self.http.call("POST", f"{self._path(digest)}/verify", {})
