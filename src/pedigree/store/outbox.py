"""What waits for the team server: event batches and objects recorded while it could not be
reached.

A run must not fail, nor lose its record, because the network did. When the server cannot be
reached, the remote store puts each batch of events it could not send here (with the batch id it
would have sent: the server records a batch id once, so a batch delivered twice, after a crash
between delivering it and removing it, is still recorded once), and the remote object store puts
the files it could not upload. ``deliver`` sends the objects first, then the batches in the order
they were made, removing each once the server has it; ``pedigree sync`` calls it, and so does the
next command that talks to the server.

The outbox is per user and per server: ``$XDG_STATE_HOME/pedigree/outbox/<server>/``
(``~/.local/state`` by default), with ``objects/<hex>`` and ``events/<time>-<batch>.json``. One
process delivers at a time (a lock file); writers never wait for it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pedigree.digest import Digest
from pedigree.errors import Conflict, InvalidInput, NotFound
from pedigree.store.http import HTTPClient

__all__ = ["Outbox", "outbox_for"]


def outbox_for(url: str) -> Outbox:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    name = hashlib.sha256(url.rstrip("/").lower().encode()).hexdigest()[:16]
    return Outbox(Path(base) / "pedigree" / "outbox" / name, url)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Outbox:
    def __init__(self, folder: Path, url: str) -> None:
        self.folder = folder
        self.url = url
        self.events_dir = folder / "events"
        self.objects_dir = folder / "objects"

    def _ensure(self) -> None:
        for d in (self.events_dir, self.objects_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        marker = self.folder / "server"
        if not marker.exists():
            marker.write_text(self.url + "\n")

    def _batches(self) -> list[Path]:
        try:
            return sorted(p for p in self.events_dir.iterdir() if p.suffix == ".json")
        except FileNotFoundError:
            return []

    def _objects(self) -> list[Path]:
        try:
            return sorted(p for p in self.objects_dir.iterdir() if not p.name.startswith("."))
        except FileNotFoundError:
            return []

    def pending(self) -> dict[str, int]:
        """How many batches and objects wait."""
        return {"batches": len(self._batches()), "objects": len(self._objects())}

    def has_pending(self) -> bool:
        return bool(self._batches() or self._objects())

    def holds(self, digest: Digest) -> bool:
        return (self.objects_dir / digest.hex).exists()

    def put_events(self, batch: str, events: list[dict[str, Any]]) -> None:
        self._ensure()
        name = f"{time.time_ns():020d}-{batch}.json"
        data = json.dumps({"batch": batch, "events": events}, separators=(",", ":"))
        _write_atomic(self.events_dir / name, data.encode())

    def put_object(self, digest: Digest, path: str | os.PathLike[str]) -> None:
        self._ensure()
        target = self.objects_dir / digest.hex
        if target.exists():
            return
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)

    def put_bytes(self, digest: Digest, data: bytes) -> None:
        self._ensure()
        target = self.objects_dir / digest.hex
        if not target.exists():
            _write_atomic(target, data)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure()
        with open(self.folder / "lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def deliver(self, http: HTTPClient) -> dict[str, int]:
        """Send what waits, objects first, then batches in order; what was delivered.

        Raises ``ServerUnreachable`` (what was delivered so far stays delivered) or an
        authentication error (nothing more is sent). A batch the server refuses for what it
        holds is set aside under ``rejected/`` with the reason, and counted.
        """
        done = {"batches": 0, "objects": 0, "rejected": 0}
        if not self.has_pending():
            return done
        with self._locked():
            for path in self._objects():
                digest = f"blake3:{path.name}"
                head = http.request("HEAD", f"/api/v1/objects/{digest}", ok=(200, 404))
                if getattr(head, "status", 404) != 200:
                    with open(path, "rb") as f:
                        size = os.fstat(f.fileno()).st_size
                        http.request(
                            "PUT",
                            f"/api/v1/objects/{digest}",
                            body=f,
                            headers={
                                "Content-Type": "application/octet-stream",
                                "Content-Length": str(size),
                            },
                            ok=(200, 201),
                        )
                path.unlink()
                done["objects"] += 1
            for path in self._batches():
                try:
                    payload = json.loads(path.read_bytes())
                except FileNotFoundError:  # delivered by another process meanwhile
                    continue
                try:
                    http.call("POST", "/api/v1/events", {**payload, "expect_head": None})
                except (InvalidInput, Conflict, NotFound) as exc:
                    # Refused for what it holds (a run ended meanwhile...): set aside, with the
                    # reason, so that the batches behind it are not held up for ever.
                    rejected = self.folder / "rejected"
                    rejected.mkdir(exist_ok=True)
                    os.replace(path, rejected / path.name)
                    (rejected / f"{path.stem}.error").write_text(f"{exc.message}\n")
                    done["rejected"] += 1
                    continue
                path.unlink()
                done["batches"] += 1
        return done
