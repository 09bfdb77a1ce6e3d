"""``pedigree --version`` answers without importing click (issue 18), and says what click's
version option says."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = (
    "import sys\n"
    "from pedigree.cli import main\n"
    "main([sys.argv[1]])\n"
    "print('click' in sys.modules, file=sys.stderr)\n"
)


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_without_click(flag: str) -> None:
    fast = subprocess.run(
        [sys.executable, "-c", PROBE, flag], capture_output=True, text=True, check=True
    )
    assert fast.stderr.strip() == "False"
    slow = subprocess.run(
        [sys.executable, "-m", "pedigree.cli.main", flag],
        capture_output=True,
        text=True,
        check=True,
    )
    assert fast.stdout == slow.stdout
    assert fast.stdout.startswith("pedigree, version ")


def test_other_arguments_go_to_the_commands() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from pedigree.cli import main; main(['--help'])"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0
    assert "Examples:" in proc.stdout
