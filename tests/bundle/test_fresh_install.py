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
import sysconfig
import venv
from pathlib import Path

import pytest
from tests.conftest import Project

import pedigree


def _fresh_install(where: Path) -> Path:
    """A new virtualenv with Pedigree installed in it; returns its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(where)
    python = where / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    source = Path(pedigree.__file__).parent
    shutil.copytree(source, site / "pedigree", ignore=shutil.ignore_patterns("__pycache__"))
    info = site / f"pedigree-{pedigree.__version__}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: pedigree\nVersion: {pedigree.__version__}\n"
    )
    (info / "INSTALLER").write_text("test\n")
    (info / "RECORD").write_text("")
    # The dependencies, from this environment (its own pedigree is an editable install whose
    # hook lives in a .pth file, which a path added this way does not run).
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.mark.slow
def test_a_fresh_install_verifies_and_reproduces_a_bundle_identically(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    original = json.loads(project.pedigree("show", "last", "--json").out)
    python = _fresh_install(tmp_path / "fresh-venv")
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
