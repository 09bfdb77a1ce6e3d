"""Shared by the bundle tests: a real run with data in a git repo, bundled through the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest
from tests.conftest import PYTHON, Project

import pedigree

TRAIN = """\
import pathlib
import pedigree

p = pedigree.params(scale=2)
values = [float(x) for x in pathlib.Path("data/prices.csv").read_text().split()]
score = sum(values) * p.scale
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/model.txt").write_text(f"{score:.6f}\\n")
with pedigree.start_run() as run:
    run.log_metric("score", score)
    run.log_metric("score", score + 1, step=1)
"""


@pytest.fixture
def bundled(project: Project, tmp_path: Path) -> Path:
    project.write(".gitignore", "data/\nout/\n")
    project.write("data/prices.csv", "1\n2\n3.5\n")
    project.write("train.py", TRAIN)
    project.commit("train")
    project.write("notes.py", "# untracked\n")
    res = project.pedigree(
        "run", "--param", "scale=3", "--input", "data/prices.csv", "--", PYTHON, "train.py"
    )
    assert res.code == 0, res.err
    out = tmp_path / "result.pedigree"
    res = project.pedigree("bundle", "last", "-o", str(out), "--json")
    assert res.code == 0, res.err
    summary = json.loads(res.out)
    assert summary["runs"] == 1
    assert summary["objects_included"] == 2
    return out


def verify_in_empty(project: Project, bundle: Path, tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    empty = tmp_path / "elsewhere"
    empty.mkdir(exist_ok=True)
    return project.pedigree("bundle", "verify", str(bundle), "--json", *args, cwd=empty)


def fresh_install(where: Path) -> Path:
    """A new virtualenv with Pedigree installed in it, without the network; returns its python.

    Pedigree's package files are copied into its site-packages (what installing the wheel places
    there, with a dist-info), and the installed dependencies are reached through a ``.pth`` line
    naming this environment's site-packages."""
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
