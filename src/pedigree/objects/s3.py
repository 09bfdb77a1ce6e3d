"""Objects in S3 or any S3-compatible service: ``s3://bucket/prefix``.

Keys mirror the local layout: ``<prefix>/<first 2 hex>/<remaining 62 hex>``. Needs ``boto3``
(``pip install 'pedigree[s3]'``). Credentials and region come from boto3's usual sources
(environment, ``~/.aws``, instance roles). The endpoint of an S3-compatible service (MinIO, Ceph,
a test server) is ``PEDIGREE_S3_ENDPOINT`` if set, else boto3's own ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL``.

The contract of :class:`~pedigree.objects.base.ObjectStore` holds here too:

- a PUT is atomic in S3 (an object is visible whole or not at all). Bytes are hashed before they
  are sent: small objects are read into memory, hashed and sent in one request; big ones are
  streamed through the hasher to a temporary key and copied to their final key (a server-side,
  atomic copy) only once their digest matched, so a file that changes during the upload never
  appears under a digest;
- every read streams through the hasher and fails with ``IntegrityError`` on a mismatch, before a
  ``get_file`` destination is replaced;
- botocore's errors become ``ObjectNotFound`` (404) or ``StoreError`` (everything else).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pedigree.digest import ALGORITHM, Digest, hash_bytes, hasher
from pedigree.errors import IntegrityError, InvalidInput, ObjectNotFound, StoreError
from pedigree.objects.base import ObjectStore

__all__ = ["S3ObjectStore"]

# Objects up to this size are uploaded from memory in one request.
_SINGLE_PUT = 64 * 1024 * 1024
_CHUNK = 8 * 1024 * 1024
_TMP = "tmp"
_UPLOAD_THREADS = 8


def _corrupt(digest: Digest) -> str:
    return f"object {digest} is corrupt: its bytes no longer match the digest"


class _HashingReader:
    """A file wrapper that hashes what boto3 reads from it (sequential reads only)."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.h = hasher()

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.h.update(data)
        return data


class S3ObjectStore(ObjectStore):
    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._client = client

    @classmethod
    def from_uri(cls, uri: str) -> S3ObjectStore:
        rest = uri[len("s3://") :] if uri.startswith("s3://") else uri
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise InvalidInput(f"not an S3 location: {uri!r} (expected s3://bucket/prefix)")
        return cls(bucket, prefix)

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:
                raise StoreError(
                    "the S3 object store needs boto3: pip install 'pedigree[s3]'"
                ) from None
            endpoint = os.environ.get("PEDIGREE_S3_ENDPOINT") or None
            config = Config(retries={"max_attempts": 5, "mode": "standard"})
            self._client = boto3.session.Session().client(
                "s3", endpoint_url=endpoint, config=config
            )
        return self._client

    # -- keys and errors ---------------------------------------------------------------------

    def _key(self, digest: Digest) -> str:
        name = f"{digest.hex[:2]}/{digest.hex[2:]}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def _tmp_key(self) -> str:
        name = f"{_TMP}/{uuid.uuid4().hex}"
        return f"{self.prefix}/{name}" if self.prefix else name

    @contextlib.contextmanager
    def _translate(self, what: str, digest: Digest | None = None) -> Iterator[None]:
        try:
            yield
        except (IntegrityError, ObjectNotFound, StoreError, InvalidInput):
            raise
        except Exception as exc:
            from botocore.exceptions import BotoCoreError, ClientError

            if isinstance(exc, ClientError):
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in ("404", "NoSuchKey", "NotFound") and digest is not None:
                    raise ObjectNotFound(
                        f"object {digest} is missing from {self.location}"
                    ) from None
                if code == "NoSuchBucket":
                    raise StoreError(f"the bucket of {self.location} does not exist") from exc
                raise StoreError(f"S3 failed to {what} ({self.location}): {exc}") from exc
            if isinstance(exc, BotoCoreError):
                raise StoreError(f"S3 failed to {what} ({self.location}): {exc}") from exc
            raise

    # -- the contract ------------------------------------------------------------------------

    def has(self, digest: Digest) -> bool:
        try:
            self.size(digest)
        except ObjectNotFound:
            return False
        return True

    def size(self, digest: Digest) -> int:
        with self._translate("look up an object", digest):
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(digest))
        return int(head["ContentLength"])

    def put_bytes(self, data: bytes) -> Digest:
        digest = hash_bytes(data)
        if not self.has(digest):
            with self._translate("store an object"):
                self.client.put_object(Bucket=self.bucket, Key=self._key(digest), Body=data)
        return digest

    def put_file(self, path: str | os.PathLike[str], digest: Digest | None = None) -> Digest:
        src = Path(path)
        if digest is not None and self.has(digest):
            return digest
        try:
            size = src.stat().st_size
            if size <= _SINGLE_PUT:
                data = src.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {src}: {exc.strerror or exc}") from exc
        if size <= _SINGLE_PUT:
            actual = hash_bytes(data)
            if digest is not None and actual != digest:
                raise IntegrityError(f"{src} changed while it was being stored")
            if digest is None and self.has(actual):
                return actual
            with self._translate("store an object"):
                self.client.put_object(Bucket=self.bucket, Key=self._key(actual), Body=data)
            return actual
        return self._put_large(src, digest)

    def put_files(
        self,
        items: Sequence[tuple[str | os.PathLike[str], Digest]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Upload on a few threads: S3 latency, not bandwidth, bounds many small objects."""
        from concurrent.futures import ThreadPoolExecutor

        def put(item: tuple[str | os.PathLike[str], Digest]) -> None:
            self.put_file(item[0], item[1])
            if progress is not None:
                progress(os.stat(item[0]).st_size)

        with ThreadPoolExecutor(_UPLOAD_THREADS, thread_name_prefix="pedigree-s3") as pool:
            for _ in pool.map(put, items):
                pass

    def _put_large(self, src: Path, digest: Digest | None) -> Digest:
        from boto3.s3.transfer import TransferConfig

        tmp = self._tmp_key()
        # One thread: the hasher must see the parts in order.
        config = TransferConfig(use_threads=False, multipart_chunksize=_CHUNK)
        try:
            with open(src, "rb") as f, self._translate("upload an object"):
                reader = _HashingReader(f)
                self.client.upload_fileobj(reader, self.bucket, tmp, Config=config)
            actual = Digest(ALGORITHM, reader.h.hexdigest())
            if digest is not None and actual != digest:
                raise IntegrityError(f"{src} changed while it was being stored")
            if not self.has(actual):
                with self._translate("store an object"):
                    self.client.copy(
                        {"Bucket": self.bucket, "Key": tmp}, self.bucket, self._key(actual)
                    )
            return actual
        except OSError as exc:
            raise InvalidInput(f"cannot read {src}: {exc.strerror or exc}") from exc
        finally:
            with contextlib.suppress(Exception):
                self.client.delete_object(Bucket=self.bucket, Key=tmp)

    def _stream(self, digest: Digest, sink: Any) -> None:
        """Download an object into ``sink(chunk)``, verifying it; raises before returning."""
        h = hasher()
        with self._translate("read an object", digest):
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(digest))["Body"]
            try:
                for chunk in body.iter_chunks(_CHUNK):
                    h.update(chunk)
                    sink(chunk)
            finally:
                body.close()
        if h.hexdigest() != digest.hex:
            raise IntegrityError(_corrupt(digest))

    def get_bytes(self, digest: Digest) -> bytes:
        parts: list[bytes] = []
        self._stream(digest, parts.append)
        return b"".join(parts)

    def get_file(self, digest: Digest, dest: str | os.PathLike[str]) -> None:
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                self._stream(digest, f.write)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def verify(self, digest: Digest) -> None:
        self._stream(digest, lambda _chunk: None)

    def iter_digests(self) -> Iterator[Digest]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        with self._translate("list objects"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for obj in page.get("Contents", ()):
                    name = obj["Key"][len(prefix) :]
                    head, _, tail = name.partition("/")
                    if len(head) == 2 and len(tail) == 62 and "/" not in tail:
                        with contextlib.suppress(InvalidInput):
                            yield Digest.parse(f"{ALGORITHM}:{head}{tail}")
