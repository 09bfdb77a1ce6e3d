"""A throwaway copy of a run's world: its code at the recorded commit plus patch, and its inputs.

The code is checked out in a temporary ``git worktree`` (so the user's working tree and index are
never touched: git only notes the extra worktree, and forgets it when it is removed), the
recorded patch is applied with ``git apply``, the untracked files the run saw are written from the
object store, and every input file is put back at its recorded path with its recorded bytes.

Nothing is written outside the checkout: a recorded path that is absolute or climbs out with
``..`` is refused as a hostile record (:class:`IntegrityError`), and a path whose folders include a
symlink leaving the checkout (a committed ``data -> /abs/realdata``) is refused rather than
written through (:class:`CannotReproduce`); a file already at the path is replaced, never
written through.

>>> import subprocess, tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> root = Path(tempfile.mkdtemp())
>>> def git(*args: str) -> str:
...     done = subprocess.run(["git", "-C", str(root), "-c", "user.name=Ann",
...                            "-c", "user.email=ann@example.com", *args],
...                           check=True, capture_output=True, text=True)
...     return done.stdout.strip()
>>> _ = git("init", "-q"), (root / "backtest.py").write_text("print(1)"), git("add", ".")
>>> _ = git("commit", "-qm", "v1"), (root / "backtest.py").write_text("print(2)")
>>> ctx = Context(init_project(root)[0])
>>> code = {"commit": git("rev-parse", "HEAD"), "repo_root": str(root)}
>>> run = {"id": "0193", "cwd": str(root), "code": code}
>>> ws = materialise(ctx, run, [], {}, Path(tempfile.mkdtemp()) / "src")
>>> (ws.cwd / "backtest.py").read_text()  # the commit's, not the working tree's
'print(1)'
>>> remove_worktree(ws.repo, ws.worktree)
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pedigree.errors import CannotReproduce, IntegrityError, ObjectNotFound
from pedigree.procs import pid_alive

if TYPE_CHECKING:
    from pedigree.context import Context

__all__ = [
    "CannotReproduce",
    "Workspace",
    "git_root",
    "materialise",
    "prune_dead",
    "remove_worktree",
    "scratch_prefix",
]

_GIT_TIMEOUT = 300


@dataclass
class Workspace:
    repo: Path  # the user's repository (only its object database is read)
    worktree: Path  # the checkout
    root: Path  # the project root inside the checkout (paths of inputs are relative to it)
    cwd: Path  # where the command runs
    original_root: Path  # the repository root the run was recorded in
    notes: list[str] = field(default_factory=list)


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CannotReproduce("git is not installed: the code cannot be materialised") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CannotReproduce(f"git {args[0]} failed: {exc}") from exc


def _first_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else f"exit status {proc.returncode}"


def git_root(path: Path) -> Path | None:
    proc = _git(path, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode().strip())


def inside(worktree: Path, base: Path, rel: str, what: str) -> Path:
    """``base / rel``, where ``rel`` is a recorded path and ``base`` is in ``worktree``.

    Refuses ``rel`` when it is absolute or climbs with ``..`` (a record that escapes its root),
    and when a folder on the way from ``worktree`` is a symlink that leaves the checkout.
    """
    pure = PurePosixPath(rel)
    if not rel or "\x00" in rel or pure.is_absolute() or ".." in pure.parts:
        raise IntegrityError(
            f"{what}: the recorded path {rel!r} escapes its folder; nothing is written there"
        )
    target = base.joinpath(*pure.parts)
    top = os.path.realpath(worktree)
    folder = worktree
    for part in target.relative_to(worktree).parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            real = os.path.realpath(folder)
            if os.path.commonpath([top, real]) != top:
                link = folder.relative_to(worktree)
                raise CannotReproduce(
                    f"{what}: {link} is a symlink to {os.readlink(folder)}, outside the "
                    "checkout; a reproduction never writes outside its checkout"
                )
    return target


def _restore(ctx: Context, digest: str, dest: Path, what: str, fallback: Path | None) -> None:
    """Put the object ``digest`` at ``dest``: from the store, or a verified copy of ``fallback``."""
    from pedigree.digest import Digest, hash_file

    d = Digest.parse(digest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and not dest.is_symlink() and hash_file(dest) == d:
        return  # the checkout already holds these bytes
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    try:
        ctx.objects.get_file(d, dest)
        return
    except ObjectNotFound:
        pass
    except IntegrityError as exc:
        raise CannotReproduce(f"{what} ({digest}) is corrupt in the object store: {exc}") from exc
    # Not stored, but the same bytes may still be in the project: copy them, checked.
    if fallback is not None and fallback.is_file() and hash_file(fallback) == d:
        shutil.copyfile(fallback, dest)
        return
    raise CannotReproduce(f"{what} ({digest}) is missing from the object store")


def materialise(
    ctx: Context,
    run: dict[str, Any],
    inputs: list[dict[str, Any]],
    tree_entries: dict[str, list[tuple[str, str]]],
    dest: Path,
) -> Workspace:
    """Check out ``run``'s code in ``dest`` and put its ``inputs`` in place.

    ``run`` is the run's record (as ``pedigree show --json`` prints it); ``inputs`` are
    {path, digest, kind} rows; ``tree_entries`` maps a folder input's digest to its
    (path, digest) files. Raises ``CannotReproduce`` naming what is missing.
    """
    code = run["code"]
    commit = code.get("commit")
    project_root = ctx.project.root.resolve()
    if not commit:
        raise CannotReproduce(
            f"run {run['id']} recorded no git commit (it ran outside a git repository): "
            "its code cannot be materialised"
        )
    repo = git_root(project_root)
    if repo is not None:
        prune_dead(repo)
    if repo is None or _git(repo, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        # A run imported from an evidence bundle brings its code along (a git bundle).
        cloned = _from_code_bundle(ctx, run, inputs, tree_entries, dest)
        if cloned is not None:
            return cloned
        if repo is None:
            raise CannotReproduce(f"{project_root} is not inside a git repository")
        remote = code.get("remote")
        where = (
            f"; the run was recorded with the remote {remote} (try: git fetch {remote})"
            if remote
            else "; the run recorded no remote"
        )
        raise CannotReproduce(f"commit {commit} is not in the repository at {repo}{where}")

    proc = _git(repo, "worktree", "add", "--detach", "--quiet", str(dest), commit)
    if proc.returncode != 0:
        raise CannotReproduce(f"git worktree add failed: {_first_line(proc)}")
    try:
        return _fill(ctx, run, inputs, tree_entries, repo, dest, project_root)
    except BaseException:
        remove_worktree(repo, dest)
        raise


def _from_code_bundle(
    ctx: Context,
    run: dict[str, Any],
    inputs: list[dict[str, Any]],
    tree_entries: dict[str, list[tuple[str, str]]],
    dest: Path,
) -> Workspace | None:
    """The run's code cloned at its commit from the git bundle it was imported with
    (``pedigree bundle import``), its inputs in place; None when it came with none.

    The clone is a repository of its own (``repo`` and ``worktree`` are both ``dest``): no
    repository of the user's is read or written, and none needs to exist.
    """
    from pedigree.bundle.merge import code_bundle_of

    digest, project_dir = code_bundle_of(ctx, run["id"])
    if digest is None:
        return None
    commit = run["code"]["commit"]
    file = dest.parent / "code.bundle"
    try:
        ctx.objects.get_file(digest, file)
    except ObjectNotFound as exc:
        raise CannotReproduce(
            f"the code bundle of run {run['id']} ({digest}) is missing from the object store"
        ) from exc
    try:
        proc = _git(dest.parent, "clone", "--quiet", "--no-checkout", str(file), str(dest))
        if proc.returncode != 0:
            raise CannotReproduce(f"git clone of the code bundle failed: {_first_line(proc)}")
        proc = _git(dest, "-c", "advice.detachedHead=false", "checkout", "--quiet", commit)
        if proc.returncode != 0:
            raise CannotReproduce(
                f"the code bundle does not hold commit {commit}: {_first_line(proc)}"
            )
    finally:
        file.unlink(missing_ok=True)
    try:
        ws = _fill(
            ctx, run, inputs, tree_entries, dest, dest, ctx.project.root, offset=Path(project_dir)
        )
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    ws.notes.append(f"the code was cloned from the git bundle the run was imported with ({digest})")
    return ws


def _fill(
    ctx: Context,
    run: dict[str, Any],
    inputs: list[dict[str, Any]],
    tree_entries: dict[str, list[tuple[str, str]]],
    repo: Path,
    dest: Path,
    project_root: Path,
    *,
    offset: Path | None = None,
) -> Workspace:
    code = run["code"]
    commit = code["commit"]
    original_root = Path(code.get("repo_root") or repo)
    if offset is None:
        try:
            offset = project_root.relative_to(repo.resolve())
        except ValueError:
            offset = Path()
    root = dest / offset
    ws = Workspace(repo=repo, worktree=dest, root=root, cwd=root, original_root=original_root)

    patch_digest = code.get("patch_digest")
    if patch_digest:
        from pedigree.digest import Digest

        try:
            patch = ctx.objects.get_bytes(Digest.parse(patch_digest))
        except ObjectNotFound as exc:
            raise CannotReproduce(
                f"the code patch ({patch_digest}) is missing from the object store"
            ) from exc
        if patch:
            proc = _git(dest, "apply", "--binary", "--whitespace=nowarn", "-", stdin=patch)
            if proc.returncode != 0:
                raise CannotReproduce(
                    f"the recorded patch does not apply to {commit[:12]}: {_first_line(proc)}"
                )
    for u in code.get("untracked") or []:
        if u.get("digest"):
            what = f"untracked file {u['path']}"
            _restore(
                ctx,
                u["digest"],
                inside(dest, dest, u["path"], what),
                what,
                original_root / u["path"],
            )
        else:
            ws.notes.append(
                f"untracked file {u['path']} was not recorded ({u.get('skipped')}); "
                "the reproduction runs without it"
            )

    for item in inputs:
        path = item["path"]
        if item["kind"] == "dir":
            files = tree_entries.get(item["digest"])
            if not files:
                raise CannotReproduce(
                    f"input folder {path} ({item['digest']}) has no recorded manifest"
                )
            inside(dest, root, path, f"input {path}")
            for rel, digest in files:
                what = f"input {path}/{rel}"
                _restore(
                    ctx,
                    digest,
                    inside(dest, root, f"{path}/{rel}", what),
                    what,
                    project_root / path / rel,
                )
        else:
            what = f"input {path}"
            _restore(ctx, item["digest"], inside(dest, root, path, what), what, project_root / path)

    recorded_cwd = Path(run.get("cwd") or original_root)
    try:
        rel_cwd = recorded_cwd.relative_to(original_root).as_posix()
        ws.cwd = inside(dest, dest, rel_cwd, "the run's folder")
    except ValueError:
        ws.notes.append(f"the run's folder {recorded_cwd} was outside its repository")
        ws.cwd = root
    ws.cwd.mkdir(parents=True, exist_ok=True)
    return ws


_HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "localhost"
_SCRATCH = re.compile(r"^pedigree-reproduce-[0-9a-f]{8}-(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-")


def scratch_prefix(run_id: str) -> str:
    """The name a reproduction's temporary folder starts with: the run, this host and pid, so
    that a later reproduction can tell one whose process was killed (:func:`prune_dead`)."""
    return f"pedigree-reproduce-{run_id[:8]}-{_HOST}-{os.getpid()}-"


def prune_dead(repo: Path) -> list[Path]:
    """Remove the checkouts of reproductions on this host whose process is gone (``kill -9``
    leaves both the folder and git's registration of the worktree); the folders removed."""
    proc = _git(repo, "worktree", "list", "--porcelain")
    if proc.returncode != 0:
        return []
    removed = []
    for line in proc.stdout.decode("utf-8", "surrogateescape").splitlines():
        if not line.startswith("worktree "):
            continue
        worktree = Path(line[len("worktree ") :])
        found = _SCRATCH.match(worktree.parent.name)
        if worktree.name != "src" or found is None or found["host"] != _HOST:
            continue
        if not pid_alive(int(found["pid"])):
            remove_worktree(repo, worktree)
            shutil.rmtree(worktree.parent, ignore_errors=True)
            removed.append(worktree.parent)
    return removed


def remove_worktree(repo: Path, worktree: Path) -> None:
    """Remove the checkout and make git forget it (a clone of its own is just removed)."""
    if repo == worktree:
        shutil.rmtree(worktree, ignore_errors=True)
        return
    _git(repo, "worktree", "remove", "--force", str(worktree))
    shutil.rmtree(worktree, ignore_errors=True)
    _git(repo, "worktree", "prune")
