"""A writer killed with SIGKILL in the middle of storing an object leaves nothing under a digest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pedigree.digest import hash_bytes
from pedigree.objects import open_object_store

WRITER = """
import sys
import pedigree.objects.s3 as s3
from pedigree.digest import Digest
from pedigree.objects import open_object_store
s3._SINGLE_PUT = 0  # stream through the multipart path
store = open_object_store(sys.argv[1])
print("started", flush=True)
store.put_file(sys.argv[2], Digest.parse(sys.argv[3]))
print("finished", flush=True)
"""


@pytest.fixture(params=["local", "s3"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "objects")
    return str(request.getfixturevalue("s3_location"))


def test_sigkill_mid_write_leaves_no_partial_object(location: str, tmp_path: Path) -> None:
    content = os.urandom(12 * 1024 * 1024)
    digest = hash_bytes(content)
    fifo = tmp_path / "slow-source"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, location, str(fifo), str(digest)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "started"
        # Feed half the bytes, then kill the writer while it waits for the rest.
        with open(fifo, "wb") as f:
            f.write(content[: len(content) // 2])
            f.flush()
            time.sleep(0.5)
            writer.send_signal(signal.SIGKILL)
            assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()

    store = open_object_store(location)
    assert not store.has(digest)
    assert list(store.iter_digests()) == []
    if not location.startswith("s3://"):
        # Only a temporary file may remain, never a file under a digest name.
        # (and the dead writer's marker, by which the next writer removes it: see
        # test_stale_temps)
        left = [p for p in Path(location).rglob("*") if p.is_file() and ".writers" not in p.parts]
        assert all(p.name.startswith(".tmp-") for p in left)

    # The object can still be stored whole afterwards.
    src = tmp_path / "whole.bin"
    src.write_bytes(content)
    assert store.put_file(src, digest) == digest
    assert store.get_bytes(digest) == content
