"""What differs between two runs: code, data, environment, params, seed and metrics.

"Why did the Sharpe ratio change?" has a short list of possible answers, and this is the list.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> first = create_run(ctx, experiment="ma-crossover", params={"window": 50})
>>> second = create_run(ctx, experiment="ma-crossover", params={"window": 20})
>>> diff_runs(ctx, first, second)["params"]
[{'key': 'window', 'a': 50, 'b': 20, 'in_a': True, 'in_b': True, 'same': False}]
"""

from __future__ import annotations

import difflib
import math
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.errors import PedigreeError

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.store.reader import Reader

__all__ = ["diff_runs", "io_rows", "tree_diff"]

_MISSING = object()


def io_rows(reader: Reader, run_id: str, role: str) -> dict[str, dict[str, Any]]:
    """A run's inputs or outputs by path: {path: {digest, size, kind}}."""
    return {
        f.path: {"digest": f.digest, "size": f.size, "kind": f.kind}
        for f in reader.run_files(run_id)
        if f.role == role
    }


def tree_diff(reader: Reader, a: str, b: str) -> dict[str, list[Any]] | None:
    """Files added, removed and changed from tree ``a`` to ``b``; None unless both are trees."""

    def entries(digest: str) -> dict[str, tuple[str, int]]:
        return {e.path: (e.digest, e.size) for e in reader.tree_entries(digest)}

    old, new = entries(a), entries(b)
    if not old or not new:
        return None
    return {
        "added": [[p, new[p][1]] for p in sorted(new.keys() - old.keys())],
        "removed": [[p, old[p][1]] for p in sorted(old.keys() - new.keys())],
        "changed": [
            [p, old[p][1], new[p][1]]
            for p in sorted(old.keys() & new.keys())
            if old[p][0] != new[p][0]
        ],
    }


def _io_diff(
    reader: Reader, a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    labels = reader.dataset_labels([v["digest"] for v in (*a.values(), *b.values())])
    out = []
    for path in sorted(a.keys() | b.keys()):
        da, db = a.get(path), b.get(path)
        if da is None:
            status = "added"
        elif db is None:
            status = "removed"
        else:
            status = "same" if da["digest"] == db["digest"] else "changed"
        item: dict[str, Any] = {
            "path": path,
            "status": status,
            "a": da["digest"] if da else None,
            "b": db["digest"] if db else None,
            "a_datasets": labels.get(da["digest"], []) if da else [],
            "b_datasets": labels.get(db["digest"], []) if db else [],
        }
        if status == "changed" and da is not None and db is not None:
            files = tree_diff(reader, da["digest"], db["digest"])
            if files is not None:
                item["files"] = files
        out.append(item)
    return out


def _patch_text(ctx: Context, digest: str | None) -> tuple[str, str | None]:
    if not digest:
        return "", None
    from pedigree.digest import Digest

    try:
        return ctx.objects.get_bytes(Digest.parse(digest)).decode("utf-8", "replace"), None
    except PedigreeError as exc:
        return "", f"the patch {digest} could not be read: {exc}"


def _commit_changes(root: Path, a: str | None, b: str | None) -> list[list[str]] | None:
    """``git diff --name-status`` between two commits, when this repository has both."""
    if not a or not b or a == b:
        return None
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", "diff", "--name-status", "--no-renames", a, b],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return [line.split("\t", 1) for line in proc.stdout.splitlines() if "\t" in line]


def _values(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key in sorted(a.keys() | b.keys()):
        va, vb = a.get(key, _MISSING), b.get(key, _MISSING)
        same = va is not _MISSING and vb is not _MISSING and _equal(va, vb)
        out.append(
            {
                "key": key,
                "a": None if va is _MISSING else va,
                "b": None if vb is _MISSING else vb,
                "in_a": va is not _MISSING,
                "in_b": vb is not _MISSING,
                "same": same,
            }
        )
    return out


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b and type(a) is type(b)) or (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


def diff_runs(ctx: Context, a_ref: str, b_ref: str) -> dict[str, Any]:
    """Everything that differs between runs ``a_ref`` and ``b_ref`` (and what does not)."""
    from pedigree.capture.environment import package_diff
    from pedigree.tracking.records import load_records

    with ctx.read() as reader:
        a_id = reader.resolve_run(a_ref)
        b_id = reader.resolve_run(b_ref)
        a, b = load_records(reader, [a_id, b_id], detail=True)
        inputs = _io_diff(reader, io_rows(reader, a_id, "input"), io_rows(reader, b_id, "input"))
        outputs = _io_diff(reader, io_rows(reader, a_id, "output"), io_rows(reader, b_id, "output"))

    ca, cb = a["code"], b["code"]
    code: dict[str, Any] = {
        "a": {k: ca.get(k) for k in ("commit", "branch", "dirty", "patch_digest")},
        "b": {k: cb.get(k) for k in ("commit", "branch", "dirty", "patch_digest")},
        "same_commit": ca.get("commit") == cb.get("commit"),
        "same_patch": ca.get("patch_digest") == cb.get("patch_digest"),
        "commit_changes": _commit_changes(ctx.project.root, ca.get("commit"), cb.get("commit")),
        "patch_diff": None,
        "notes": [],
    }
    untracked_a = {u["path"]: u.get("digest") for u in ca.get("untracked") or []}
    untracked_b = {u["path"]: u.get("digest") for u in cb.get("untracked") or []}
    code["untracked"] = [
        {"path": p, "a": untracked_a.get(p), "b": untracked_b.get(p)}
        for p in sorted(untracked_a.keys() | untracked_b.keys())
        if untracked_a.get(p) != untracked_b.get(p)
    ]
    if not code["same_patch"]:
        pa, note_a = _patch_text(ctx, ca.get("patch_digest"))
        pb, note_b = _patch_text(ctx, cb.get("patch_digest"))
        code["notes"] += [n for n in (note_a, note_b) if n]
        code["patch_diff"] = "".join(
            difflib.unified_diff(
                pa.splitlines(keepends=True),
                pb.splitlines(keepends=True),
                fromfile=f"patch of {a['id']}",
                tofile=f"patch of {b['id']}",
            )
        )
    code["same"] = code["same_commit"] and code["same_patch"] and not code["untracked"]

    ea, eb = a["environment"], b["environment"]
    packages = package_diff(ea.get("packages") or [], eb.get("packages") or [])
    environment = {
        "a": ea.get("digest"),
        "b": eb.get("digest"),
        "same": ea.get("digest") == eb.get("digest"),
        "python": [ea.get("python"), eb.get("python")],
        "platform": [ea.get("platform"), eb.get("platform")],
        "packages": packages,
    }

    metrics = []
    for item in _values(a["metrics"], b["metrics"]):
        va, vb = item["a"], item["b"]
        delta = None
        if isinstance(va, int | float) and isinstance(vb, int | float):
            delta = vb - va
        metrics.append({**item, "delta": delta})

    params = _values(a["params"], b["params"])
    return {
        "a": {k: a[k] for k in ("id", "experiment", "name", "status", "started_at")},
        "b": {k: b[k] for k in ("id", "experiment", "name", "status", "started_at")},
        "code": code,
        "data": {"inputs": inputs, "outputs": outputs},
        "environment": environment,
        "params": params,
        "seed": {"a": a["seed"], "b": b["seed"], "same": a["seed"] == b["seed"]},
        "command": {"a": a["command"], "b": b["command"], "same": a["command"] == b["command"]},
        "metrics": metrics,
        "same": (
            code["same"]
            and environment["same"]
            and all(i["status"] == "same" for i in inputs)
            and all(p["same"] for p in params)
            and a["seed"] == b["seed"]
            and a["command"] == b["command"]
        ),
    }
