"""hash_data: 1 GiB in 100 files; ``pedigree data add`` vs ``dvc add``, raw hashes as the floor.

Three cases, each on the same bytes (each tool has its own copy of the folder, in its own
project: Pedigree's made by ``pedigree init``, DVC's by ``dvc init --no-scm``):

- ``cold add``: a fresh store and no stat cache on either side, so every byte is hashed and
  stored (Pedigree: BLAKE3 into its object store; DVC: MD5 into its cache). The raw references
  read every file once and hash it: BLAKE3 (the ``blake3`` package, all cores, mmap) and MD5
  (``hashlib.file_digest``, one core, as DVC does);
- ``unchanged re-add``: the same command again on the unchanged folder (both keep a stat
  cache, so neither should hash anything);
- ``one changed file``: one 10 MiB file rewritten (the same new bytes on both sides), then the
  command again.

Before every sample, all dirty pages are written out (untimed), so no side pays for flushing
the bytes another side left in the page cache. Each sample is the command as a user runs it
(process start included): ``pedigree data add
data --json`` and ``dvc add data``, in a warm page cache. Every answer is checked against
digests computed independently when the data was generated: Pedigree's folder digest against a
manifest built here from the documented canonical form, and every stored object's presence;
DVC's ``.dir`` listing in its cache against the MD5 of every file, and the folder's MD5 in
``data.dvc`` against the listing's own bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import blake3

from .env import settle, tool
from .harness import Case, Side, alternate, expect

WORKLOAD = "hash_data"
MIB = 1024 * 1024
CHANGED = "f000.bin"


def sizes(total_mib: int, files: int) -> list[int]:
    """``files`` sizes in whole MiB adding up to ``total_mib`` (1 GiB: 76 x 10 MiB + 24 x 11)."""
    base, extra = divmod(total_mib, files)
    return [(base + (1 if i >= files - extra else 0)) * MIB for i in range(files)]


def content(name: str, size: int, salt: str = "") -> bytes:
    """Deterministic incompressible bytes (BLAKE3's extendable output)."""
    return blake3.blake3(f"pedigree-bench:{name}:{salt}".encode()).digest(length=size)


class Data:
    """The folder, its expected digests (computed from the bytes in memory), its copies."""

    def __init__(self, total_mib: int, files: int) -> None:
        self.files = {f"f{i:03d}.bin": size for i, size in enumerate(sizes(total_mib, files))}
        self.b3: dict[str, str] = {}
        self.md5: dict[str, str] = {}
        self.total = sum(self.files.values())

    def write(self, copies: list[Path]) -> None:
        for d in copies:
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
        for name, size in self.files.items():
            data = content(name, size)
            self.b3[name] = blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest()
            self.md5[name] = hashlib.md5(data).hexdigest()
            for d in copies:
                (d / name).write_bytes(data)

    def change(self, folders: list[Path], salt: str) -> None:
        data = content(CHANGED, self.files[CHANGED], salt)
        self.b3[CHANGED] = blake3.blake3(data).hexdigest()
        self.md5[CHANGED] = hashlib.md5(data).hexdigest()
        for d in folders:
            (d / CHANGED).write_bytes(data)

    def pedigree_digest(self) -> str:
        """The folder's digest, from the documented canonical manifest (docs/cli.md, data)."""
        rows = [[p, "file", self.files[p], self.b3[p]] for p in sorted(self.files)]
        doc = {"algorithm": "blake3", "entries": rows, "format": "pedigree.tree/1"}
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "blake3:" + blake3.blake3(text.encode()).hexdigest()


def _run(argv: list[str], cwd: Path) -> str:
    out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {out.returncode}: {out.stderr[-800:]}")
    return out.stdout


class PedigreeProject:
    def __init__(self, root: Path, data: Data) -> None:
        self.root, self.data = root, data
        self.exe = tool("pedigree") or "pedigree"

    def reset(self) -> None:
        shutil.rmtree(self.root / ".pedigree", ignore_errors=True)
        _run([self.exe, "init"], self.root)
        settle()

    def add(self) -> dict[str, Any]:
        return json.loads(_run([self.exe, "data", "add", "data", "--json"], self.root))

    def check(self, answer: dict[str, Any], *, created: bool | None = None) -> None:
        want = self.data.pedigree_digest()
        expect(answer["digest"] == want, f"digest {answer['digest']}, expected {want}")
        expect(answer["file_count"] == len(self.data.files), "file count differs")
        expect(answer["size"] == self.data.total, "size differs")
        if created is not None:
            expect(answer["created"] is created, f"created is {answer['created']}")
        from pedigree.digest import Digest
        from pedigree.objects import open_object_store

        objects = open_object_store(str(self.root / ".pedigree" / "objects"))
        for name, hexdigest in self.data.b3.items():
            expect(objects.has(Digest("blake3", hexdigest)), f"{name} is not in the object store")


class DvcProject:
    def __init__(self, root: Path, data: Data) -> None:
        self.root, self.data = root, data
        self.exe = tool("dvc") or "dvc"
        self.site = root.parent / f"{root.name}-site-cache"

    def reset(self) -> None:
        for p in (self.root / ".dvc", self.site):
            shutil.rmtree(p, ignore_errors=True)
        for p in (self.root / "data.dvc", self.root / ".dvcignore"):
            p.unlink(missing_ok=True)
        _run([self.exe, "init", "--no-scm", "-q"], self.root)
        _run([self.exe, "config", "core.analytics", "false"], self.root)
        _run([self.exe, "config", "core.check_update", "false"], self.root)
        _run([self.exe, "config", "core.site_cache_dir", str(self.site)], self.root)
        settle()

    def add(self) -> str:
        _run([self.exe, "add", "-q", "data"], self.root)
        return (self.root / "data.dvc").read_text()

    def check(self, answer: str) -> None:
        m = re.search(r"md5: ([0-9a-f]{32})\.dir", answer)
        expect(m is not None, f"no folder digest in data.dvc: {answer[:200]!r}")
        assert m is not None
        dir_md5 = m.group(1)
        cache = self.root / ".dvc" / "cache" / "files" / "md5"
        listing = (cache / dir_md5[:2] / f"{dir_md5[2:]}.dir").read_bytes()
        expect(hashlib.md5(listing).hexdigest() == dir_md5, "the .dir listing does not match")
        entries = {e["relpath"]: e["md5"] for e in json.loads(listing)}
        expect(entries == self.data.md5, "per-file MD5s differ from the independent ones")
        for md5 in self.data.md5.values():
            expect((cache / md5[:2] / md5[2:]).is_file(), f"{md5} is not in DVC's cache")


def raw_blake3(folder: Path, names: list[str]) -> dict[str, str]:
    out = {}
    for name in names:
        h = blake3.blake3(max_threads=blake3.blake3.AUTO)
        h.update_mmap(folder / name)
        out[name] = h.hexdigest()
    return out


def raw_md5(folder: Path, names: list[str]) -> dict[str, str]:
    out = {}
    for name in names:
        with open(folder / name, "rb") as f:
            out[name] = hashlib.file_digest(f, "md5").hexdigest()
    return out


def run(
    work: Path, *, pairs: int, warmup: int, data_mib: int, data_files: int, **_: object
) -> list[Case]:
    root = work / "hash_data"
    data = Data(data_mib, data_files)
    ped = PedigreeProject(root / "pedigree", data)
    dvc = DvcProject(root / "dvc", data)
    raw = root / "pedigree" / "data"  # the raw hashes read Pedigree's copy (same bytes)
    print(f"    writing {data.total / MIB:,.0f} MiB in {len(data.files)} files, twice")
    data.write([ped.root / "data", dvc.root / "data"])
    names = sorted(data.files)
    scale = f"{data.total / MIB:,.0f} MiB in {len(data.files)} files"

    def b3_check(answer: dict[str, str]) -> None:
        expect(answer == {n: data.b3[n] for n in answer}, "BLAKE3 digests differ")

    def md5_check(answer: dict[str, str]) -> None:
        expect(answer == {n: data.md5[n] for n in answer}, "MD5 digests differ")

    cases = [
        alternate(
            WORKLOAD,
            f"cold add ({scale})",
            [
                Side("pedigree data add", ped.add, ped.check, prepare=ped.reset, role="subject"),
                Side("dvc add", dvc.add, dvc.check, prepare=dvc.reset),
                Side("raw BLAKE3", lambda: raw_blake3(raw, names), b3_check, settle, "reference"),
                Side("raw MD5", lambda: raw_md5(raw, names), md5_check, settle, "reference"),
            ],
            pairs=pairs,
            warmup=warmup,
            note="seconds per add, storing included; raw = read and hash every byte once",
            unit="add",
        ),
        alternate(
            WORKLOAD,
            "unchanged re-add",
            [
                Side(
                    "pedigree data add",
                    ped.add,
                    lambda a: ped.check(a, created=False),
                    prepare=settle,
                    role="subject",
                ),
                Side("dvc add", dvc.add, dvc.check, prepare=settle),
            ],
            pairs=pairs,
            warmup=warmup,
            note="seconds per add of the unchanged folder (process start included)",
            unit="add",
        ),
    ]
    rounds = iter(range(1_000_000))

    def change() -> None:
        data.change([ped.root / "data", dvc.root / "data"], salt=f"round {next(rounds)}")
        settle()

    # Both copies change before the round's first sample, the same bytes on both sides.
    cases.append(
        alternate(
            WORKLOAD,
            "one changed file (10 MiB)",
            [
                Side(
                    "pedigree data add",
                    ped.add,
                    lambda a: ped.check(a, created=True),
                    prepare=change,
                    role="subject",
                ),
                Side("dvc add", dvc.add, dvc.check, prepare=settle),
            ],
            pairs=pairs,
            warmup=warmup,
            note="seconds per add after one 10 MiB file was rewritten",
            unit="add",
        )
    )
    for case in cases:
        case.extra.update(bytes=data.total, files=len(data.files))
    if os.environ.get("PEDIGREE_BENCH_KEEP") is None:
        shutil.rmtree(root, ignore_errors=True)
    return cases
