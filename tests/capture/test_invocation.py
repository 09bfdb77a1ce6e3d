"""Which environment variables a run records, and what it never records."""

from __future__ import annotations

import pytest

from pedigree.capture.invocation import (
    DEFAULT_ENV_ALLOW,
    DENY_MARKERS,
    capture_invocation,
    is_denied,
    select_env,
    strip_credentials,
)

ENVIRON = {
    "HOME": "/home/jane",
    "PATH": "/usr/bin:/bin",
    "USER": "jane",
    "SSH_AUTH_SOCK": "/tmp/ssh-agent",
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "4",
    "OMP_PROC_BIND": "close",
    "CUDA_VISIBLE_DEVICES": "0,1",
    "TF_DETERMINISTIC_OPS": "1",
    "TZ": "UTC",
    "LC_ALL": "C.UTF-8",
    "LC_COLLATE": "C",
    "VIRTUAL_ENV": "/work/.venv",
}


def test_the_default_allow_list() -> None:
    assert select_env(ENVIRON) == {
        "CUDA_VISIBLE_DEVICES": "0,1",
        "LC_ALL": "C.UTF-8",
        "LC_COLLATE": "C",
        "OMP_NUM_THREADS": "4",
        "OMP_PROC_BIND": "close",
        "PYTHONHASHSEED": "0",
        "TF_DETERMINISTIC_OPS": "1",
        "TZ": "UTC",
        "VIRTUAL_ENV": "/work/.venv",
    }


def test_the_result_is_sorted_by_name() -> None:
    got = select_env({"TZ": "UTC", "LANG": "C", "OMP_NUM_THREADS": "1"})
    assert list(got) == ["LANG", "OMP_NUM_THREADS", "TZ"]


def test_extra_names_and_prefixes() -> None:
    environ = {**ENVIRON, "MYAPP_MODE": "fast", "MYAPP_LEVEL": "3", "DATA_ROOT": "/data", "X": "1"}
    got = select_env(environ, ["MYAPP_*", "DATA_ROOT"])
    assert got["MYAPP_MODE"] == "fast"
    assert got["MYAPP_LEVEL"] == "3"
    assert got["DATA_ROOT"] == "/data"
    assert "X" not in got


@pytest.mark.parametrize(
    "name",
    [
        "TF_API_TOKEN",
        "OMP_SECRET",
        "MYAPP_KEY",
        "MYAPP_api_key",
        "DB_PASSWORD",
        "github_token",
        "AWS_SECRET_ACCESS_KEY",
    ],
)
def test_deny_markers_beat_the_allow_list(name: str) -> None:
    environ = {name: "s3cret", "OMP_NUM_THREADS": "1"}
    # Allowed by a prefix, by its exact name, and by "*": never recorded all the same.
    assert select_env(environ, ["MYAPP_*", "DB_*", name, "*"]) == {"OMP_NUM_THREADS": "1"}
    assert is_denied(name)


def test_star_allows_everything_that_is_not_denied() -> None:
    got = select_env({"HOME": "/h", "API_KEY": "x", "PEDIGREE_RUN_ID": "r"}, ["*"])
    assert got == {"HOME": "/h"}


def test_pedigree_plumbing_is_dropped_but_the_seed_kept() -> None:
    environ = {
        "PEDIGREE_RUN_ID": "0190a1b2-...",
        "PEDIGREE_SPOOL": "/p/.pedigree/spool/x",
        "PEDIGREE_PARAMS": '{"lr": 0.1}',
        "PEDIGREE_URI": "postgresql://db/pedigree",
        "PEDIGREE_OBJECTS": "s3://bucket/objects",
        "PEDIGREE_USER": "jane",
        "PEDIGREE_SEED": "42",
    }
    assert select_env(environ) == {"PEDIGREE_SEED": "42"}
    assert select_env(environ, ["PEDIGREE_*", "PEDIGREE_RUN_ID"]) == {"PEDIGREE_SEED": "42"}


def test_credentials_in_values_are_removed() -> None:
    environ = {"DATABASE_URL": "postgresql://etl:hunter2@db.internal:5432/prices"}
    assert select_env(environ, ["DATABASE_URL"]) == {
        "DATABASE_URL": "postgresql://etl@db.internal:5432/prices"
    }


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://user:tok@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://ghp_abc123@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("git+https://u:p@host/x", "git+https://host/x"),
        ("HTTP://u:p@host/x", "HTTP://host/x"),
        ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("ssh://git:pw@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("redis://:pw@cache:6379/0", "redis://cache:6379/0"),
        ("https://u:p@ss@host/x?to=a@b", "https://host/x?to=a@b"),
        ("a=https://u:p@h1/x,b=https://v:q@h2/y", "a=https://h1/x,b=https://h2/y"),
        ("/plain/path", "/plain/path"),
    ],
)
def test_strip_credentials(url: str, clean: str) -> None:
    assert strip_credentials(url) == clean


def test_capture_invocation() -> None:
    argv = ["python", "backtest.py", "--data", "https://u:tok@data.example.com/prices.csv"]
    got = capture_invocation(argv, "/work/project", ENVIRON, ["HOME"])
    assert got == {
        "argv": ["python", "backtest.py", "--data", "https://data.example.com/prices.csv"],
        "cwd": "/work/project",
        "env": {**select_env(ENVIRON), "HOME": "/home/jane"},
    }


def test_the_constants() -> None:
    assert DENY_MARKERS == ("KEY", "TOKEN", "SECRET", "PASSWORD")
    for required in (
        "PYTHONHASHSEED",
        "PEDIGREE_SEED",
        "CUDA_VISIBLE_DEVICES",
        "SOURCE_DATE_EPOCH",
    ):
        assert required in DEFAULT_ENV_ALLOW or any(
            p.endswith("*") and required.startswith(p[:-1]) for p in DEFAULT_ENV_ALLOW
        )
    assert not any(is_denied(p.rstrip("*")) and p != "PEDIGREE_SEED" for p in DEFAULT_ENV_ALLOW)


def test_capture_modules_import_only_the_standard_library_and_digests() -> None:
    # They run on the hot path of every run, in any interpreter: no SQLAlchemy, rich or click.
    import ast
    import sys
    from pathlib import Path

    import pedigree.capture

    allowed = {
        "pedigree.errors",
        "pedigree.digest",
        "pedigree.jsonutil",
        "pedigree.capture",
        "blake3",
    }
    folder = Path(pedigree.capture.__file__).parent
    for source in folder.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                ok = top in sys.stdlib_module_names or any(
                    name == a or name.startswith(a + ".") for a in allowed
                )
                # pedigree.objects is imported for type checking only.
                assert ok or name == "pedigree.objects", f"{source.name} imports {name}"


def test_the_package_exports() -> None:
    import pedigree.capture

    assert set(pedigree.capture.__all__) == {
        "DEFAULT_ENV_ALLOW",
        "DENY_MARKERS",
        "CodeState",
        "Environment",
        "UntrackedFile",
        "capture_code",
        "capture_environment",
        "capture_invocation",
        "detect_container",
        "is_denied",
        "package_diff",
        "select_env",
        "strip_credentials",
    }
    for name in pedigree.capture.__all__:
        assert hasattr(pedigree.capture, name)
