"""The software environment of a run: interpreter, OS, CPU, installed packages, container.

It can describe the running interpreter or another one whose facts were reported to us (its
executable, version, implementation and ``sys.path``): installed distributions are found by
reading metadata along that ``sys.path``, never by starting the interpreter or running pip.

Reading the metadata of a few hundred distributions (and importing ``importlib.metadata``) costs
tens of milliseconds, so the package list is cached per ``sys.path`` directory, keyed on the
directory's mtime: installing or removing a distribution adds or removes a ``*.dist-info``
folder, which changes it.

>>> import sys
>>> env = capture_environment()
>>> env.python == "%d.%d.%d" % sys.version_info[:3], env.digest.startswith("blake3:")
(True, True)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pedigree.digest import hash_bytes
from pedigree.jsonutil import canonical_json

__all__ = ["Environment", "capture_environment", "detect_container", "package_diff"]

Package = tuple[str, str]

_CACHE_FORMAT = 1
# A directory changed this recently may change again within the same mtime tick (ext4 stamps
# are jiffy-coarse), so its scan is not trusted for later calls: git's "racy" rule.
_RACY_NS = 2_000_000_000
_CACHE_FILES_KEPT = 64
_METADATA_SUFFIXES = (".dist-info", ".egg-info")
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython"}


def _canonical(value: Any) -> bytes:
    return canonical_json(value).encode()


def normalize_name(name: str) -> str:
    """A distribution name per PEP 503: lowercase, runs of ``-_.`` become ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True, slots=True)
class Environment:
    """Facts about an interpreter and the host it runs on; ``digest`` names the software."""

    python: str
    implementation: str
    executable: str
    os: str
    os_release: str
    kernel: str
    machine: str
    platform: str
    cpu: str
    cpu_count: int | None
    hostname: str
    user: str
    packages: tuple[Package, ...]
    packages_digest: str
    container: dict[str, str | None] | None = None

    @property
    def digest(self) -> str:
        """``blake3:<hex>`` of the fields that define the software, and nothing else.

        Host name, user, CPU model, kernel build and the executable's path are left out on
        purpose: the same code on the same software stack must compare equal across a laptop,
        a CI runner and a cluster node, so "was the environment the same?" has a yes answer.
        """
        return str(
            hash_bytes(
                _canonical(
                    {
                        "python": self.python,
                        "implementation": self.implementation,
                        "os": self.os,
                        "machine": self.machine,
                        "packages": [list(p) for p in self.packages],
                    }
                )
            )
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, with ``digest`` included for readers that cannot compute it."""
        return {
            "python": self.python,
            "implementation": self.implementation,
            "executable": self.executable,
            "os": self.os,
            "os_release": self.os_release,
            "kernel": self.kernel,
            "machine": self.machine,
            "platform": self.platform,
            "cpu": self.cpu,
            "cpu_count": self.cpu_count,
            "hostname": self.hostname,
            "user": self.user,
            "packages": [list(p) for p in self.packages],
            "packages_digest": self.packages_digest,
            "container": dict(self.container) if self.container is not None else None,
            "digest": self.digest,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Environment:
        """Read what ``to_json`` wrote (``digest`` is recomputed, not trusted)."""
        packages = tuple((str(n), str(v)) for n, v in d.get("packages") or ())
        container = d.get("container")
        return cls(
            python=str(d["python"]),
            implementation=str(d["implementation"]),
            executable=str(d.get("executable", "")),
            os=str(d.get("os", "")),
            os_release=str(d.get("os_release", "")),
            kernel=str(d.get("kernel", "")),
            machine=str(d.get("machine", "")),
            platform=str(d.get("platform", "")),
            cpu=str(d.get("cpu", "")),
            cpu_count=d.get("cpu_count"),
            hostname=str(d.get("hostname", "")),
            user=str(d.get("user", "")),
            packages=packages,
            packages_digest=str(d.get("packages_digest") or _packages_digest(packages)),
            container=dict(container) if container is not None else None,
        )


def _packages_digest(packages: Sequence[Package]) -> str:
    return str(hash_bytes(_canonical([list(p) for p in packages])))


# ---------------------------------------------------------------------------------------------
# Host facts: constant for the life of a process, so computed once.


@cache
def _host() -> dict[str, Any]:
    if hasattr(os, "uname"):
        u = os.uname()
        system, node, release, version, machine = (
            u.sysname,
            u.nodename,
            u.release,
            u.version,
            u.machine,
        )
    else:  # Windows
        import platform

        system, node, release, version, machine = (
            platform.system(),
            platform.node(),
            platform.release(),
            platform.version(),
            platform.machine(),
        )
    return {
        "os": system,
        "os_release": release,
        "kernel": version,
        "machine": machine,
        "platform": _platform_string(system, release, machine),
        "cpu": _cpu_model() or machine,
        "cpu_count": os.cpu_count(),
        "hostname": node,
        "user": _user(),
    }


def _platform_string(system: str, release: str, machine: str) -> str:
    libc = ""
    if system == "Linux":
        try:
            libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        except (ValueError, OSError):
            libc = ""
    if system != "Linux" or not libc:
        import platform

        return platform.platform()
    # platform.platform() would give the same string but spends a `uname -p` process and
    # several milliseconds on it; on Linux it is "<system>-<release>-<machine>-with-<libc>".
    text = "-".join(p for p in (system, release, machine, "with", libc.replace(" ", "")) if p)
    for c in ' /\\:;"()':
        text = text.replace(c, "_" if c == " " else "-")
    while "--" in text:
        text = text.replace("--", "-")
    return text.strip("-")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            fallback = ""
            for line in f:
                key, sep, value = line.partition(":")
                key = key.strip()
                if not sep:
                    if fallback:
                        break  # end of the first processor's block
                    continue
                if key == "model name":
                    return value.strip()
                if key in ("Hardware", "cpu model", "cpu", "Processor") and not fallback:
                    fallback = value.strip()
            if fallback:
                return fallback
    except OSError:
        pass
    import platform

    return platform.processor()


def _user() -> str:
    # getpass.getuser()'s lookup, without the half millisecond its import costs.
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if value := os.environ.get(name):
            return value
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):  # no passwd entry in some containers
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


# ---------------------------------------------------------------------------------------------
# Containers


_CGROUP_ID = re.compile(
    r"(docker|libpod|crio|cri-containerd|containerd|kubepods)[^\n]*?([0-9a-f]{64})"
)
_MOUNT_ID = re.compile(
    r"/(docker/containers|containers/storage/overlay-containers)/([0-9a-f]{64})/"
)
_RUNTIMES = {
    "docker": "docker",
    "libpod": "podman",
    "containers/storage/overlay-containers": "podman",
    "docker/containers": "docker",
    "crio": "cri-o",
    "cri-containerd": "containerd",
    "containerd": "containerd",
    "kubepods": "kubernetes",
}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _container_files(root: Path) -> tuple[str | None, str | None, str | None]:
    runtime: str | None = None
    cid: str | None = None
    image: str | None = None
    if (root / ".dockerenv").exists():
        runtime = "docker"
    containerenv = root / "run" / ".containerenv"
    if containerenv.exists():
        runtime = "podman"
        for line in _read(containerenv).splitlines():
            key, sep, value = line.partition("=")
            key, value = key.strip(), value.strip().strip('"')
            if sep and value and key in ("id", "image"):
                cid, image = (value, image) if key == "id" else (cid, value)
    for name, pattern in (("cgroup", _CGROUP_ID), ("mountinfo", _MOUNT_ID)):
        if cid is not None:
            break
        m = pattern.search(_read(root / "proc" / "self" / name))
        if m is not None:
            runtime = runtime or _RUNTIMES[m.group(1)]
            cid = m.group(2)
    return runtime, cid, image


@cache
def _own_container_files() -> tuple[str | None, str | None, str | None]:
    # What the files say cannot change during a process; the environment can, so it is re-read.
    return _container_files(Path("/"))


def detect_container(
    *, root: Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str | None] | None:
    """``{"runtime", "id", "image"}`` when running inside a container, else None.

    Looks at ``/.dockerenv``, ``/run/.containerenv`` (podman), container ids in
    ``/proc/self/cgroup`` and ``/proc/self/mountinfo``, and Kubernetes' service variables.
    Runtimes do not tell a container its image, so ``image`` comes from
    ``PEDIGREE_CONTAINER_IMAGE`` (set it in the image, ideally to ``name@sha256:…``), then
    ``CONTAINER_IMAGE``, then podman's ``.containerenv``. ``root`` (default ``/``) is for tests.
    """
    env = os.environ if environ is None else environ
    runtime, cid, image = _own_container_files() if root is None else _container_files(root)
    if runtime is None and env.get("container"):  # systemd's convention, set by podman and lxc
        runtime = env["container"]
    if env.get("KUBERNETES_SERVICE_HOST"):
        runtime = "kubernetes"  # the orchestrator says more than the runtime under it
    if runtime is None:
        return None
    image = env.get("PEDIGREE_CONTAINER_IMAGE") or env.get("CONTAINER_IMAGE") or image
    return {"runtime": runtime, "id": cid, "image": image}


# ---------------------------------------------------------------------------------------------
# Installed packages


# One entry per sys.path location: its mtime, the PKG-INFO stamps of any *.egg-info in it (an
# in-place rewrite of those does not touch the directory), and what it holds.
_Entry = dict[str, Any]
_memo: dict[str, _Entry] = {}


def _stat_ns(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _entry_fresh(entry: _Entry | None, mtime: int) -> bool:
    if entry is None or entry.get("mtime") != mtime:
        return False
    return all(_stat_ns(p) == m for p, m in entry.get("stamps", ()))


def _scan(location: str, mtime: int) -> tuple[_Entry, bool]:
    """Packages in one sys.path location, and whether the result may be cached."""
    if mtime == -1:
        return {"mtime": -1, "stamps": [], "packages": []}, True
    stamps: list[list[Any]] = []
    if os.path.isdir(location) and not location.lower().endswith(".egg"):
        try:
            names = os.listdir(location)
        except OSError:
            names = []
        infos = [n for n in names if n.lower().endswith(_METADATA_SUFFIXES)]
        for n in infos:
            if n.lower().endswith(".egg-info"):
                pkg_info = os.path.join(location, n)
                if os.path.isdir(pkg_info):
                    pkg_info = os.path.join(pkg_info, "PKG-INFO")
                stamps.append([pkg_info, _stat_ns(pkg_info)])
        packages = _read_distributions(location) if infos else []
    else:
        packages = _read_distributions(location)  # a zip file or an .egg
    now = time.time_ns()
    settled = now - mtime > _RACY_NS and all(now - m > _RACY_NS for _, m in stamps)
    return {"mtime": mtime, "stamps": stamps, "packages": packages}, settled


def _read_distributions(location: str) -> list[list[str]]:
    # Imported here: importing importlib.metadata alone costs ~25 ms, paid only on a cache miss.
    from importlib.metadata import distributions

    found: list[list[str]] = []
    for dist in distributions(path=[location]):
        # The same lookup as Distribution.metadata; "" is an .egg-info that is a file itself.
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("") or ""
        name, version = _name_version(text)
        if name and version:
            found.append([normalize_name(name), version])
    return found


def _name_version(metadata: str) -> tuple[str | None, str | None]:
    # Only the two headers we need: parsing the whole file as email (dist.metadata) reads the
    # long description too and costs nearly three times more.
    name = version = None
    for line in metadata.splitlines():
        if not line:
            break  # the headers end at the first blank line
        key, sep, value = line.partition(":")
        if not sep:
            continue
        if key == "Name" and name is None:
            name = value.strip()
        elif key == "Version" and version is None:
            version = value.strip()
        if name is not None and version is not None:
            break
    return name, version


def _cache_file(cache_dir: Path, locations: list[str]) -> Path:
    key = hash_bytes(_canonical([_CACHE_FORMAT, locations])).hex[:32]
    return cache_dir / f"packages-{key}.json"


def _load_cache(path: Path) -> dict[str, _Entry]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _CACHE_FORMAT:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _save_cache(path: Path, entries: dict[str, _Entry]) -> None:
    # The cache is an optimisation: any failure to write it is silently ignored.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        tmp.write_bytes(_canonical({"format": _CACHE_FORMAT, "entries": entries}))
        is_new = not path.exists()
        os.replace(tmp, path)
        if is_new:
            _prune_cache(path.parent)
    except OSError:
        pass


def _prune_cache(cache_dir: Path) -> None:
    files = sorted(cache_dir.glob("packages-*.json"), key=lambda p: _stat_ns(str(p)))
    for old in files[:-_CACHE_FILES_KEPT]:
        with contextlib.suppress(OSError):
            old.unlink()


def _valid(entry: Any) -> bool:
    # Entries come from a file another process wrote; a malformed one is rescanned, not trusted.
    try:
        return (
            isinstance(entry["mtime"], int)
            and all(isinstance(p, str) and isinstance(m, int) for p, m in entry["stamps"])
            and all(isinstance(n, str) and isinstance(v, str) for n, v in entry["packages"])
        )
    except (KeyError, TypeError, ValueError):
        return False


def _packages(sys_path: Sequence[str], cache_dir: Path | None) -> tuple[Package, ...]:
    locations = list(dict.fromkeys(os.path.abspath(p or os.curdir) for p in sys_path))
    cache_path = _cache_file(cache_dir, locations) if cache_dir is not None else None
    disk: dict[str, _Entry] | None = None
    entries: dict[str, _Entry] = {}
    racy: set[str] = set()
    scanned = False
    for loc in locations:
        mtime = _stat_ns(loc)
        entry = _memo.get(loc)
        if not _entry_fresh(entry, mtime) and cache_path is not None:
            if disk is None:
                disk = _load_cache(cache_path)
            entry = disk.get(loc)
            if entry is not None and not _valid(entry):
                entry = None
        if entry is None or not _entry_fresh(entry, mtime):
            entry, settled = _scan(loc, mtime)
            if settled:
                scanned = True
            else:
                racy.add(loc)
        if loc in racy:
            _memo.pop(loc, None)
        else:
            _memo[loc] = entry
        entries[loc] = entry
    if scanned and cache_path is not None:
        _save_cache(cache_path, {k: v for k, v in entries.items() if k not in racy})
    # First occurrence along sys.path wins, as importlib.metadata.version() does.
    merged: dict[str, str] = {}
    for loc in locations:
        for name, version in entries[loc]["packages"]:
            merged.setdefault(name, version)
    return tuple(sorted(merged.items()))


def capture_environment(
    *,
    executable: str | None = None,
    python_version: str | None = None,
    implementation: str | None = None,
    sys_path: list[str] | None = None,
    cache_dir: Path | None = None,
) -> Environment:
    """Describe this interpreter, or another one from the facts it reported.

    Any argument left as None is taken from the running interpreter. ``cache_dir`` (for
    example ``.pedigree/cache``) keeps the package list across processes.
    """
    host = _host()
    packages = _packages(sys.path if sys_path is None else sys_path, cache_dir)
    if implementation is None:
        name = sys.implementation.name
        implementation = _IMPLEMENTATIONS.get(name, name)
    return Environment(
        python=python_version or sys.version.split()[0],
        implementation=implementation,
        executable=executable or sys.executable,
        os=host["os"],
        os_release=host["os_release"],
        kernel=host["kernel"],
        machine=host["machine"],
        platform=host["platform"],
        cpu=host["cpu"],
        cpu_count=host["cpu_count"],
        hostname=host["hostname"],
        user=host["user"],
        packages=packages,
        packages_digest=_packages_digest(packages),
        container=detect_container(),
    )


def package_diff(a: Iterable[Sequence[str]], b: Iterable[Sequence[str]]) -> dict[str, list[Any]]:
    """What changed from package list ``a`` to ``b``.

    Returns ``{"added": [[name, version]], "removed": [[name, version]],
    "changed": [[name, version_in_a, version_in_b]]}``, each sorted by name.

    >>> d = package_diff([["numpy", "1.26.4"], ["six", "1.16"]], [["numpy", "2.0"], ["rich", "13"]])
    >>> d["added"], d["removed"], d["changed"]
    ([['rich', '13']], [['six', '1.16']], [['numpy', '1.26.4', '2.0']])
    """
    old = {normalize_name(n): v for n, v in a}
    new = {normalize_name(n): v for n, v in b}
    return {
        "added": [[n, new[n]] for n in sorted(new.keys() - old.keys())],
        "removed": [[n, old[n]] for n in sorted(old.keys() - new.keys())],
        "changed": [
            [n, old[n], new[n]] for n in sorted(old.keys() & new.keys()) if old[n] != new[n]
        ],
    }
