"""A writer killed mid-write leaves a temporary file; the next writer removes it (issue 19)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pedigree.digest import hash_bytes
from pedigree.objects import _writers
from pedigree.objects.local import LocalObjectStore

WRITER = """
import sys
from pedigree.digest import Digest
from pedigree.objects.local import LocalObjectStore
store = LocalObjectStore(sys.argv[1])
print("started", flush=True)
store.put_file(sys.argv[2], Digest.parse(sys.argv[3]))
"""


def _temps(root: Path) -> list[Path]:
    return list(root.glob("*/.tmp-*"))


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    content = os.urandom(256 * 1024)
    digest = hash_bytes(content)
    fifo = tmp_path / "slow-source"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(fifo), str(digest)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "started"
        with open(fifo, "wb") as f:
            f.write(content[:1000])
            f.flush()
            # The temporary file exists once the writer has opened it: wait for it, then kill.
            while not _temps(root):
                assert writer.poll() is None
            writer.send_signal(signal.SIGKILL)
            assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()
    assert len(_temps(root)) == 1  # the defect: left behind
    assert not LocalObjectStore(root).has(digest)

    LocalObjectStore(root).put_bytes(b"the next data add")
    assert _temps(root) == []
    assert [p.name for p in (root / _writers.MARKERS).iterdir()] == [_writers.tag()]


def test_a_live_writers_temporary_files_are_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (root / "ab").mkdir(parents=True)
        (root / _writers.MARKERS).mkdir()
        other = f"{_writers.HOST}-{alive.pid}"
        (root / _writers.MARKERS / other).touch()
        in_progress = root / "ab" / f".tmp-{other}-cdef"
        in_progress.write_bytes(b"half")
        elsewhere = root / "ab" / ".tmp-otherhost-1-cdef"  # another machine's: not ours to judge
        elsewhere.write_bytes(b"half")
        LocalObjectStore(root).put_bytes(b"x")
        assert in_progress.exists()
        assert elsewhere.exists()
    finally:
        alive.kill()
        alive.wait()
