"""The state of the code a run used: git commit, branch, remote, uncommitted patch, untracked files.

This runs for every run, inside a per-run budget of a few milliseconds, so it spends as few git
processes as it can: one ``git status`` always, one ``git diff`` only when tracked files changed,
and the remote URL is read from the repository's config file rather than asked of git.

>>> import subprocess
>>> git = lambda *a: subprocess.run(["git", *a], check=True, capture_output=True)
>>> _ = git("init", "-q"), git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q",
...                           "--allow-empty", "-m", "start")
>>> state = capture_code(".", None)
>>> len(state.commit), state.dirty
(40, False)
>>> from pathlib import Path
>>> _ = Path("new.py").write_text("x = 1")
>>> capture_code(".", None).untracked[0].path
'new.py'
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pedigree.capture.invocation import strip_credentials
from pedigree.digest import hash_bytes

if TYPE_CHECKING:
    # Only for the annotation: importing the object store package costs time on the hot path.
    from pedigree.objects import ObjectStore

__all__ = [
    "MAX_UNTRACKED_BYTES",
    "MAX_UNTRACKED_FILES",
    "MAX_UNTRACKED_FILE_SIZE",
    "CodeState",
    "UntrackedFile",
    "capture_code",
]

MAX_UNTRACKED_FILE_SIZE = 1024 * 1024
MAX_UNTRACKED_FILES = 1000
MAX_UNTRACKED_BYTES = 50 * 1024 * 1024
# git's own heuristic for "binary": a NUL byte in the first 8,000-odd bytes.
_BINARY_SNIFF = 8192
_STORE_DIR = ".pedigree"
# A huge repository on a slow disk must not hang a run forever.
_GIT_TIMEOUT = 60.0

# Options that pin every setting a user's git config could change in the patch text, so the
# same dirty tree gives the same bytes (and digest) for everyone, and `git apply` can read it.
_DIFF_OPTIONS = (
    "--binary",
    "--full-index",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--find-renames",
    "--diff-algorithm=myers",
    "--indent-heuristic",
    "--unified=3",
    "--inter-hunk-context=0",
    # Changes inside a submodule's own work tree are not ours to patch; a moved gitlink is.
    "--ignore-submodules=dirty",
)


@dataclass(frozen=True, slots=True)
class UntrackedFile:
    """An untracked file: stored by ``digest``, or listed with the reason it was ``skipped``."""

    path: str
    size: int
    digest: str | None = None
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "size": self.size}
        if self.digest is not None:
            out["digest"] = self.digest
        if self.skipped is not None:
            out["skipped"] = self.skipped
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> UntrackedFile:
        return cls(str(d["path"]), int(d["size"]), d.get("digest"), d.get("skipped"))


@dataclass(frozen=True, slots=True)
class CodeState:
    """What git knows about the code at ``repo_root``; all fields are None outside a repository.

    ``dirty`` means the work tree is not exactly ``commit``: tracked files changed (then
    ``patch_digest`` names the patch) or untracked files exist (listed in ``untracked``).
    """

    repo_root: str | None = None
    commit: str | None = None
    branch: str | None = None
    remote: str | None = None
    dirty: bool = False
    patch_digest: str | None = None
    untracked: tuple[UntrackedFile, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_json`` reads it back."""
        return {
            "repo_root": self.repo_root,
            "commit": self.commit,
            "branch": self.branch,
            "remote": self.remote,
            "dirty": self.dirty,
            "patch_digest": self.patch_digest,
            "untracked": [u.to_json() for u in self.untracked],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CodeState:
        """Read what ``to_json`` wrote; missing keys take their defaults."""
        return cls(
            repo_root=d.get("repo_root"),
            commit=d.get("commit"),
            branch=d.get("branch"),
            remote=d.get("remote"),
            dirty=bool(d.get("dirty", False)),
            patch_digest=d.get("patch_digest"),
            untracked=tuple(UntrackedFile.from_json(u) for u in d.get("untracked") or ()),
            notes=tuple(str(n) for n in d.get("notes") or ()),
        )


class _GitFailed(Exception):
    pass


class _GitMissing(Exception):
    pass


def _git(root: str, *args: str, stdin: bytes | None = None) -> bytes:
    env = dict(os.environ)
    # A read must never take the index lock (it would make a concurrent `git commit` fail), and
    # messages we might record should not depend on the user's language.
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["LC_ALL"] = "C"
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=root,
            env=env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise _GitMissing from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _GitFailed(f"git {args[0]} failed: {exc}") from exc
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        message = lines[0] if lines else f"exit status {proc.returncode}"
        raise _GitFailed(f"git {args[0]} failed: {message}")
    return proc.stdout


def _find_root(start: str) -> str | None:
    # Walking up in Python costs microseconds; `git rev-parse --show-toplevel` costs a process.
    here = start
    while True:
        if os.path.lexists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _text(raw: bytes, notes: list[str]) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "backslashreplace")
        notes.append(f"path {text!r} is not valid UTF-8 and is recorded with escapes")
        return text


@dataclass
class _Status:
    commit: str | None = None
    branch: str | None = None
    tracked_changes: bool = False
    untracked: list[bytes] = field(default_factory=list)
    dirty_submodules: list[bytes] = field(default_factory=list)


def _parse_status(out: bytes) -> _Status:
    st = _Status()
    fields = out.split(b"\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if not entry:
            continue
        kind = entry[:1]
        if kind == b"#":
            _, _, rest = entry.partition(b" ")
            key, _, value = rest.partition(b" ")
            text = value.decode("utf-8", "replace")
            if key == b"branch.oid":
                st.commit = None if text == "(initial)" else text
            elif key == b"branch.head":
                st.branch = None if text == "(detached)" else text
        elif kind == b"?":
            st.untracked.append(entry[2:])
        elif kind in (b"1", b"2", b"u"):
            if kind == b"2":
                i += 1  # a rename or copy is followed by its original path
            parts = entry.split(b" ", 8)
            xy, sub = parts[1], parts[2]
            # "S.M." or "S..U" with nothing staged: only the submodule's own work tree changed,
            # which no patch of ours can carry; a moved submodule commit is an ordinary change.
            if kind == b"1" and xy == b".M" and sub.startswith(b"S") and sub[1:2] != b"C":
                st.dirty_submodules.append(parts[8])
            else:
                st.tracked_changes = True
    return st


def _read_config_remotes(config_path: str) -> list[tuple[str, str]] | None:
    """(name, url) of each remote in the file's order; None when git must be asked instead."""
    try:
        with open(config_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    remotes: list[tuple[str, str]] = []
    seen: set[str] = set()
    section = ""
    subsection: str | None = None
    lines = iter(text.splitlines())
    for raw in lines:
        line = raw.strip()
        if line.startswith("["):
            m = _SECTION.match(line)
            if m is None:
                return None
            section = m.group(1).lower()
            subsection = m.group(2)
            if subsection is not None:
                subsection = re.sub(r"\\(.)", r"\1", subsection)
            elif "." in section:  # the old [remote.origin] spelling
                section, _, subsection = section.partition(".")
            if section in ("include", "includeif"):
                return None  # the remote may live in the included file
            line = line[m.end() :].strip()
        if not line or line[0] in "#;":
            continue
        key, eq, value = line.partition("=")
        key = key.strip().lower()
        if section != "remote" or subsection is None or key != "url" or not eq:
            continue
        # A value may continue on the next line after a trailing backslash.
        while value.rstrip().endswith("\\") and not value.rstrip().endswith("\\\\"):
            value = value.rstrip()[:-1] + next(lines, "")
        if subsection not in seen:
            seen.add(subsection)
            remotes.append((subsection, _config_value(value)))
    return remotes


_SECTION = re.compile(r'\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')
_ESCAPES = {"n": "\n", "t": "\t", "b": "\b", '"': '"', "\\": "\\"}


def _config_value(raw: str) -> str:
    # git config values: quotes group, backslash escapes, and # or ; start a comment outside quotes.
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            out.append(_ESCAPES.get(raw[i + 1], raw[i + 1]))
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c in "#;" and not quoted:
            break
        else:
            out.append(c)
        i += 1
    return "".join(out).strip()


def _git_dir(root: str) -> str | None:
    dotgit = os.path.join(root, ".git")
    if os.path.isdir(dotgit):
        return dotgit
    # Worktrees and submodules: .git is a file "gitdir: <path>".
    try:
        with open(dotgit, encoding="utf-8") as f:
            first = f.readline().strip()
    except OSError:
        return None
    if not first.startswith("gitdir:"):
        return None
    return os.path.join(root, first[len("gitdir:") :].strip())


def _config_path(root: str) -> str | None:
    gitdir = _git_dir(root)
    if gitdir is None:
        return None
    # A linked worktree keeps its config in the common dir, named in its `commondir` file.
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as f:
            common = os.path.join(gitdir, f.read().strip())
    except FileNotFoundError:
        common = gitdir
    except OSError:
        return None
    return os.path.join(common, "config")


def _remote(root: str, notes: list[str]) -> str | None:
    config = _config_path(root)
    remotes = _read_config_remotes(config) if config is not None else None
    if remotes is None:
        try:
            out = _git(root, "config", "-z", "--get-regexp", r"^remote\..*\.url$")
        except _GitFailed:
            return None  # exit status 1: no remote at all
        except _GitMissing:
            return None
        remotes = []
        for item in out.split(b"\0"):
            key, _, value = item.partition(b"\n")
            if key:
                name = key.decode("utf-8", "replace")[len("remote.") : -len(".url")]
                remotes.append((name, value.decode("utf-8", "replace")))
    if not remotes:
        return None
    urls = dict(reversed(remotes))  # the first url of a remote is its fetch url
    url: str = urls.get("origin", remotes[0][1])
    clean = strip_credentials(url)
    if clean != url:
        notes.append("credentials were removed from the remote URL")
    return clean


def _patch(root: str, initial: bool) -> bytes:
    if initial:
        # No commit yet: diff against the empty tree, asked of git so SHA-256 repositories work.
        base = _git(root, "hash-object", "-t", "tree", "--stdin", stdin=b"").strip().decode()
    else:
        base = "HEAD"
    return _git(root, "diff", *_DIFF_OPTIONS, base, "--")


def _is_store_path(raw: bytes) -> bool:
    return _STORE_DIR.encode() in raw.split(b"/")


def _untracked(
    root: str, paths: list[bytes], objects: ObjectStore | None, notes: list[str]
) -> tuple[UntrackedFile, ...]:
    paths = sorted(p for p in paths if not _is_store_path(p))
    if len(paths) > MAX_UNTRACKED_FILES:
        over = len(paths) - MAX_UNTRACKED_FILES
        notes.append(
            f"{over:,} untracked files over the {MAX_UNTRACKED_FILES:,}-file limit were skipped"
        )
        paths = paths[:MAX_UNTRACKED_FILES]
    total = 0
    total_noted = False
    out: list[UntrackedFile] = []
    for raw in paths:
        name = _text(raw, notes)
        full = os.path.join(root, os.fsdecode(raw))
        try:
            st = os.lstat(full)
        except OSError as exc:
            out.append(UntrackedFile(name, 0, skipped=f"unreadable: {exc.strerror}"))
            continue
        size = st.st_size
        if not stat.S_ISREG(st.st_mode):
            kind = "symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"
            out.append(UntrackedFile(name, size, skipped=kind))
            continue
        if size > MAX_UNTRACKED_FILE_SIZE:
            out.append(UntrackedFile(name, size, skipped="larger than 1 MiB"))
            continue
        if total + size > MAX_UNTRACKED_BYTES:
            out.append(UntrackedFile(name, size, skipped="over the 50 MiB total limit"))
            if not total_noted:
                notes.append("untracked files over the 50 MiB total limit were skipped")
                total_noted = True
            continue
        try:
            with open(full, "rb") as f:
                data = f.read(MAX_UNTRACKED_FILE_SIZE + 1)
        except OSError as exc:
            out.append(UntrackedFile(name, size, skipped=f"unreadable: {exc.strerror}"))
            continue
        size = len(data)
        if size > MAX_UNTRACKED_FILE_SIZE:  # it grew since we looked
            out.append(UntrackedFile(name, size, skipped="larger than 1 MiB"))
            continue
        if b"\0" in data[:_BINARY_SNIFF]:
            out.append(UntrackedFile(name, size, skipped="binary"))
            continue
        digest = objects.put_bytes(data) if objects is not None else hash_bytes(data)
        total += size
        out.append(UntrackedFile(name, size, digest=str(digest)))
    return tuple(out)


def capture_code(path: str | os.PathLike[str], objects: ObjectStore | None = None) -> CodeState:
    """Describe the git state of the code around ``path``; never raises for a repository's state.

    The uncommitted patch (staged and unstaged changes to tracked files, against HEAD) and the
    small untracked text files are stored in ``objects``; with ``objects=None`` their digests
    are computed but nothing is stored.
    """
    notes: list[str] = []
    start = os.path.realpath(os.fspath(path))
    if not os.path.isdir(start):
        if not os.path.exists(start):
            return CodeState(notes=(f"{start} does not exist",))
        start = os.path.dirname(start)
    root = _find_root(start)
    if root is None:
        return CodeState(notes=("not a git repository",))
    try:
        out = _git(root, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all")
    except _GitMissing:
        return CodeState(repo_root=root, notes=("git is not installed",))
    except _GitFailed as exc:
        return CodeState(repo_root=root, notes=(str(exc),))
    st = _parse_status(out)
    remote = _remote(root, notes)
    for sub in st.dirty_submodules:
        notes.append(
            f"submodule {_text(sub, notes)} has uncommitted changes of its own, not captured"
        )
    patch_digest: str | None = None
    # Staged and unstaged edits can cancel out, so the patch, not the status, decides; if the
    # diff fails, the status is all we have.
    tracked_dirty = st.tracked_changes
    if st.tracked_changes:
        try:
            patch = _patch(root, initial=st.commit is None)
            tracked_dirty = bool(patch)
        except _GitFailed as exc:
            notes.append(str(exc))
            patch = b""
        except _GitMissing:  # uninstalled between two calls; only a note either way
            notes.append("git is not installed")
            patch = b""
        if patch:
            digest = objects.put_bytes(patch) if objects is not None else hash_bytes(patch)
            patch_digest = str(digest)
    untracked = _untracked(root, st.untracked, objects, notes)
    return CodeState(
        repo_root=root,
        commit=st.commit,
        branch=st.branch,
        remote=remote,
        dirty=bool(tracked_dirty or untracked or st.dirty_submodules),
        patch_digest=patch_digest,
        untracked=untracked,
        notes=tuple(notes),
    )
