"""The object-store contract, run against every backend: a local folder and S3 over real HTTP."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.objects.s3server import raw_client

from pedigree.digest import Digest, hash_bytes, hash_file
from pedigree.errors import IntegrityError, InvalidInput, ObjectNotFound, StoreError
from pedigree.objects import LocalObjectStore, ObjectStore, open_object_store
from pedigree.objects.s3 import S3ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return open_object_store(str(tmp_path / "objects"))
    location = request.getfixturevalue("s3_location")
    s = open_object_store(location)
    assert isinstance(s, S3ObjectStore)
    return s


def corrupt(store: ObjectStore, digest: Digest) -> None:
    """Flip one byte of a stored object behind the store's back."""
    if isinstance(store, LocalObjectStore):
        path = store.root / digest.hex[:2] / digest.hex[2:]
        os.chmod(path, 0o644)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        return
    assert isinstance(store, S3ObjectStore)
    client = raw_client(os.environ["PEDIGREE_S3_ENDPOINT"])
    key = store._key(digest)
    data = bytearray(client.get_object(Bucket=store.bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0x01
    client.put_object(Bucket=store.bucket, Key=key, Body=bytes(data))


def delete(store: ObjectStore, digest: Digest) -> None:
    if isinstance(store, LocalObjectStore):
        (store.root / digest.hex[:2] / digest.hex[2:]).unlink()
        return
    assert isinstance(store, S3ObjectStore)
    client = raw_client(os.environ["PEDIGREE_S3_ENDPOINT"])
    client.delete_object(Bucket=store.bucket, Key=store._key(digest))


def test_bytes_round_trip(store: ObjectStore) -> None:
    d = store.put_bytes(b"close,2026-01-02,101.5\n")
    assert d == hash_bytes(b"close,2026-01-02,101.5\n")
    assert store.has(d)
    assert store.get_bytes(d) == b"close,2026-01-02,101.5\n"
    assert store.size(d) == 23
    store.verify(d)


def test_put_is_idempotent_and_listed_once(store: ObjectStore) -> None:
    a = store.put_bytes(b"one")
    assert store.put_bytes(b"one") == a
    b = store.put_bytes(b"two")
    assert sorted(store.iter_digests()) == sorted([a, b])


def test_empty_object(store: ObjectStore) -> None:
    d = store.put_bytes(b"")
    assert store.get_bytes(d) == b""
    assert store.size(d) == 0


def test_file_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "prices.bin"
    src.write_bytes(os.urandom(300_000))
    d = store.put_file(src, hash_file(src))
    dest = tmp_path / "out" / "restored.bin"
    store.get_file(d, dest)
    assert dest.read_bytes() == src.read_bytes()
    # Without a digest the store hashes the file itself.
    assert store.put_file(src) == d


def test_put_file_refuses_bytes_that_do_not_match_the_digest(
    store: ObjectStore, tmp_path: Path
) -> None:
    src = tmp_path / "a.csv"
    src.write_bytes(b"original")
    claimed = hash_file(src)
    src.write_bytes(b"changed!")  # the file changed after it was hashed
    with pytest.raises(IntegrityError, match="changed"):
        store.put_file(src, claimed)
    assert not store.has(claimed)
    assert list(store.iter_digests()) == []


def test_missing_object(store: ObjectStore, tmp_path: Path) -> None:
    d = hash_bytes(b"never stored")
    assert not store.has(d)
    with pytest.raises(ObjectNotFound):
        store.get_bytes(d)
    with pytest.raises(ObjectNotFound):
        store.get_file(d, tmp_path / "x")
    with pytest.raises(ObjectNotFound):
        store.size(d)
    with pytest.raises(ObjectNotFound):
        store.verify(d)
    assert not (tmp_path / "x").exists()


def test_a_flipped_byte_fails_every_read(store: ObjectStore, tmp_path: Path) -> None:
    d = store.put_bytes(b"x" * 10_000)
    corrupt(store, d)
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get_bytes(d)
    with pytest.raises(IntegrityError):
        store.verify(d)
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "dest.bin"
    dest.write_bytes(b"keep me")
    with pytest.raises(IntegrityError):
        store.get_file(d, dest)
    assert dest.read_bytes() == b"keep me"  # the destination is untouched
    assert [p.name for p in out.iterdir()] == ["dest.bin"]  # no temporary file left


def test_deleted_object_is_reported_missing(store: ObjectStore) -> None:
    d = store.put_bytes(b"to be lost")
    delete(store, d)
    assert not store.has(d)
    with pytest.raises(ObjectNotFound):
        store.get_bytes(d)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=5000))
def test_put_get_round_trips(store: ObjectStore, data: bytes) -> None:
    d = store.put_bytes(data)
    assert d == hash_bytes(data)
    assert store.get_bytes(d) == data


def test_large_s3_upload_goes_through_a_verified_temporary_key(
    s3_location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pedigree.objects.s3 as s3

    monkeypatch.setattr(s3, "_SINGLE_PUT", 1024)  # make 20 MB "large": multipart, streamed
    store = S3ObjectStore.from_uri(s3_location)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(20 * 1024 * 1024 + 17))
    d = store.put_file(src, hash_file(src))
    assert store.get_bytes(d) == src.read_bytes()
    client = raw_client(os.environ["PEDIGREE_S3_ENDPOINT"])
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=store.bucket)["Contents"]]
    assert keys == [store._key(d)]  # the temporary key is gone

    other = tmp_path / "other.bin"
    other.write_bytes(os.urandom(5000))
    wrong = hash_bytes(b"something else")
    with pytest.raises(IntegrityError):
        store.put_file(other, wrong)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=store.bucket)["Contents"]]
    assert keys == [store._key(d)]


def test_s3_location_parsing() -> None:
    s = S3ObjectStore.from_uri("s3://bucket/some/prefix/")
    assert (s.bucket, s.prefix, s.location) == ("bucket", "some/prefix", "s3://bucket/some/prefix")
    assert S3ObjectStore.from_uri("s3://bucket")._key(hash_bytes(b"")).count("/") == 1
    with pytest.raises(InvalidInput):
        S3ObjectStore.from_uri("s3:///prefix")


def test_unreachable_s3_is_a_store_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("PEDIGREE_S3_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = S3ObjectStore.from_uri("s3://bucket/x")
    store.client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(StoreError):
        store.put_bytes(b"data")


def test_missing_bucket_is_a_store_error(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("PEDIGREE_S3_ENDPOINT", moto_endpoint)
    store = S3ObjectStore.from_uri("s3://no-such-bucket-here/x")
    with pytest.raises(StoreError, match="bucket"):
        store.put_bytes(b"data")


def test_put_files_stores_a_batch_and_refuses_a_changed_file(
    store: ObjectStore, tmp_path: Path
) -> None:
    files = []
    for i in range(12):
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(os.urandom(1000 + i))
        files.append((p, hash_file(p)))
    seen: list[int] = []
    store.put_files(files[:10], progress=seen.append)
    assert sorted(store.iter_digests()) == sorted(d for _, d in files[:10])
    assert sum(seen) == sum(p.stat().st_size for p, _ in files[:10])
    for p, d in files[:10]:
        assert store.get_bytes(d) == p.read_bytes()

    batch = []
    for i in range(10):
        p = tmp_path / f"g{i}.bin"
        p.write_bytes(os.urandom(50))
        batch.append((p, hash_file(p)))
    bad_path, bad_digest = batch[4]
    bad_path.write_bytes(b"changed after hashing")
    with pytest.raises(IntegrityError, match="changed"):
        store.put_files(batch)
    assert not store.has(bad_digest)
    if isinstance(store, LocalObjectStore):
        assert not list(store.root.rglob(".tmp-*"))  # nothing left half-written
