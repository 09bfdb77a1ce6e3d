"""The model registry: named, numbered versions of stored content, aliases, four-eyes reviews.

``register`` records version N of a model from a run's output (``RUN:PATH``) or a recorded
digest; ``alias`` points a name such as ``champion`` or ``production`` at a version. A
protected alias (``[models] protected_aliases``, ``["production"]`` by default) may only point
at a version approved (``pedigree approve model:NAME/N``) by a reviewer who is neither its
registrant nor the author of the run that produced it. On the local store identities are
self-declared (``PEDIGREE_USER``): the rule then keeps honest people honest, and the record says
who claimed to be whom. Every register, review and alias move is an event in the audit chain.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Actor, Context
>>> from pedigree.data.datasets import add
>>> project, _ = init_project(tempfile.mkdtemp())
>>> ana, ben = Context(project, actor=Actor("ana")), Context(project, actor=Actor("ben"))
>>> _ = (project.root / "model.bin").write_text("weights")
>>> digest = add(ana, project.root / "model.bin").version.digest
>>> register(ana, "tsmom", digest).version
1
>>> alias(ana, "tsmom", "production", 1)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pedigree.errors.Conflict: production is a protected alias: tsmom/1 needs an approval by a ...
>>> _ = review_model(ben, "tsmom/1", "approved", note="checked")
>>> alias(ana, "tsmom", "production", 1).version
1
>>> find(ana, "tsmom@production").ref
'tsmom/1'
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pedigree.errors import Conflict, InvalidInput, InvalidValue, NotFound
from pedigree.store.events import Event, ModelAliasMoved, ModelRegistered
from pedigree.store.reads.models import AliasMove, ModelVersion

if TYPE_CHECKING:
    from pedigree.config import Project
    from pedigree.context import Context
    from pedigree.store.reader import Reader

__all__ = [
    "AliasMove",
    "ModelVersion",
    "alias",
    "find",
    "find_version",
    "history",
    "list_models",
    "parse_ref",
    "protected_aliases",
    "register",
    "review_model",
    "show",
]

_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_DATASET_LIKE = re.compile(r"^v\d+$")
_NAME_BAD = re.compile(r"[@/:]")
MAX_NOTE = 10_000
DECISIONS = ("approved", "rejected")


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a model name cannot be empty")
    if _NAME_BAD.search(name) or any(ord(c) < 32 for c in name) or len(name) > 250:
        raise InvalidInput(
            f"not a model name: {name!r} (up to 250 characters, no '@', '/' or ':', which "
            "separate aliases, versions and the model: prefix)"
        )
    return name


def check_alias(text: str) -> str:
    if not _ALIAS.match(text) or _DATASET_LIKE.match(text):
        raise InvalidInput(
            f"not an alias: {text!r} (a letter, then letters, digits, '_', '.' or '-'; "
            "not vN, which names dataset versions)"
        )
    return text


def parse_ref(text: str) -> tuple[str, int | None, str | None]:
    """``NAME/N`` -> (NAME, N, None); ``NAME@ALIAS`` -> (NAME, None, ALIAS); ``NAME`` -> latest.
    A ``model:`` prefix is allowed."""
    ref = text.strip()
    ref = ref[len("model:") :] if ref.lower().startswith("model:") else ref
    if "@" in ref:
        name, _, al = ref.partition("@")
        return check_name(name), None, check_alias(al)
    head, sep, number = ref.rpartition("/")
    if sep:
        if not number.isdigit() or int(number) < 1:
            raise InvalidInput(f"not a model version: {text!r} (NAME/N counts from 1)")
        return check_name(head), int(number), None
    return check_name(ref), None, None


def protected_aliases(project: Project) -> list[str]:
    """``[models] protected_aliases`` of the project's config, ``["production"]`` by default."""
    section = project.config.get("models", {})
    found = section.get("protected_aliases", ["production"]) if isinstance(section, dict) else None
    if not isinstance(found, list) or not all(isinstance(a, str) for a in found):
        raise InvalidInput("[models] protected_aliases must be a list of alias names")
    return list(found)


def find_version(reader: Reader, text: str, *, project: Project | None = None) -> ModelVersion:
    """The version ``NAME/N``, ``NAME@ALIAS`` or ``NAME`` (its latest) names."""
    name, number, al = parse_ref(text)
    if al is not None:
        aliases = reader.model_aliases(name)
        if al not in aliases:
            if reader.model_version(name) is None:
                raise NotFound(f"no model named {name!r} (see `pedigree model ls`)")
            shown = ", ".join(aliases) or "none"
            raise NotFound(f"model {name} has no alias {al!r} (its aliases: {shown})")
        number = aliases[al]
    found = reader.model_version(name, number)
    if found is None:
        latest = reader.model_version(name)
        if latest is None:
            raise NotFound(f"no model named {name!r} (see `pedigree model ls`)")
        raise NotFound(f"model {name} has no version {number} (its latest is {latest.ref})")
    return found


def find(ctx: Context, text: str) -> ModelVersion:
    with ctx.read() as reader:
        return find_version(reader, text, project=ctx.project)


def _note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidValue(f"the note is {len(note):,} characters; the limit is {MAX_NOTE:,}")
    return note


def _source(reader: Reader, ctx: Context, source: str) -> dict[str, Any]:
    """digest, kind, size, run_id, path of what ``--from`` names: ``RUN:PATH`` must be one of
    the run's outputs; a digest must be recorded (its producer, when a run wrote it, is kept)."""
    from pedigree.models.get import _RUN_PATH, _clean_path, _digest_artifact

    text = source.strip()
    m = _RUN_PATH.match(text)
    if m is not None and not text.lower().startswith("blake3:"):
        run_id = reader.resolve_run(m.group("run"))
        rel = _clean_path(m.group("path"))
        outputs = [i for i in reader.run_io([run_id])[run_id] if i.role == "output"]
        for item in outputs:
            if item.path == rel:
                return {
                    "digest": item.digest,
                    "kind": item.kind,
                    "size": item.size,
                    "run_id": run_id,
                    "path": rel,
                }
        shown = ", ".join(sorted(i.path for i in outputs)[:5]) or "none"
        raise NotFound(f"{rel} is not among the outputs of run {run_id} (its outputs: {shown})")
    if not text.lower().startswith("blake3:"):
        raise InvalidInput(f"--from {source!r}: give RUN:PATH (an output of a run) or a digest")
    art = _digest_artifact(reader, text)
    producers = reader.digest_producers(art.digest)
    return {
        "digest": art.digest,
        "kind": art.kind,
        "size": _size(ctx, art.digest, art.kind),
        "run_id": producers[0][0] if producers else None,
        "path": producers[0][1] if producers else None,
    }


def _size(ctx: Context, digest: str, kind: str) -> int:
    from pedigree.data.tree import Manifest
    from pedigree.digest import Digest

    d = Digest.parse(digest)
    if kind == "dir":
        return Manifest.decode(ctx.objects.get_bytes(d)).size
    return ctx.objects.size(d)


def register(ctx: Context, name: str, source: str, *, note: str | None = None) -> ModelVersion:
    """Record the content ``source`` names (``RUN:PATH`` or a digest) as the next version of
    model ``name``; returns it. When the run is a sweep trial, its selection context is kept."""
    from pedigree.selection.context import selection_context

    name = check_name(name)
    note = _note(note)
    made: list[ModelRegistered] = []

    def build(reader: Reader) -> list[Event]:
        src = _source(reader, ctx, source)
        latest = reader.model_version(name)
        extra: dict[str, Any] = {}
        if src["run_id"] is not None:
            selected = selection_context(reader, src["run_id"])
            if selected is not None:
                extra["selection"] = selected
        event = ModelRegistered(
            name=name,
            version=1 if latest is None else latest.version + 1,
            note=note,
            actor=ctx.user,
            at=time.time(),
            **src,
            **extra,
        )
        made.append(event)
        return [event]

    ctx.write(build)
    e = made[-1]
    return ModelVersion(
        e.name,
        e.version,
        e.digest,
        e.kind,
        e.size,
        e.run_id,
        e.path,
        e.note,
        e.actor,
        e.at,
        e.selection if isinstance(e.selection, dict) else None,
    )


def review_model(
    ctx: Context, ref: str, decision: str, *, note: str | None = None
) -> dict[str, Any]:
    """Record a review of a model version (``pedigree approve model:NAME/N``)."""
    from pedigree.ids import new_id
    from pedigree.store.events import ApprovalRecorded
    from pedigree.times import iso

    if decision not in DECISIONS:
        raise InvalidInput(f"a review decision is one of {', '.join(DECISIONS)}, not {decision!r}")
    note = _note(note)
    approval: dict[str, Any] = {}

    def build(reader: Reader) -> list[Event]:
        version = find_version(reader, ref, project=ctx.project)
        approval.update(
            id=new_id(),
            target_type="model",
            target=version.ref,
            decision=decision,
            note=note,
            actor=ctx.user,
            at=time.time(),
        )
        return [ApprovalRecorded(**approval)]

    ctx.write(build)
    return {
        **approval,
        "at": iso(approval["at"]),
        "identity": ctx.actor.identity,
        "override": None,
        "selection": None,
    }


def _four_eyes(reader: Reader, version: ModelVersion) -> tuple[bool, str]:
    """Whether a reviewer independent of the version approved it (and did not reject it since),
    and, when not, why."""
    author = None
    if version.run_id is not None:
        row = reader.run_rows([version.run_id]).get(version.run_id)
        author = row.user if row is not None else None
    excluded = {a for a in (version.actor, author) if a}
    reviews = [r for _, r in reader.model_reviews(version.name, version.version)]
    independent = [r for r in reviews if r.actor not in excluded]
    who = f"its registrant ({version.actor})" + (
        f" nor the author of its run ({author})" if author else " nor its run's author"
    )
    if not independent:
        own = " (its own people's approvals do not count)" if reviews else ""
        return False, f"needs an approval by a reviewer who is neither {who}; none yet{own}"
    last = independent[-1]
    if last.decision != "approved":
        return False, f"was last reviewed by {last.actor}: {last.decision}"
    return True, ""


def alias(ctx: Context, name: str, alias_name: str, version: int) -> AliasMove:
    """Point ``alias_name`` of model ``name`` at ``version``; protected aliases need four eyes."""
    name = check_name(name)
    alias_name = check_alias(alias_name)
    if type(version) is not int or version < 1:
        raise InvalidInput(f"a model version is a positive integer, not {version!r}")
    protected = alias_name in protected_aliases(ctx.project)
    moved: list[ModelAliasMoved] = []

    def build(reader: Reader) -> list[Event]:
        target = find_version(reader, f"{name}/{version}", project=ctx.project)
        if protected:
            ok, why = _four_eyes(reader, target)
            if not ok:
                raise Conflict(
                    f"{alias_name} is a protected alias: {target.ref} {why} (identities on this "
                    f"store are {ctx.actor.identity})",
                    hint=f"a second person records: pedigree approve model:{target.ref}",
                )
        moves = reader.alias_moves(name, alias_name)
        previous = moves[-1].version if moves else None
        event = ModelAliasMoved(
            name=name,
            alias=alias_name,
            number=len(moves) + 1,
            version=version,
            previous=previous,
            actor=ctx.user,
            at=time.time(),
        )
        moved.append(event)
        return [event]

    ctx.write(build)
    e = moved[-1]
    return AliasMove(e.name, e.alias, e.number, e.version, e.previous, e.actor, e.at)


def list_models(ctx: Context) -> list[dict[str, Any]]:
    """Every model: its latest version and where its aliases point."""
    with ctx.read() as reader:
        return [
            {
                **_version_json(v),
                "versions": v.version,
                "aliases": reader.model_aliases(v.name),
            }
            for v in reader.model_names()
        ]


def _version_json(v: ModelVersion) -> dict[str, Any]:
    from pedigree.times import iso

    return {
        "name": v.name,
        "version": v.version,
        "ref": v.ref,
        "digest": v.digest,
        "kind": v.kind,
        "size": v.size,
        "run_id": v.run_id,
        "path": v.path,
        "note": v.note,
        "registered_by": v.actor,
        "registered_at": iso(v.at),
    }


@dataclass
class ModelView:
    """What ``model show`` prints: the version, its aliases and reviews, where it came from."""

    version: ModelVersion
    aliases: list[str] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    upstream: dict[str, Any] | None = None
    protected: dict[str, bool] = field(default_factory=dict)
    identity: str = "self-declared"

    def to_json(self) -> dict[str, Any]:
        return {
            **_version_json(self.version),
            "aliases": self.aliases,
            "reviews": self.reviews,
            "upstream": self.upstream,
            "selection": self.version.selection,
            "four_eyes": self.protected,
            "identity": self.identity,
        }


def show(ctx: Context, ref: str) -> ModelView:
    """A model version (``NAME``: its latest) with its aliases, reviews and upstream summary:
    the code commit, the dataset versions and the parameters of the run that produced it."""
    from pedigree.times import iso
    from pedigree.tracking.records import load_records

    with ctx.read() as reader:
        v = find_version(reader, ref, project=ctx.project)
        view = ModelView(v, identity=ctx.actor.identity)
        view.aliases = [a for a, n in reader.model_aliases(v.name).items() if n == v.version]
        view.reviews = [
            {"decision": r.decision, "note": r.note, "actor": r.actor, "at": iso(r.at)}
            for _, r in reader.model_reviews(v.name, v.version)
        ]
        view.protected = {"approved": _four_eyes(reader, v)[0]}
        if v.run_id is not None:
            records = load_records(reader, [v.run_id], detail=True)
            if records:
                rec = records[0]
                datasets = []
                for item in rec.get("inputs") or []:
                    for ds in reader.datasets_holding(item["digest"]):
                        datasets.append(ds)
                view.upstream = {
                    "run": v.run_id,
                    "experiment": rec.get("experiment"),
                    "author": rec.get("user"),
                    "code": {
                        k: (rec.get("code") or {}).get(k) for k in ("commit", "branch", "dirty")
                    },
                    "datasets": sorted(set(datasets)),
                    "inputs": [
                        {"path": i["path"], "digest": i["digest"]} for i in rec.get("inputs") or []
                    ],
                    "params": rec.get("params") or {},
                }
    return view


def history(ctx: Context, name: str) -> list[dict[str, Any]]:
    """Every version, review and alias move of a model, oldest first, with its actor."""
    from pedigree.times import iso

    name = check_name(name)
    with ctx.read() as reader:
        versions = reader.model_versions(name)
        if not versions:
            raise NotFound(f"no model named {name!r} (see `pedigree model ls`)")
        events: list[tuple[float, int, dict[str, Any]]] = []
        for v in versions:
            events.append(
                (
                    v.at,
                    0,
                    {
                        "event": "registered",
                        "version": v.version,
                        "digest": v.digest,
                        "run_id": v.run_id,
                        "note": v.note,
                        "actor": v.actor,
                        "at": iso(v.at),
                    },
                )
            )
        for number, r in reader.model_reviews(name):
            events.append(
                (
                    r.at,
                    1,
                    {
                        "event": r.decision,
                        "version": number,
                        "note": r.note,
                        "actor": r.actor,
                        "at": iso(r.at),
                    },
                )
            )
        for m in reader.alias_moves(name):
            events.append(
                (
                    m.at,
                    2,
                    {
                        "event": "alias",
                        "alias": m.alias,
                        "version": m.version,
                        "previous": m.previous,
                        "actor": m.actor,
                        "at": iso(m.at),
                    },
                )
            )
    return [e for _, _, e in sorted(events, key=lambda x: (x[0], x[1]))]
