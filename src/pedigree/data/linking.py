"""Linking a run to the files it read and wrote.

Two sources feed it: paths declared with ``--input/--output`` or ``run.use/run.produce``, and the
``opens`` records the audit hook of the tracked Python processes wrote to the spool (resolved and
filtered by :mod:`pedigree.data.capture`). When the run ends every path is hashed (the stat cache
skips unchanged files) and its content stored in the object store (inputs too, so a reproduction
can restore the exact bytes), and one ``run.io`` event links them to the run, with a
``tree.recorded`` event for each folder not seen before.

The rules for captured files:

- a file opened for writing, created, or the target of a rename is an **output**, unless it is
  exactly as it was before (same inode, size, mtime and ctime): a database that
  ``sqlite3.connect`` opened read-write and the run only queried is an input;
- a file opened for reading (without truncating it) is an **input**;
- a file both read and written is an output. It is also an input if it existed before the run
  first wrote it and the stat cache knows what it held then (it was added as data, or produced or
  read by an earlier run): that content is the input. Otherwise only its final content is known
  and it is an output alone. (The hook does not keep the order of opens, so a file overwritten
  and then read back also counts as an input with its earlier content: lineage errs on the side
  of including a dependency);
- an input whose mtime is later than the start of the run was **modified** while the run went on
  (by someone else: the run did not write it), and is flagged; its digest is that of its content
  at the end of the run. The same holds for declared inputs;
- files that no longer exist at the end (temporary files, renamed away, deleted) are not linked;
  nor are folders opened as such, or paths outside the project (a warning says so for declared
  ones).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.data.capture import Captured, Stat, resolve
from pedigree.data.hashing import relpath_in
from pedigree.errors import InvalidInput, PedigreeError

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.data.snapshot import Snapshot
    from pedigree.data.statcache import StatCache
    from pedigree.store.events import Event
    from pedigree.store.reader import Reader

__all__ = ["enrich_records", "io_events"]

INPUT = "input"
OUTPUT = "output"


def _warn(message: str) -> None:
    print(f"pedigree: {message}", file=sys.stderr)


@dataclass
class _Item:
    role: str
    path: str  # absolute
    declared: bool = False
    captured: Captured | None = None


def io_events(
    ctx: Context,
    run_id: str,
    declared: Sequence[tuple[str, str]],
    cwd: Path,
    files: Iterable[dict[str, Any]] = (),
    *,
    progress: bool = True,
) -> list[Event]:
    """The ``run.io`` (and ``tree.recorded``) events for a run's inputs and outputs."""
    from pedigree.data.datasets import stat_cache

    items: dict[tuple[str, str], _Item] = {}
    for role, raw in declared:
        role = INPUT if role == INPUT else OUTPUT
        path = os.path.abspath(os.path.join(cwd, os.path.expanduser(raw)))
        if not os.path.lexists(path):
            _warn(f"declared {role} {raw} does not exist; not linked")
            continue
        items.setdefault((role, path), _Item(role, path)).declared = True
    project = ctx.project
    captured = resolve(
        files, root=project.root, spool=project.spool_dir / run_id, ignore=project.capture_ignore
    )
    for path, c in captured.items():
        if not os.path.lexists(path):
            continue
        if c.written and c.before is not None and _unchanged(path, c.before):
            c.written = False  # opened read-write (sqlite3.connect) but left as it was: read
        if c.written:
            items.setdefault((OUTPUT, path), _Item(OUTPUT, path)).captured = c
        if c.read and (not c.written or c.before is not None):
            items.setdefault((INPUT, path), _Item(INPUT, path)).captured = c
    if not items:
        return []

    with ctx.read() as reader:
        started = reader.run_started_at(run_id)
    started_ns = int(started * 1e9) if started is not None else None
    rows: list[dict[str, Any]] = []
    trees: dict[str, Snapshot] = {}
    with stat_cache(ctx) as cache:
        for key in sorted(items):
            item = items[key]
            try:
                row = _link(ctx, cache, item, started_ns, trees, progress=progress)
            except PedigreeError as exc:
                _warn(f"{item.role} {item.path} not linked: {exc}")
                continue
            if row is not None:
                rows.append(row)
    if not rows:
        return []
    from pedigree.store.events import RunIO, TreeRecorded  # here: a read needs no events

    events: list[Event] = []
    if trees:
        with ctx.read() as reader:
            new = {d: snap for d, snap in trees.items() if not reader.tree_known(d)}
        events += [TreeRecorded(digest=d, entries=snap.tree_entries()) for d, snap in new.items()]
    events.append(RunIO(run_id=run_id, items=rows))
    return events


def _unchanged(path: str, before: Stat) -> bool:
    """Whether a file is as it was before the run first opened it for writing (same inode,
    size, mtime and ctime: nothing wrote to it)."""
    if before.ctime_ns < 0:
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == (
        before.ino,
        before.size,
        before.mtime_ns,
        before.ctime_ns,
    )


def _link(
    ctx: Context,
    cache: StatCache,
    item: _Item,
    started_ns: int | None,
    trees: dict[str, Snapshot],
    *,
    progress: bool,
) -> dict[str, Any] | None:
    from pedigree.data.snapshot import take

    root = ctx.project.root
    try:
        rel = relpath_in(root, item.path)
    except InvalidInput:
        if item.declared:
            _warn(f"{item.role} {item.path} is outside the project {root}; not linked")
        return None
    c = item.captured
    if item.role == INPUT and c is not None and c.written and not item.declared:
        # Read and rewritten: the input is what the file held before, if anything knows it.
        known = cache.lookup([c.before])[0] if c.before is not None else None
        if known is None or c.before is None:
            return None
        return _row(item, rel, str(known), c.before.size, "file", modified=True)
    snap = take(root, item.path, objects=ctx.objects, cache=cache, progress=progress)
    if snap.kind == "dir":
        trees[str(snap.digest)] = snap
    modified = False
    if item.role == INPUT and started_ns is not None:
        modified = any(f.mtime_ns > started_ns for f in snap.files)
        if modified:
            _warn(
                f"input {snap.rel} was modified while the run was going; its recorded digest is "
                "that of its content at the end"
            )
    return _row(item, snap.rel, str(snap.digest), snap.size, snap.kind, modified=modified)


def _row(
    item: _Item, rel: str, digest: str, size: int, kind: str, *, modified: bool
) -> dict[str, Any]:
    return {
        "role": item.role,
        "path": rel,
        "digest": digest,
        "size": size,
        "kind": kind,
        "declared": item.declared,
        "modified": modified,
    }


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    """Add ``inputs`` and ``outputs`` to run records (``show --json`` and ``runs --json``)."""
    if not records:
        return
    io = reader.run_io([r["id"] for r in records])
    for rec in records:
        items = io.get(rec["id"], [])
        rec["inputs"] = [i.to_json() for i in items if i.role == INPUT]
        rec["outputs"] = [i.to_json() for i in items if i.role != INPUT]
