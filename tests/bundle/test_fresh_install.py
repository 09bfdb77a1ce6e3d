"""The issue's end-to-end check: a bundle copied to a fresh folder and checked and re-run there by
a fresh Pedigree install in a new virtualenv, with the original project gone.

No network: the new virtualenv gets Pedigree's package files copied into its site-packages (what
installing the wheel places there, with its dist-info), and reaches the already installed
dependencies (blake3, click, SQLAlchemy...) through a ``.pth`` line naming this environment's
site-packages. Nothing of the source tree is on its path: the test checks where ``pedigree`` is
imported from.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.bundle.conftest import fresh_install
from tests.conftest import Project


@pytest.mark.slow
def test_a_fresh_install_verifies_and_reproduces_a_bundle_identically(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    original = json.loads(project.pedigree("show", "last", "--json").out)
    python = fresh_install(tmp_path / "fresh-venv")
    elsewhere = tmp_path / "regulator"
    elsewhere.mkdir()
    copy = elsewhere / "result.pedigree"
    shutil.copyfile(bundled, copy)
    shutil.rmtree(project.root)
    env = {k: v for k, v in project.env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def fresh(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), *args], cwd=elsewhere, env=env, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip

    where = fresh("-c", "import pedigree; print(pedigree.__file__)")
    assert where.stdout.strip().startswith(str(tmp_path / "fresh-venv")), where
    assert sys.prefix not in where.stdout

    res = fresh("-m", "pedigree.cli.main", "bundle", "verify", str(copy), "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["ok"]
    res = fresh("-m", "pedigree.cli.main", "reproduce", str(copy), "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(res.stdout)
    assert result["verdict"] == "identical", result
    assert result["original"] == original["id"]
    assert (elsewhere / ".pedigree").is_dir()
