"""What a lineage command is about: a run, a path, a dataset version or a digest.

``resolve_target`` turns what the user typed into the graph nodes it names:

- ``blake3:<hex>``: that artifact version (it must be recorded somewhere); a unique prefix of
  6+ hex characters, as text output abbreviates digests, names it too;
- ``NAME@vN``: that dataset version;
- ``model:NAME@ALIAS``, ``model:NAME/N`` or ``model:NAME`` (its latest version): the stored
  content of that registered model version (the alias is read as it points now);
- ``last``, a full run id or a unique prefix of 4+ characters: that run;
- anything else is a path, relative to the working directory or the project root, or absolute
  inside the project: every artifact version recorded at that path (read or written by a run,
  added as a dataset, or held by a dataset added from a parent folder), and for a folder every
  version of the files recorded under it.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> ctx = Context(init_project(tempfile.mkdtemp())[0])
>>> with ctx.read() as reader:
...     resolve_target(reader, "prices@v2", root=ctx.project.root)
Traceback (most recent call last):
...
pedigree.errors.NotFound: no dataset named 'prices'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from pedigree.errors import Ambiguous, InvalidInput, NotFound, RunNotFound
from pedigree.lineage.graph import NodeRef

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["Target", "project_path", "resolve_target"]

_DATASET = re.compile(r"^(?P<name>.+)@v(?P<version>\d+)$")
_RUNLIKE = re.compile(r"^(last|[0-9a-fA-F-]{4,36})$")
# An abbreviated digest, as text output prints them (blake3: and 6 to 63 hex characters).
_DIGEST_PREFIX = re.compile(r"^blake3:([0-9a-fA-F]{6,63})$", re.IGNORECASE)
TargetKind = Literal["run", "path", "dataset", "digest", "model"]


@dataclass
class Target:
    """A resolved target: what kind it is, a label for people, and its nodes in the graph."""

    text: str
    kind: TargetKind
    label: str
    nodes: list[NodeRef] = field(default_factory=list)
    path: str | None = None  # project-relative, for path targets
    model: dict[str, object] | None = None  # for model targets: {name, version, ref, aliases}

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "text": self.text,
            "kind": self.kind,
            "label": self.label,
            "path": self.path,
            "nodes": [{"kind": n.kind, "id": n.key} for n in self.nodes],
        }
        if self.model is not None:
            out["model"] = self.model
        return out


def project_path(text: str, *, root: Path, cwd: Path | None = None) -> str:
    """``text`` as a project-relative, ``/``-separated path.

    A relative path is taken from the working directory when it exists there (as git does), and
    from the project root otherwise.
    """
    root = root.resolve()
    raw = Path(os.path.expanduser(text))
    if raw.is_absolute():
        candidate = Path(os.path.normpath(raw))
    else:
        here = (cwd or Path.cwd()).resolve()
        from_cwd = Path(os.path.normpath(here / raw))
        inside = from_cwd == root or root in from_cwd.parents
        candidate = from_cwd if inside and from_cwd.exists() else Path(os.path.normpath(root / raw))
    if candidate != root and root not in candidate.parents:
        raise InvalidInput(f"{text} is outside the project ({root})")
    rel = candidate.relative_to(root).as_posix()
    if rel in ("", "."):
        raise InvalidInput("a path target must name a file or folder inside the project")
    return str(PurePosixPath(rel))


def resolve_target(reader: Reader, text: str, *, root: Path, cwd: Path | None = None) -> Target:
    """The target ``text`` names; ``NotFound`` when nothing recorded matches it."""
    text = text.strip()
    if not text:
        raise InvalidInput("no target given: a run, a path, NAME@vN or blake3:<digest>")
    if text.lower().startswith("blake3:"):
        return _digest_target(reader, text)
    if text.lower().startswith("model:"):
        return _model_target(reader, text)
    m = _DATASET.match(text)
    if m is not None and not _path_recorded(reader, text, root, cwd):
        return _dataset_target(reader, text, m.group("name"), int(m.group("version")))
    if _RUNLIKE.match(text):
        try:
            run_id = reader.resolve_run(text)
        except RunNotFound as exc:
            try:
                return _path_target(reader, text, root=root, cwd=cwd)
            except (NotFound, InvalidInput):
                raise exc from None
        return Target(text, "run", f"run {run_id}", [NodeRef("run", run_id)])
    return _path_target(reader, text, root=root, cwd=cwd)


def _digest_target(reader: Reader, text: str) -> Target:
    from pedigree.digest import Digest

    m = _DIGEST_PREFIX.match(text.strip())
    digest = _expand_prefix(reader, text, m.group(1).lower()) if m else str(Digest.parse(text))
    if not reader.digest_recorded(digest):
        raise NotFound(f"no run read or wrote {digest}, and no dataset holds it")
    return Target(text, "digest", digest, [NodeRef("artifact", digest)])


def _model_target(reader: Reader, text: str) -> Target:
    """A registered model version: its content is an artifact version like any other, so the
    walks go on from there (to the run that wrote it, its code, data and parameters)."""
    from pedigree.models.registry import find_version

    v = find_version(reader, text)
    aliases = [a for a, n in reader.model_aliases(v.name).items() if n == v.version]
    label = f"model {v.ref}" + (f" ({', '.join(aliases)})" if aliases else "")
    model: dict[str, object] = {
        "name": v.name,
        "version": v.version,
        "ref": v.ref,
        "aliases": aliases,
        "run": v.run_id,
        "digest": v.digest,
    }
    return Target(text, "model", label, [NodeRef("artifact", v.digest)], model=model)


def _expand_prefix(reader: Reader, text: str, hexpart: str) -> str:
    """The one recorded digest that starts ``blake3:<hexpart>`` (as text output shows them)."""
    low = f"blake3:{hexpart}"
    found = reader.digests_starting(low)
    if len(found) > 1:
        raise Ambiguous(f"{text!r} matches several digests; give more characters")
    if not found:
        raise NotFound(f"no run read or wrote a digest starting {low}, and no dataset holds one")
    return found.pop()


def _dataset_target(reader: Reader, text: str, name: str, version: int) -> Target:
    found = reader.dataset_version(name, version)
    if found is None:
        latest = reader.dataset_version(name)
        if latest is None:
            raise NotFound(f"no dataset named {name!r}")
        raise NotFound(
            f"no version {version} of dataset {name!r} (the latest is v{latest.version})"
        )
    return Target(text, "dataset", f"{name}@v{version}", [NodeRef("artifact", found.digest)])


def _path_recorded(reader: Reader, text: str, root: Path, cwd: Path | None) -> bool:
    try:
        return bool(reader.path_digests(project_path(text, root=root, cwd=cwd)))
    except InvalidInput:
        return False


def _path_target(reader: Reader, text: str, *, root: Path, cwd: Path | None) -> Target:
    rel = project_path(text, root=root, cwd=cwd)
    digests = reader.path_digests(rel)
    if not digests:
        raise NotFound(
            f"nothing is recorded at {rel}: no run, path, dataset version (NAME@vN) or digest "
            f"matches {text!r}"
        )
    return Target(text, "path", rel, [NodeRef("artifact", d) for d in digests], path=rel)
