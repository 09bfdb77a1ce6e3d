"""Verifying an evidence bundle offline: no store, no project, only the file (docs/bundle.md).

1. the manifest: canonical JSON, its seal, every member listed with its digest and size, and
   nothing in the zip that it does not list;
2. the events: each digest recomputed from its fields (:func:`pedigree.store.chain.event_digest`),
   each ``prev`` the digest before it, seqs without gaps, the last one the manifest's anchor (and,
   given ``anchor``, that digest among them, with every needed event at or before it);
3. the records: each run's params, metrics (latest and history), status, exit code, inputs and
   outputs, commit, patch and environment folded from its events; dataset versions, folder
   manifests and environments compared with the events that recorded them;
4. the objects: each hashes to the digest it is named by; the code: the git bundle holds the
   commit the events recorded, the patch and untracked files hash to the recorded digests.

>>> import io, zipfile
>>> from pedigree.errors import IntegrityError
>>> try:
...     verify_bundle(io.BytesIO(b"not a zip"))
... except IntegrityError as exc:
...     print(exc)  # doctest: +ELLIPSIS
the bundle is not a Pedigree bundle (not a readable zip file: ...)
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from pedigree.bundle import format as fmt
from pedigree.bundle.read import Bundle, open_bundle
from pedigree.errors import IntegrityError
from pedigree.store.chain import event_digest
from pedigree.store.codec import unpack_points

__all__ = ["verify_bundle"]


class _Report:
    def __init__(self) -> None:
        self.problems: list[dict[str, str]] = []
        self.checked: dict[str, int] = {}
        self.cannot_reproduce: list[str] = []

    def fail(self, part: str, message: str) -> None:
        self.problems.append({"part": part, "problem": message})

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n


def verify_bundle(
    source: str | os.PathLike[str] | IO[bytes], *, anchor: str | None = None
) -> dict[str, Any]:
    """Check everything the bundle says; returns ``{"ok", "problems": [{part, problem}],
    "checked", "cannot_reproduce", "anchor", ...}``. A file that is no bundle raises
    :class:`IntegrityError`."""
    started = time.perf_counter()
    if anchor is not None:
        from pedigree.audit.verify import parse_anchor

        anchor = parse_anchor(anchor)
    bundle = open_bundle(source)
    rep = _Report()
    try:
        members_ok = _check_manifest(bundle, rep)
        events = _check_events(bundle, rep, anchor, members_ok)
        if fmt.EVENTS in members_ok:
            _check_records(bundle, rep, events, members_ok)
            _check_code(bundle, rep, events, members_ok)
        _check_objects(bundle, rep, members_ok)
    finally:
        bundle.close()
    m = bundle.manifest
    return {
        "ok": not rep.problems,
        "format": f"{m.get('format')} v{m.get('version')}",
        "target": (m.get("target") or {}).get("label"),
        "anchor": m.get("anchor"),
        "anchored_to": anchor,
        "data": m.get("data"),
        "checked": rep.checked,
        "problems": rep.problems,
        "cannot_reproduce": rep.cannot_reproduce,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _check_manifest(bundle: Bundle, rep: _Report) -> set[str]:
    """The members whose bytes match the manifest."""
    m = bundle.manifest
    if bundle.raw_manifest != fmt.manifest_bytes(m):
        rep.fail(fmt.MANIFEST, "not in canonical form (the manifest was edited)")
    if not fmt.check_seal(m):
        rep.fail(fmt.MANIFEST, "its seal does not match its contents (the manifest was edited)")
    listed: dict[str, dict[str, Any]] = {}
    for item in m.get("members") or []:
        if not isinstance(item, dict) or not fmt.safe_name(str(item.get("path", ""))):
            rep.fail(fmt.MANIFEST, f"lists an unsafe or malformed member {item!r}")
            continue
        listed[item["path"]] = item
    good: set[str] = set()
    names = set(bundle.names())
    for name in sorted(names - set(listed) - {fmt.MANIFEST}):
        rep.fail(name, "in the zip but not listed in the manifest")
    for name, item in listed.items():
        if name not in names:
            rep.fail(name, "listed in the manifest but missing from the zip")
            continue
        try:
            data = bundle.read(name)
        except IntegrityError as exc:
            rep.fail(name, str(exc))
            continue
        rep.count("members")
        if len(data) != item.get("size") or fmt.digest_bytes(data) != item.get("digest"):
            rep.fail(name, f"does not hash to its manifest digest {item.get('digest')}")
        else:
            good.add(name)
    return good


def _check_events(
    bundle: Bundle, rep: _Report, anchor: str | None, good: set[str]
) -> list[dict[str, Any]]:
    part = fmt.EVENTS
    if part not in good:
        return []
    events: list[dict[str, Any]] = []
    for n, line in enumerate(bundle.read(part).decode("utf-8", "replace").splitlines(), 1):
        try:
            ev = json.loads(line)
            ev["seq"], ev["at"], ev["payload"]
        except (ValueError, KeyError, TypeError):
            rep.fail(part, f"line {n} is not an event")
            return []
        events.append(ev)
    prev = None
    for ev in events:
        where = f"{part} seq {ev['seq']}"
        if prev is not None:
            if ev["seq"] != prev["seq"] + 1:
                rep.fail(where, f"follows seq {prev['seq']} (events missing or reordered)")
            if ev.get("prev") != prev.get("digest"):
                rep.fail(where, "its prev is not the digest of the event before it")
        try:
            digest = event_digest(
                prev=ev["prev"],
                seq=ev["seq"],
                at=ev["at"],
                actor=ev["actor"],
                kind=ev["kind"],
                run_id=ev["run_id"],
                payload=ev["payload"],
                identity=ev.get("identity"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            rep.fail(where, f"cannot be hashed ({exc})")
            digest = None
        if digest != ev.get("digest"):
            rep.fail(where, "its digest does not match its fields (the event was edited)")
        prev = ev
    rep.count("events", len(events))
    head = bundle.manifest.get("anchor") or {}
    last = events[-1] if events else {"seq": 0, "digest": None}
    if (last["seq"], last["digest"]) != (head.get("seq"), head.get("digest")):
        rep.fail(part, f"does not end at the manifest's anchor {head.get('digest')}")
    if anchor is not None:
        at = next((ev for ev in events if ev["digest"] == anchor), None)
        if at is None:
            rep.fail(part, f"the anchor {anchor} is not among the bundle's events")
        else:
            after = [ev["seq"] for ev in events if ev.get("needed") and ev["seq"] > at["seq"]]
            if after:
                rep.fail(
                    part,
                    f"{len(after)} needed event(s) come after the anchor (seq {at['seq']}): "
                    "the anchor does not cover them",
                )
    return events


def _fold_run(events: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """What a run's events say: params, metrics, status, io, code, environment."""
    out: dict[str, Any] = {
        "params": {},
        "history": [],
        "status": "running",
        "exit_code": None,
        "io": {},
        "commit": None,
        "patch_digest": None,
        "untracked": [],
        "environment": None,
        "experiment": None,
        "identity": None,
        "recorded_by": None,
        "events": 0,
    }
    for ev in events:
        if ev.get("run_id") != run_id:
            continue
        p = json.loads(ev["payload"])
        if p.get("run_id", p.get("id")) != run_id:
            continue
        out["events"] += 1
        kind = ev["kind"]
        if kind == "run.created":
            out["experiment"] = p.get("experiment")
            out["identity"] = ev.get("identity") or "self-declared"
            out["recorded_by"] = ev.get("actor")
        elif kind == "run.updated" and "experiment" in p:
            out["experiment"] = p["experiment"]
        elif kind == "run.params":
            out["params"].update(p["params"])
        elif kind == "run.metrics":
            keys, steps, values, times = unpack_points(p["points"])
            out["history"].extend(zip(keys, steps, values, times, strict=True))
        elif kind == "run.ended":
            out["status"], out["exit_code"] = p["status"], p.get("exit_code")
        elif kind == "run.io":
            for item in p["items"]:
                out["io"][(item["role"], item["path"])] = item
        elif kind == "run.attached":
            for item in p["items"]:
                out["io"][("output", item["path"])] = {**item, "role": "output"}
        elif kind == "run.captured":
            code = p.get("code") or {}
            out["commit"] = code.get("commit")
            out["patch_digest"] = code.get("patch_digest")
            out["untracked"] = (code.get("extra") or {}).get("untracked") or []
            out["environment"] = p.get("environment_digest")
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _check_run(rec: dict[str, Any], folded: dict[str, Any], part: str, rep: _Report) -> None:
    if folded["events"] == 0:
        rep.fail(part, "no event in the bundle records this run")
        return
    if rec.get("params") != folded["params"]:
        rep.fail(part, "params differ from the run.params events")
    history = sorted(folded["history"], key=lambda p: (p[0], p[1]))
    recorded = [tuple(p) for p in rec.get("metric_history") or []]
    if len(recorded) != len(history) or not all(
        all(_same(x, y) for x, y in zip(a, b, strict=True))
        for a, b in zip(recorded, history, strict=True)
    ):
        rep.fail(part, "metric history differs from the run.metrics events")
    latest: dict[str, tuple[int, Any]] = {}
    for key, step, value, _ts in folded["history"]:
        if key not in latest or step >= latest[key][0]:
            latest[key] = (step, float("nan") if value is None else value)
    metrics = rec.get("metrics") or {}
    if set(metrics) != set(latest) or not all(_same(metrics[k], latest[k][1]) for k in latest):
        rep.fail(part, "metrics differ from the run.metrics events")
    status = rec.get("status")
    if status != folded["status"] and not (folded["status"] == "running" and status == "crashed"):
        rep.fail(part, f"status {status!r} but the events say {folded['status']!r}")
    if rec.get("exit_code") != folded["exit_code"]:
        rep.fail(part, "exit code differs from the run.ended event")
    if rec.get("experiment") != folded["experiment"]:
        rep.fail(part, "experiment differs from the events")
    identity = rec.get("identity") or {}
    if identity.get("trust") != folded["identity"] or (
        "recorded_by" in identity and identity["recorded_by"] != folded["recorded_by"]
    ):
        rep.fail(part, "its identity (who recorded it, and how) differs from the run.created event")
    fields = ("digest", "size", "kind")
    io = {
        (role, item["path"]): tuple(item.get(f) for f in fields)
        for role in ("input", "output")
        for item in rec.get(f"{role}s") or []
    }
    logged = {k: tuple(v.get(f) for f in fields) for k, v in folded["io"].items()}
    if io != logged:
        rep.fail(part, "inputs/outputs differ from the run.io events")
    code = rec.get("code") or {}
    if code.get("commit") != folded["commit"] or code.get("patch_digest") != folded["patch_digest"]:
        rep.fail(part, "code (commit or patch) differs from the run.captured event")
    if (rec.get("environment") or {}).get("digest") != folded["environment"]:
        rep.fail(part, "environment differs from the run.captured event")


def _check_records(
    bundle: Bundle, rep: _Report, events: list[dict[str, Any]], good: set[str]
) -> None:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        by_kind.setdefault(ev["kind"], []).append(ev)
    for name in sorted(good):
        if name.startswith("records/runs/"):
            rec = bundle.json(name)
            _check_run(rec, _fold_run(events, rec.get("id", "")), name, rep)
            rep.count("runs")
        elif name.startswith("records/datasets/"):
            dv = bundle.json(name)
            keys = ("name", "version", "digest", "size", "file_count")
            ok = any(
                all(json.loads(ev["payload"]).get(k) == dv.get(k) for k in keys)
                for ev in by_kind.get("dataset.versioned", [])
            )
            if not ok:
                rep.fail(name, "no dataset.versioned event says this")
            rep.count("datasets")
        elif name.startswith("records/trees/"):
            tree = bundle.json(name)
            logged = [
                p["entries"]
                for ev in by_kind.get("tree.recorded", [])
                if (p := json.loads(ev["payload"])).get("digest") == tree.get("digest")
                and p.get("entries")
            ]
            entries = sorted(map(tuple, tree.get("entries") or []))
            if not logged or sorted(map(tuple, logged[0])) != entries:
                rep.fail(name, "its entries differ from the tree.recorded event")
            rep.count("trees")
        elif name == fmt.MODEL:
            _check_model(bundle, rep, by_kind)
            rep.count("models")
        elif name.startswith("env/") and name.endswith(".lock.json"):
            _check_lock(bundle, rep, by_kind, name)
        elif name.startswith("env/") and name.endswith(".json"):
            env = bundle.json(name)
            logged_envs = [
                p.get("data")
                for ev in by_kind.get("environment.recorded", [])
                if (p := json.loads(ev["payload"])).get("digest") == "blake3:" + name[4:-5]
            ]
            if not logged_envs or logged_envs[0] != env:
                rep.fail(name, "differs from the environment.recorded event")
            rep.count("environments")


def _check_lock(
    bundle: Bundle, rep: _Report, by_kind: dict[str, list[dict[str, Any]]], name: str
) -> None:
    """A package lock lists exactly the packages (name, version) its environment recorded; its
    hashes are the writer's findings, which no event records."""
    digest = "blake3:" + name[4 : -len(".lock.json")]
    lock = bundle.json(name)
    recorded = [
        (p.get("data") or {}).get("packages") or []
        for ev in by_kind.get("environment.recorded", [])
        if (p := json.loads(ev["payload"])).get("digest") == digest
    ]
    listed = [[item.get("name"), item.get("version")] for item in lock.get("packages") or []]
    if lock.get("digest") != digest or not recorded or [list(p[:2]) for p in recorded[0]] != listed:
        rep.fail(name, "its packages differ from the environment.recorded event")


def _check_model(bundle: Bundle, rep: _Report, by_kind: dict[str, list[dict[str, Any]]]) -> None:
    """The model version against its ``model.registered`` event, and where its aliases point
    (and the target's claim of which of them name this version) against the folded
    ``model.alias_moved`` events, every one of which the bundle holds."""
    part = fmt.MODEL
    model = bundle.json(part)
    name, version = model.get("name"), model.get("version")
    keys = ("name", "version", "digest", "kind", "size", "run_id")
    registered = [
        p
        for ev in by_kind.get("model.registered", [])
        if (p := json.loads(ev["payload"])).get("name") == name and p.get("version") == version
    ]
    if not registered or any(registered[0].get(k) != model.get(k) for k in keys):
        rep.fail(part, f"model {name}/{version} differs from its model.registered event")
    latest: dict[str, tuple[int, int]] = {}
    for ev in by_kind.get("model.alias_moved", []):
        p = json.loads(ev["payload"])
        if p.get("name") == name and (
            p["alias"] not in latest or p["number"] > latest[p["alias"]][0]
        ):
            latest[p["alias"]] = (p["number"], p["version"])
    aliases = {alias: v for alias, (_, v) in latest.items()}
    if aliases != model.get("aliases"):
        rep.fail(part, "its aliases differ from the model.alias_moved events")
    claimed = ((bundle.manifest.get("target") or {}).get("model") or {}).get("aliases")
    if claimed is not None and sorted(claimed) != sorted(
        a for a, v in aliases.items() if v == version
    ):
        rep.fail(fmt.MANIFEST, f"the target's aliases are not those that name {name}/{version}")


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def _check_code(bundle: Bundle, rep: _Report, events: list[dict[str, Any]], good: set[str]) -> None:
    if fmt.CODE_INFO not in good:
        return
    code = bundle.json(fmt.CODE_INFO)
    checked: dict[str, bool] = {}
    for run_id, entry in code.items():
        part = f"{fmt.CODE_INFO} run {run_id}"
        folded = _fold_run(events, run_id)
        commit = entry.get("commit")
        if commit != folded["commit"]:
            rep.fail(part, "its commit is not the one the run.captured event recorded")
        member = entry.get("bundle")
        if commit and member is None:
            rep.cannot_reproduce.append(f"run {run_id}: the bundle holds no code for {commit}")
        elif member and member in good and commit:
            key = f"{member}:{commit}"
            if key not in checked:
                checked[key] = _bundle_has(bundle, member, commit)
                rep.count("code bundles")
            if not checked[key]:
                rep.fail(member, f"the git bundle does not hold commit {commit}")
        patch = entry.get("patch")
        if folded["patch_digest"] and patch != f"code/patches/{folded['patch_digest'][7:]}":
            rep.fail(part, "the recorded patch is not in the bundle")
        logged = {(u["path"], u["digest"]) for u in folded["untracked"]}
        listed = {(u["path"], u["digest"]) for u in entry.get("untracked") or []}
        if logged != listed:
            rep.fail(part, "untracked files differ from the run.captured event")
        for u in entry.get("untracked") or []:
            if u.get("member") and u["member"] != f"code/files/{u['digest'][7:]}":
                rep.fail(part, f"untracked file {u['path']} is filed under another digest")
    for name in good:
        named = "blake3:" + name.rsplit("/", 1)[-1]
        if name.startswith(("code/patches/", "code/files/")) and (
            fmt.digest_bytes(bundle.read(name)) != named
        ):
            rep.fail(name, "does not hash to the digest it is named by")


def _bundle_has(bundle: Bundle, member: str, commit: str) -> bool:
    """Fetch the git bundle into a scratch repository (git checks every object's hash on the way
    in) and look for the commit."""
    with tempfile.TemporaryDirectory(prefix="pedigree-verify-") as tmp:
        root = Path(tmp)
        path = root / "code.bundle"
        path.write_bytes(bundle.read(member))
        repo = root / "repo"
        repo.mkdir()
        if _git("init", "-q", cwd=repo).returncode != 0:
            return False
        if _git("bundle", "verify", "-q", str(path), cwd=repo).returncode != 0:
            return False
        if _git("fetch", "-q", str(path), "+refs/*:refs/remotes/b/*", cwd=repo).returncode != 0:
            return False
        res = _git("cat-file", "-t", commit, cwd=repo)
        return res.returncode == 0 and res.stdout.strip() == "commit"


def _check_objects(bundle: Bundle, rep: _Report, good: set[str]) -> None:
    for item in bundle.manifest.get("objects") or []:
        digest = item.get("digest", "")
        member = item.get("member")
        if not item.get("included"):
            rep.cannot_reproduce.append(
                f"object {digest} ({item.get('size')} bytes) is not included"
            )
            continue
        if member != f"objects/{digest[7:]}":
            rep.fail(fmt.MANIFEST, f"object {digest} is filed as {member!r}")
            continue
        if member not in good:
            continue  # already reported by the member check
        rep.count("objects")
        if fmt.digest_bytes(bundle.read(member)) != digest:
            rep.fail(member, f"does not hash to its digest {digest}")
