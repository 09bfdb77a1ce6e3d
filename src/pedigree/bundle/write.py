"""Writing an evidence bundle: a target's whole upstream lineage and the proof, in one zip.

>>> import tempfile, zipfile
>>> from pathlib import Path
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking.recording import create_run, end_run
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> run_id = create_run(ctx, experiment="e", params={"w": 5})
>>> end_run(ctx, run_id, "finished")
>>> out = Path(tempfile.mkdtemp()) / "r.pedigree"
>>> summary = write_bundle(ctx, "last", out)
>>> summary["runs"], summary["events"]
(1, 3)
>>> "manifest.json" in zipfile.ZipFile(out).namelist()
True
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import tempfile
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

from pedigree import __version__
from pedigree.bundle import format as fmt
from pedigree.bundle.lock import package_lock
from pedigree.context import Context
from pedigree.digest import Digest
from pedigree.errors import InvalidInput, ObjectNotFound
from pedigree.times import iso

__all__ = ["write_bundle"]

_DATASET = re.compile(r"^(?P<name>.+)@v(?P<version>\d+)$")


def _hex(digest: str) -> str:
    return digest.split(":", 1)[-1]


def _json(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


class _Writer:
    """Members in the order they are added, each once, with their digest and size."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.members: list[dict[str, Any]] = []
        self.names: set[str] = set()

    def add(self, name: str, data: bytes) -> None:
        if name in self.names:
            return
        if not fmt.safe_name(name):  # pragma: no cover - names are made here
            raise InvalidInput(f"cannot bundle a member named {name!r}")
        self.names.add(name)
        kind = zipfile.ZIP_DEFLATED if _compresses(data) else zipfile.ZIP_STORED
        self.zf.writestr(name, data, compress_type=kind)
        self.members.append({"path": name, "digest": fmt.digest_bytes(data), "size": len(data)})


_SAMPLE = 64 * 1024


def _compresses(data: bytes) -> bool:
    """Whether DEFLATE is worth running on ``data``: a compressed file (Parquet, a git bundle, a
    PNG) is stored as it is rather than deflated for nothing, judged on a sample."""
    if len(data) <= _SAMPLE:
        return True
    sample = data[:_SAMPLE]
    return len(zlib.compress(sample, 1)) < 0.9 * len(sample)


def _git_bundle(repo: Path, commit: str, dest: Path) -> str | None:
    """A git bundle of ``commit`` and its history, made in a scratch repository that borrows the
    project's objects (so the project's refs are never touched); None when git cannot."""
    objects = repo / ".git" / "objects"
    if not objects.is_dir():
        return "the project's git repository is not there"
    with tempfile.TemporaryDirectory(prefix="pedigree-bundle-") as tmp:
        scratch = Path(tmp) / "repo"

        def git(*args: str, cwd: Path = scratch) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)

        scratch.mkdir()
        if git("init", "-q").returncode != 0:
            return "git init failed"
        (scratch / ".git" / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        res = git("update-ref", "refs/heads/pedigree", commit)
        if res.returncode != 0:
            return f"commit {commit} is not in the project's repository"
        res = git("bundle", "create", "-q", str(dest), "refs/heads/pedigree")
        if res.returncode != 0:
            return f"git bundle failed: {res.stderr.strip()}"
    return None


def _collect(ctx: Context, target: str, cwd: str | os.PathLike[str] | None) -> dict[str, Any]:
    from pedigree.audit.excerpt import contiguous, needed
    from pedigree.audit.log import head
    from pedigree.lineage.report import lineage_report
    from pedigree.tracking.records import load_records

    lineage = lineage_report(ctx, target, direction="up", cwd=cwd)
    run_ids = [n["id"] for n in lineage["nodes"] if n["kind"] == "run"]
    for node in lineage["nodes"]:
        for rep in node.get("reproductions") or []:
            if rep["id"] not in run_ids:
                run_ids.append(rep["id"])
    artifacts = {n["id"]: n for n in lineage["nodes"] if n["kind"] == "artifact"}
    with ctx.read() as reader:
        records = load_records(reader, run_ids, detail=True)
        for rec in records:
            rec["metric_history"] = [list(p) for p in reader.metric_history(rec["id"])]
        digests: dict[str, dict[str, Any]] = {}
        for rec in records:
            for item in [*rec.get("inputs", []), *rec.get("outputs", [])]:
                digests.setdefault(item["digest"], {"kind": item["kind"], "size": item["size"]})
        for key, node in artifacts.items():
            digests.setdefault(key, {"kind": node.get("type"), "size": node.get("size")})
        datasets: dict[str, dict[str, Any]] = {}
        for node in artifacts.values():
            for label in node.get("datasets") or []:
                m = _DATASET.match(str(label))
                if m:
                    dv = reader.dataset_version(m["name"], int(m["version"]))
                    if dv is not None:
                        datasets[dv.ref] = dv.to_json()
        trees = {
            d: [list(f) for f in reader.tree_entries(d)]
            for d, info in digests.items()
            if info["kind"] == "dir"
        }
        envs = {
            d: reader.environment(d)
            for d in {(r.get("environment") or {}).get("digest") for r in records}
            if d
        }
        model = _model_record(reader, lineage["target"].get("model"))
        seqs = needed(
            reader,
            runs=run_ids,
            digests=list(digests),
            environments=list(envs),
            datasets=[(d["name"], d["version"]) for d in datasets.values()],
            models=[(model["name"], model["version"])] if model else [],
        )
        anchor = head(reader)
        events = contiguous(reader, min(seqs)) if seqs else []
    for ev in events:
        ev["needed"] = ev["seq"] in seqs
    created = {ev["run_id"]: ev for ev in events if ev["kind"] == "run.created"}
    for rec in records:
        # Who recorded the run and how the store knew them, as its run.created event says (the
        # event's digest covers its identity): "authenticated" through the team server,
        # "self-declared" otherwise (and on events from before identities were recorded).
        ev = created.get(rec["id"]) or {}
        rec["identity"] = {
            "user": rec.get("user"),
            "recorded_by": ev.get("actor"),
            "trust": ev.get("identity") or "self-declared",
        }
    return {
        "lineage": lineage,
        "records": records,
        "digests": digests,
        "datasets": datasets,
        "trees": trees,
        "environments": envs,
        "model": model,
        "anchor": anchor,
        "events": events,
    }


def _model_record(reader: Any, target: dict[str, Any] | None) -> dict[str, Any] | None:
    """The registered model version a ``model:`` target names, with where its model's aliases
    point (``aliases``) and every move of them (``alias_moves``), as the registry holds them."""
    if not target:
        return None
    v = reader.model_version(target["name"], target["version"])
    if v is None:  # pragma: no cover - the target was just resolved
        return None
    return {
        "name": v.name,
        "version": v.version,
        "digest": v.digest,
        "kind": v.kind,
        "size": v.size,
        "run_id": v.run_id,
        "path": v.path,
        "note": v.note,
        "actor": v.actor,
        "at": v.at,
        "selection": v.selection,
        "aliases": reader.model_aliases(v.name),
        "alias_moves": [
            {"alias": m.alias, "number": m.number, "version": m.version, "previous": m.previous}
            for m in reader.alias_moves(v.name)
        ],
    }


def _object(ctx: Context, digest: str) -> bytes | None:
    try:
        return ctx.objects.get_bytes(Digest.parse(digest))
    except (ObjectNotFound, InvalidInput):
        return None


def write_bundle(
    ctx: Context,
    target: str,
    path: str | os.PathLike[str],
    *,
    data: bool = True,
    report: bool = True,
    cwd: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Write the evidence bundle of ``target`` (a run, a dataset version ``NAME@vN``, a path or
    a digest) to ``path``; with ``data=False`` objects are listed by digest and size only.
    Returns a summary (the manifest without its member list, plus counts)."""
    started = time.perf_counter()
    dest = Path(path)
    if dest.is_dir():
        raise InvalidInput(f"{dest} is a folder; give the bundle's file name")
    if not dest.parent.is_dir():
        raise InvalidInput(f"cannot write {dest}: the folder {dest.parent} does not exist")
    got = _collect(ctx, target, cwd)
    records = got["records"]
    notes: list[str] = []
    fd, tmp_name = tempfile.mkstemp(prefix=".pedigree-bundle-", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            w = _Writer(zf)
            w.add(fmt.LINEAGE, _json(got["lineage"]))
            for rec in records:
                w.add(f"records/runs/{rec['id']}.json", _json(rec))
            for ref, dv in sorted(got["datasets"].items()):
                w.add(f"records/datasets/{ref}.json", _json(dv))
            if got["model"] is not None:
                w.add(fmt.MODEL, _json(got["model"]))
            for d, entries in sorted(got["trees"].items()):
                w.add(f"records/trees/{_hex(d)}.json", _json({"digest": d, "entries": entries}))
            lines = "".join(json.dumps(ev, sort_keys=True) + "\n" for ev in got["events"])
            w.add(fmt.EVENTS, lines.encode())
            for d, env in sorted(got["environments"].items()):
                w.add(f"env/{_hex(d)}.json", _json(env))
                pkgs = (env or {}).get("data", env or {}).get("packages") or []
                reqs = "".join(f"{p[0]}=={p[1]}\n" for p in pkgs if len(p) >= 2)
                w.add(f"env/{_hex(d)}.requirements.txt", reqs.encode())
                lock = package_lock((env or {}).get("data", env or {}))
                if lock is not None:
                    w.add(f"env/{_hex(d)}.lock.json", _json({"digest": d, "packages": lock}))
                else:
                    notes.append(f"environment {d}: its interpreter is gone; no package hashes")
            code = _write_code(ctx, w, records, notes)
            w.add(fmt.CODE_INFO, _json(code))
            objects = _write_objects(ctx, w, got, data=data, notes=notes)
            kind = got["lineage"]["target"]["kind"]
            if report and kind in ("run", "model"):
                from pedigree.report import build_report

                ref = (
                    got["lineage"]["target"]["nodes"][0]["id"]
                    if kind == "run"
                    else f"model:{got['model']['name']}/{got['model']['version']}"
                )
                w.add(fmt.REPORT, build_report(ctx, ref, verify=True).encode())
            manifest = fmt.seal(
                {
                    "format": fmt.FORMAT,
                    "version": fmt.VERSION,
                    "created": iso(time.time()),
                    "created_by": {"user": ctx.user, "trust": ctx.actor.identity},
                    "pedigree": __version__,
                    "python": platform.python_version(),
                    "target": got["lineage"]["target"],
                    "anchor": got["anchor"],
                    "data": data,
                    "runs": [r["id"] for r in records],
                    "objects": objects,
                    "notes": notes,
                    "members": w.members,
                }
            )
            zf.writestr(fmt.MANIFEST, fmt.manifest_bytes(manifest))
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    summary = {k: v for k, v in manifest.items() if k not in ("members", "objects")}
    summary.update(
        path=str(dest),
        size=dest.stat().st_size,
        members=len(manifest["members"]) + 1,
        runs=len(records),
        events=len(got["events"]),
        objects_included=sum(1 for o in objects if o["included"]),
        objects_listed=len(objects),
        seconds=round(time.perf_counter() - started, 3),
    )
    return summary


def _write_code(
    ctx: Context, w: _Writer, records: list[dict[str, Any]], notes: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rec in records:
        code = rec.get("code") or {}
        commit = code.get("commit")
        entry: dict[str, Any] = {
            "commit": commit,
            "bundle": None,
            "patch": None,
            "untracked": [],
            "project": _project_dir(ctx, code.get("repo_root")),
        }
        if commit:
            name = f"code/{commit}.bundle"
            if name in w.names:
                entry["bundle"] = name
            else:
                repo = Path(code.get("repo_root") or ctx.project.root)
                with tempfile.TemporaryDirectory(prefix="pedigree-bundle-") as tmp:
                    file = Path(tmp) / "code.bundle"
                    problem = _git_bundle(repo, commit, file)
                    if problem is None:
                        w.add(name, file.read_bytes())
                        entry["bundle"] = name
                    else:
                        notes.append(f"run {rec['id']}: no code bundle ({problem})")
        patch = code.get("patch_digest")
        if patch:
            blob = _object(ctx, patch)
            if blob is None:
                notes.append(f"run {rec['id']}: the recorded patch {patch} is not in the store")
            else:
                entry["patch"] = f"code/patches/{_hex(patch)}"
                w.add(entry["patch"], blob)
        for item in code.get("untracked") or []:
            blob = _object(ctx, item["digest"])
            member = None
            if blob is None:
                notes.append(f"run {rec['id']}: untracked file {item['path']} is not in the store")
            else:
                member = f"code/files/{_hex(item['digest'])}"
                w.add(member, blob)
            entry["untracked"].append({**item, "member": member})
        out[rec["id"]] = entry
    return out


def _project_dir(ctx: Context, repo_root: str | None) -> str:
    """Where the project (whose paths the records use) sits inside the repository: ``""`` at
    its root, else a relative path; a reproduction from the bundle puts inputs there."""
    if not repo_root:
        return ""
    try:
        rel = ctx.project.root.resolve().relative_to(Path(repo_root).resolve())
    except ValueError:
        return ""
    return rel.as_posix() if rel.parts else ""


def _write_objects(
    ctx: Context, w: _Writer, got: dict[str, Any], *, data: bool, notes: list[str]
) -> list[dict[str, Any]]:
    """Every file object the runs read or wrote (a folder's files through its manifest), each
    once; without ``data`` only listed."""
    wanted: dict[str, int | None] = {}
    for d, info in got["digests"].items():
        if info["kind"] == "dir":
            for _path, fd, size in got["trees"].get(d, []):
                wanted.setdefault(fd, size)
        else:
            wanted.setdefault(d, info["size"])
    out = []
    missing = 0
    for d, size in sorted(wanted.items()):
        item: dict[str, Any] = {"digest": d, "size": size, "included": False, "member": None}
        if data:
            blob = _object(ctx, d)
            if blob is None:
                missing += 1
            else:
                item.update(included=True, member=f"objects/{_hex(d)}")
                w.add(item["member"], blob)
        out.append(item)
    if missing:
        notes.append(f"{missing} object(s) recorded by digest are not in the object store")
    if not data:
        notes.append("--no-data: objects are listed by digest and size only")
    return out
