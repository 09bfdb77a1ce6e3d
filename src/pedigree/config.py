"""Finding the project and its store, and reading its configuration.

A project is a folder holding ``.pedigree/``: ``pedigree.db`` (SQLite, WAL), ``objects/``,
``config.toml``, and scratch space (``spool/``, ``cache/``). It is found by walking up from the
working directory, as git finds ``.git``.

Environment variables override the config file:

- ``PEDIGREE_URI``: the metadata store (``sqlite:///path`` or ``postgresql://…``);
- ``PEDIGREE_OBJECTS``: the object store (a folder or ``s3://bucket/prefix``);
- ``PEDIGREE_USER``: the identity recorded as the actor of every write (self-declared; ignored
  through a team server, where the token's user acts).

``PEDIGREE_URI=http(s)://host:port`` (with ``PEDIGREE_TOKEN``), or ``pedigree login``, names a team
server: the store and the objects are then the server's (:mod:`pedigree.credentials`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pedigree.errors import InvalidInput, StoreNotFound

__all__ = ["DIRNAME", "Project", "current_user", "find_project", "init_project"]

DIRNAME = ".pedigree"
CONFIG_TEMPLATE = """\
# Pedigree project configuration. Environment variables override these settings.

[store]
# Metadata store; the default is the SQLite file next to this one.
# uri = "postgresql://user@host/pedigree"
# Object store; the default is the objects/ folder next to this file.
# objects = "s3://bucket/prefix"

[capture]
# Extra environment variables to record (names or prefixes ending in *). Names containing
# KEY, TOKEN, SECRET or PASSWORD are never recorded.
env = []
# Glob patterns (relative to the project root) that file capture ignores.
ignore = []
# How `pedigree run` traces file access: "python" (fast), "os" (strace: sees native code and
# other programs) or "auto" (os where strace works). See docs/capture.md.
# trace = "python"
# Fail a run whose file capture is not complete (exit code 65).
# strict = false

[user]
# The identity recorded on runs and approvals. PEDIGREE_USER, when set, overrides it; without
# either, the OS user is recorded.
# name = "jane.doe"

[approvals]
# Approving a sweep's best trial whose Deflated Sharpe Ratio (`pedigree sweep assess`) is below
# this needs `pedigree approve RUN --override "reason"`; the audit log records the reason.
# min_dsr = 0.95
# Four eyes: refuse an approval by the run's author (or by whoever recorded what it read).
# Defaults to true on a local store, false on the team server (docs/server.md).
# allow_self = false
# Distinct approvals before a run counts as approved (shown by `pedigree show`).
# required = 1
"""


@dataclass(frozen=True)
class Project:
    root: Path
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return self.root / DIRNAME

    def _setting(self, env: str, section: str, key: str) -> str | None:
        value = os.environ.get(env) or self.config.get(section, {}).get(key)
        return str(value) if value else None

    @property
    def uri(self) -> str:
        """The metadata store: PEDIGREE_URI, else ``[store] uri``, else the team server of
        ``pedigree login``, else the project's SQLite file."""
        from pedigree.credentials import logged_in_url

        default = f"sqlite:///{self.dir / 'pedigree.db'}"
        return self._setting("PEDIGREE_URI", "store", "uri") or logged_in_url() or default

    @property
    def objects_location(self) -> str:
        from pedigree.credentials import is_remote

        uri = self.uri
        if is_remote(uri):
            return uri  # a team server keeps its objects: they go through it, checked
        return self._setting("PEDIGREE_OBJECTS", "store", "objects") or str(self.dir / "objects")

    @property
    def spool_dir(self) -> Path:
        return self.dir / "spool"

    @property
    def cache_dir(self) -> Path:
        return self.dir / "cache"

    @property
    def capture_env(self) -> list[str]:
        return [str(v) for v in self.config.get("capture", {}).get("env", [])]

    @property
    def capture_ignore(self) -> list[str]:
        return [str(v) for v in self.config.get("capture", {}).get("ignore", [])]

    @property
    def user(self) -> str:
        return current_user(self.config)

    @property
    def min_dsr(self) -> float | None:
        """``[approvals] min_dsr``: the DSR below which approving a sweep winner needs an
        override (None: no such policy)."""
        value = self.config.get("approvals", {}).get("min_dsr")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise InvalidInput(
                f"[approvals] min_dsr in {self.dir / 'config.toml'} is a probability "
                f"between 0 and 1, not {value!r}"
            )
        return float(value)


def current_user(config: dict[str, Any] | None = None) -> str:
    # A blank name (PEDIGREE_USER=" ") is no identity: the next source is used.
    for name in (os.environ.get("PEDIGREE_USER"), (config or {}).get("user", {}).get("name")):
        if name is not None and str(name).strip():
            return str(name).strip()
    import getpass  # here: it (and subprocess below) cost a read command a few ms to import

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return f"uid:{os.getuid()}"


def _read_config(root: Path) -> dict[str, Any]:
    path = root / DIRNAME / "config.toml"
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}") from exc


def find_project(start: str | os.PathLike[str] | None = None) -> Project:
    """The project that holds ``start`` (default: the working directory)."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DIRNAME).is_dir():
            return Project(folder, _read_config(folder))
    from pedigree.credentials import logged_in_url

    if os.environ.get("PEDIGREE_URI") or logged_in_url():
        # A remote metadata store (a database, a team server) needs no local project; scratch
        # space goes next to the code.
        root = _git_root(here) or here
        return Project(root, {})
    raise StoreNotFound(
        f"no Pedigree store found in {here} or any parent folder",
        hint="run `pedigree init` in your project to create one",
    )


def _git_root(path: Path) -> Path | None:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=path,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def init_project(path: str | os.PathLike[str] | None = None) -> tuple[Project, bool]:
    """Create ``.pedigree/`` at the git root above ``path`` (or in ``path`` outside git).

    Returns the project and whether it was newly created.
    """
    here = Path(path or os.getcwd()).resolve()
    if not here.is_dir():
        raise InvalidInput(f"{here} is not a folder")
    root = _git_root(here) or here
    created = not (root / DIRNAME).is_dir()
    (root / DIRNAME / "objects").mkdir(parents=True, exist_ok=True)
    config = root / DIRNAME / "config.toml"
    if not config.exists():
        config.write_text(CONFIG_TEMPLATE)
    gitignore = root / DIRNAME / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# Pedigree's store is data, not source.\n*\n")
    return Project(root, _read_config(root)), created
