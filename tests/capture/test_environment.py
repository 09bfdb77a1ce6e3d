"""capture_environment: this interpreter, another venv read by its sys.path, the package cache."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import blake3
import pytest

from pedigree.capture import environment as env_module
from pedigree.capture.environment import (
    Environment,
    capture_environment,
    detect_container,
    normalize_name,
    package_diff,
)

SETTLED = 1_000_000_000  # a past time stamp: the cache trusts only folders that settled


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    # Each test starts with an empty in-process cache; the disk cache is per tmp_path anyway.
    env_module._memo.clear()


def add_dist(site: Path, name: str, version: str, *, folder: str | None = None) -> Path:
    info = site / (folder or f"{name.replace('-', '_')}-{version}.dist-info")
    info.mkdir(parents=True)
    # A long description after the headers, with a line that looks like a header: only the
    # header block may be read.
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n\n"
        "Name: not-this\nVersion: 0\n"
    )
    return info


def settle(path: Path) -> None:
    os.utime(path, ns=(SETTLED, SETTLED))


@pytest.fixture
def venv(tmp_path: Path) -> tuple[Path, Path]:
    """A real second virtualenv (no pip) and its site-packages folder."""
    root = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    (site,) = root.glob("lib/python*/site-packages")
    return root, site


def test_current_interpreter() -> None:
    env = capture_environment()
    assert env.python == platform.python_version()
    assert env.implementation == platform.python_implementation()
    assert env.executable == sys.executable
    assert env.os == platform.system()
    assert env.os_release == platform.release()
    assert env.kernel == platform.version()
    assert env.machine == platform.machine()
    assert env.hostname == platform.node()
    assert env.cpu_count == os.cpu_count()
    assert env.cpu
    assert env.user
    names = dict(env.packages)
    assert names["pytest"] == pytest.__version__
    assert "blake3" in names
    assert list(env.packages) == sorted(env.packages)
    assert all(n == normalize_name(n) for n, _ in env.packages)
    canonical = json.dumps([list(p) for p in env.packages], separators=(",", ":"))
    assert env.packages_digest == "blake3:" + blake3.blake3(canonical.encode()).hexdigest()


def test_platform_string_matches_the_platform_module() -> None:
    expected = platform.platform()
    processor = platform.processor()
    if processor and processor not in ("unknown", platform.machine()):
        # We spare the `uname -p` process platform.platform() spends on this one field.
        expected = expected.replace(f"-{processor}", "")
    assert capture_environment().platform == expected


def test_another_venv_is_read_through_its_sys_path(venv: tuple[Path, Path]) -> None:
    root, site = venv
    add_dist(site, "My_Fancy.Package", "1.2.3")
    (site / "legacy_lib-0.9.egg-info").write_text(
        "Metadata-Version: 1.1\nName: Legacy.Lib\nVersion: 0.9\n"
    )
    exe = str(root / "bin" / "python")

    env = capture_environment(
        executable=exe, python_version="3.11.7", implementation="CPython", sys_path=[str(site)]
    )

    assert env.executable == exe
    assert (env.python, env.implementation) == ("3.11.7", "CPython")
    assert env.packages == (("legacy-lib", "0.9"), ("my-fancy-package", "1.2.3"))
    assert env.to_json()["packages"] == [["legacy-lib", "0.9"], ["my-fancy-package", "1.2.3"]]


def test_first_occurrence_on_sys_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    add_dist(first, "numpy", "2.0.0")
    add_dist(second, "numpy", "1.26.4")
    add_dist(second, "six", "1.16.0")
    missing = str(tmp_path / "not-there")
    env = capture_environment(sys_path=[missing, str(first), str(second)])
    assert env.packages == (("numpy", "2.0.0"), ("six", "1.16.0"))
    env = capture_environment(sys_path=[str(second), str(first)])
    assert env.packages == (("numpy", "1.26.4"), ("six", "1.16.0"))


def test_the_cache_answers_until_a_distribution_is_added(
    venv: tuple[Path, Path], tmp_path: Path
) -> None:
    _, site = venv
    info = add_dist(site, "alpha", "1.0")
    settle(site)
    cache = tmp_path / "cache"
    path = [str(site)]
    assert capture_environment(sys_path=path, cache_dir=cache).packages == (("alpha", "1.0"),)
    assert len(list(cache.glob("packages-*.json"))) == 1

    # An in-place edit does not change the folder's mtime, so a cached answer is visible: the
    # in-process cache, then (with it emptied) the file cache, both still say 1.0.
    (info / "METADATA").write_text("Name: alpha\nVersion: 9.9\n")
    settle(site)
    assert capture_environment(sys_path=path, cache_dir=cache).packages == (("alpha", "1.0"),)
    env_module._memo.clear()
    assert capture_environment(sys_path=path, cache_dir=cache).packages == (("alpha", "1.0"),)

    # Installing a distribution changes the folder's mtime: the whole folder is read again.
    add_dist(site, "beta", "2.0")
    env = capture_environment(sys_path=path, cache_dir=cache)
    assert env.packages == (("alpha", "9.9"), ("beta", "2.0"))


def test_a_folder_that_just_changed_is_not_trusted(tmp_path: Path) -> None:
    site = tmp_path / "site"
    info = add_dist(site, "alpha", "1.0")
    cache = tmp_path / "cache"
    assert capture_environment(sys_path=[str(site)], cache_dir=cache).packages == (
        ("alpha", "1.0"),
    )
    # Same mtime tick as the scan could have been: a second edit must still be seen.
    (info / "METADATA").write_text("Name: alpha\nVersion: 1.1\n")
    os.utime(site, ns=(site.stat().st_atime_ns, site.stat().st_mtime_ns))
    assert capture_environment(sys_path=[str(site)], cache_dir=cache).packages == (
        ("alpha", "1.1"),
    )


def test_an_in_place_egg_info_rewrite_is_seen(tmp_path: Path) -> None:
    src = tmp_path / "src"
    egg = src / "mypkg.egg-info"
    egg.mkdir(parents=True)
    (egg / "PKG-INFO").write_text("Name: mypkg\nVersion: 0.1\n")
    os.utime(egg / "PKG-INFO", ns=(SETTLED, SETTLED))
    settle(egg)
    settle(src)
    assert capture_environment(sys_path=[str(src)]).packages == (("mypkg", "0.1"),)
    (egg / "PKG-INFO").write_text("Name: mypkg\nVersion: 0.2\n")  # `pip install -e` again
    settle(src)
    assert capture_environment(sys_path=[str(src)]).packages == (("mypkg", "0.2"),)


def test_a_corrupt_cache_file_is_ignored(tmp_path: Path) -> None:
    site = tmp_path / "site"
    add_dist(site, "alpha", "1.0")
    settle(site)
    cache = tmp_path / "cache"
    capture_environment(sys_path=[str(site)], cache_dir=cache)
    (cache_file,) = cache.glob("packages-*.json")
    for garbage in (
        b"{not json",
        b'{"format":1,"entries":{"%s":{"mtime":"x"}}}' % str(site).encode(),
    ):
        cache_file.write_bytes(garbage)
        env_module._memo.clear()
        assert capture_environment(sys_path=[str(site)], cache_dir=cache).packages == (
            ("alpha", "1.0"),
        )


def test_a_cache_hit_is_fast(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for i in range(200):
        add_dist(site, f"pkg{i}", "1.0")
    settle(site)
    cache = tmp_path / "cache"
    capture_environment(sys_path=[str(site)], cache_dir=cache)
    env_module._memo.clear()
    start = time.perf_counter()
    env = capture_environment(sys_path=[str(site)], cache_dir=cache)
    elapsed = time.perf_counter() - start
    assert len(env.packages) == 200
    # Generous bound for a loaded CI machine; measured at ~0.5 ms here.
    assert elapsed < 0.05


def test_digest_ignores_the_host_but_not_the_software(tmp_path: Path) -> None:
    site = tmp_path / "site"
    info = add_dist(site, "numpy", "1.26.4")
    env = capture_environment(sys_path=[str(site)])
    elsewhere = dataclasses.replace(
        env,
        hostname="gpu-node-17",
        user="someone-else",
        cpu="Other CPU",
        cpu_count=128,
        kernel="#2 SMP",
        os_release="5.10.0",
        executable="/opt/other/bin/python",
        platform="Linux-5.10.0-x86_64-with-glibc2.31",
        container={"runtime": "docker", "id": None, "image": None},
    )
    assert elsewhere.digest == env.digest

    (info / "METADATA").write_text("Name: numpy\nVersion: 2.0.0\n")
    os.rename(info, site / "numpy-2.0.0.dist-info")
    upgraded = capture_environment(sys_path=[str(site)])
    assert upgraded.packages == (("numpy", "2.0.0"),)
    assert upgraded.digest != env.digest
    assert upgraded.packages_digest != env.packages_digest
    assert dataclasses.replace(env, python="3.12.1").digest != env.digest


def test_json_round_trip() -> None:
    env = capture_environment()
    data = env.to_json()
    assert data["digest"] == env.digest
    assert json.loads(json.dumps(data)) == data
    assert Environment.from_json(data) == env


def test_package_diff() -> None:
    a = [["numpy", "1.26.4"], ["pandas", "2.2.0"], ["six", "1.16.0"]]
    b = [["numpy", "2.0.0"], ["pandas", "2.2.0"], ["Rich_Text", "13.7.0"]]
    assert package_diff(a, b) == {
        "added": [["rich-text", "13.7.0"]],
        "removed": [["six", "1.16.0"]],
        "changed": [["numpy", "1.26.4", "2.0.0"]],
    }
    assert package_diff(a, a) == {"added": [], "removed": [], "changed": []}


def test_normalize_name() -> None:
    assert normalize_name("Foo.Bar__baz--Qux") == "foo-bar-baz-qux"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


CID = "3f" * 32


def test_no_container(tmp_path: Path) -> None:
    write(tmp_path / "proc/self/cgroup", "0::/user.slice/user-1000.slice/session-2.scope\n")
    assert detect_container(root=tmp_path, environ={}) is None


def test_docker_from_cgroup_v1(tmp_path: Path) -> None:
    (tmp_path / ".dockerenv").touch()
    write(tmp_path / "proc/self/cgroup", f"12:memory:/docker/{CID}\n0::/\n")
    env = {"PEDIGREE_CONTAINER_IMAGE": "ghcr.io/org/research@sha256:" + "ab" * 32}
    assert detect_container(root=tmp_path, environ=env) == {
        "runtime": "docker",
        "id": CID,
        "image": env["PEDIGREE_CONTAINER_IMAGE"],
    }


def test_docker_id_from_mountinfo_under_cgroup_v2(tmp_path: Path) -> None:
    (tmp_path / ".dockerenv").touch()
    write(tmp_path / "proc/self/cgroup", "0::/\n")
    write(
        tmp_path / "proc/self/mountinfo",
        f"612 590 254:1 /var/lib/docker/containers/{CID}/resolv.conf /etc/resolv.conf rw\n",
    )
    assert detect_container(root=tmp_path, environ={}) == {
        "runtime": "docker",
        "id": CID,
        "image": None,
    }


def test_podman_containerenv(tmp_path: Path) -> None:
    write(
        tmp_path / "run/.containerenv",
        f'engine="podman-4.9.3"\nname="exp"\nid="{CID}"\nimage="quay.io/org/img:1"\n',
    )
    assert detect_container(root=tmp_path, environ={"container": "podman"}) == {
        "runtime": "podman",
        "id": CID,
        "image": "quay.io/org/img:1",
    }


def test_kubernetes(tmp_path: Path) -> None:
    write(tmp_path / "proc/self/cgroup", f"0::/kubepods/besteffort/pod1234/cri-containerd-{CID}\n")
    found = detect_container(root=tmp_path, environ={"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert found == {"runtime": "kubernetes", "id": CID, "image": None}


def test_a_cache_hit_in_a_new_process_does_not_import_importlib_metadata(tmp_path: Path) -> None:
    # importlib.metadata costs ~25 ms to import; a run whose packages did not change skips it.
    site = tmp_path / "site"
    add_dist(site, "alpha", "1.0")
    settle(site)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pedigree.capture import capture_environment\n"
        f"env = capture_environment(sys_path=[{str(site)!r}], cache_dir=Path({str(tmp_path)!r}))\n"
        "print(env.packages, 'importlib.metadata' in sys.modules)\n"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert outputs == ["(('alpha', '1.0'),) True", "(('alpha', '1.0'),) False"]
