"""The benchmark's environment: quiet, offline tools; their paths and versions; the machine.

Nothing here reaches the network: MLflow's telemetry and DVC's analytics and update check are
switched off through their documented switches, git never prompts, and every tool reads its
configuration from folders under the benchmark's own work folder.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "benchmarks" / ".work"  # caches between invocations (gitignored)
RESULTS = REPO / "benchmarks" / "results"
BIN = Path(sys.executable).parent

QUIET = {
    # MLflow: no telemetry, no git warnings, no prompts
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    # DVC: no analytics, no daemon, no update check (also set per repo in its config)
    "DVC_NO_ANALYTICS": "1",
    "DVC_IGNORE_ISATTY": "1",
    # git: a fixed identity, no system config, never ask
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "PEDIGREE_USER": "bench",
}
# Settings of the developer's own shell that would change what a tool does.
_DROP_PREFIXES = ("PEDIGREE_", "MLFLOW_", "DVC_")


def quiet_environment(home: Path) -> None:
    """Make this process and every child it starts quiet and offline (call once, at start)."""
    for key in list(os.environ):
        if key.startswith(_DROP_PREFIXES):
            del os.environ[key]
    # A user's Python writes bytecode caches; without them every import recompiles the source
    # (editable installs, such as Pedigree's here, have no caches made at install time).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    os.environ.update(QUIET)
    home.mkdir(parents=True, exist_ok=True)
    for sub in ("dvc-global", "dvc-system"):
        (home / sub).mkdir(exist_ok=True)
    os.environ["DVC_GLOBAL_CONFIG_DIR"] = str(home / "dvc-global")
    os.environ["DVC_SYSTEM_CONFIG_DIR"] = str(home / "dvc-system")
    (home / "dvc-global" / "config").write_text(
        "[core]\n    analytics = false\n    check_update = false\n"
    )
    os.environ["HOME"] = str(home)
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["XDG_CACHE_HOME"] = str(home / ".cache")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
    )


def settle() -> None:
    """Write every dirty page to disk before a sample (untimed).

    Without it, the bytes one side left in the page cache (DVC does not sync its cache; a
    removed store frees a gigabyte) would be flushed during the next side's sample, and a side
    that syncs its own writes (Pedigree's object store) would pay for the other's.
    """
    os.sync()


def tool(name: str) -> str | None:
    """A console script of the interpreter running the benchmark (its venv), else None."""
    path = BIN / name
    if path.exists():
        return str(path)
    return shutil.which(name) if name == "git" else None


def version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    return {
        "pedigree": version("pedigree"),
        "mlflow": version("mlflow"),
        "dvc": version("dvc"),
        "dvc-data": version("dvc-data"),
        "sqlalchemy": version("sqlalchemy"),
        "blake3": version("blake3"),
        "python": platform.python_version(),
        "sqlite": _sqlite_version(),
        "git_commit": _git_commit(),
    }


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    mem_gib = 0.0
    cpu = platform.processor() or ""
    try:
        with open("/proc/meminfo") as f:
            mem_gib = int(f.readline().split()[1]) / 1024 / 1024
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def fresh_git_repo(path: Path, files: dict[str, str]) -> Path:
    """A small committed git repository (what both trackers capture as "the code")."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    git("init", "-q", cwd=path)
    for name, text in files.items():
        (path / name).write_text(text)
    git("add", ".", cwd=path)
    git("commit", "-qm", "benchmark", cwd=path)
    return path
