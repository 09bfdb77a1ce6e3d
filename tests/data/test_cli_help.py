"""Every `pedigree data` subcommand documents an example; every read command takes --json."""

from __future__ import annotations

from typing import Any

import pytest

from pedigree.cli.data import data

SUBCOMMANDS = sorted(data.commands)


def test_the_group_has_the_issue_s_verbs() -> None:
    assert SUBCOMMANDS == ["add", "checkout", "diff", "log", "ls", "verify"]


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_shows_an_example_and_json(name: str, cli: Any) -> None:
    res = cli("data", name, "--help")
    assert res.code == 0
    assert "Example" in res.out
    assert f"pedigree data {name}" in res.out
    assert "--json" in res.out


def test_data_is_not_loaded_by_version_or_import() -> None:
    import subprocess

    from tests.conftest import PYTHON

    code = (
        "import sys, pedigree\n"
        "from pedigree.cli.main import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pedigree.data.', "
        "'pedigree.objects', 'boto3', 'blake3'))))\n"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
