"""The capture corpus: one small program per I/O style (tests/capture/corpus/), each run under
`pedigree run --trace python` and `--trace os`. In each mode that claims to see the style, every
file it reads is an input and every file it writes an output, and the run is `complete`; in a
mode that does not, the run is `partial` with the reason naming what was not seen."""

from __future__ import annotations

import importlib.util
import json
import pickle
import shutil
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import PYTHON, Project

from pedigree.capture.files import os_tracer_problem

CORPUS = Path(__file__).parent / "corpus"


@dataclass(frozen=True)
class Style:
    program: str
    inputs: frozenset[str]
    outputs: frozenset[str]
    # None: the Python hook sees it; else a piece of the reason a python-mode run gives.
    python_misses: str | None = None
    modules: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()


def s(*paths: str) -> frozenset[str]:
    return frozenset(paths)


STYLES = [
    Style(
        "builtin_open",
        s("data/in.txt", "data/in2.txt", "data/in3.txt"),
        s("out/builtin.txt", "out/pathlib.txt", "out/osopen.txt"),
    ),
    Style("pandas_csv", s("data/in.csv"), s("out/pandas.csv"), modules=("pandas",)),
    Style(
        "pandas_parquet",
        s("data/in.parquet"),
        s("out/pandas.parquet"),
        modules=("pandas", "pyarrow"),
    ),
    Style(
        "pyarrow_parquet",
        s("data/in.parquet", "data/in.csv"),
        s("out/pyarrow.parquet"),
        modules=("pyarrow",),
    ),
    Style("sqlite", s("data/in.db"), s("out/out.db"), modules=("pandas",)),
    Style(
        "numpy_io",
        s("data/in.npy", "data/in.bin"),
        s("out/numpy.npy", "out/numpy.bin"),
        modules=("numpy",),
    ),
    Style(
        "pickle_joblib",
        s("data/in.pkl", "data/in.joblib"),
        s("out/out.pkl", "out/out.joblib"),
        modules=("joblib",),
    ),
    Style("zip_tar", s("data/in.zip", "data/in.txt"), s("out/out.tar.gz", "out/out.zip")),
    Style("shutil_copy", s("data/in.txt", "data/in2.txt"), s("out/copied.txt", "out/moved.txt")),
    Style(
        "h5py_io",
        s("data/in.h5"),
        s("out/out.h5"),
        python_misses="extension modules that do their own I/O: h5py",
        modules=("h5py",),
    ),
    Style(
        "polars_io",
        s("data/in.csv", "data/in.parquet"),
        s("out/polars.parquet"),
        python_misses="extension modules that do their own I/O: polars",
        modules=("polars", "pyarrow"),
    ),
    Style("python_child", s("data/in.txt"), s("out/child.txt")),
    Style(
        "shell_child",
        s("data/in.txt", "data/in2.txt", "data/in3.txt"),
        s("out/sh.txt", "out/awk.txt", "out/awk3.txt"),
        python_misses=f"child process {shutil.which('awk')} not traced",
        programs=("awk",),
    ),
    Style(
        "r_child",
        s("data/in.csv"),
        s("out/r.csv"),
        python_misses="Rscript not traced",
        programs=("Rscript",),
    ),
]


def make_inputs(data: Path) -> None:
    """Every input file of the corpus, written by the test process (not under capture)."""
    data.mkdir()
    for name, text in (("in.txt", "one\n"), ("in2.txt", "two\n"), ("in3.txt", "three\n")):
        (data / name).write_text(text)
    (data / "in.csv").write_text("a\n1\n2\n3\n")
    with sqlite3.connect(data / "in.db") as db:
        db.execute("create table t (a)")
        db.executemany("insert into t values (?)", [(1,), (2,)])
    db.close()
    (data / "in.pkl").write_bytes(pickle.dumps({"k": [1, 2]}))
    with zipfile.ZipFile(data / "in.zip", "w") as z:
        z.writestr("a.txt", "zipped\n")
    if importlib.util.find_spec("pyarrow"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"a": [1, 2, 3]}), data / "in.parquet")
    if importlib.util.find_spec("numpy"):
        import numpy as np

        np.save(data / "in.npy", np.arange(4.0))
        np.arange(4.0).tofile(data / "in.bin")
    if importlib.util.find_spec("joblib"):
        import joblib

        joblib.dump({"j": 1}, data / "in.joblib")
    if importlib.util.find_spec("h5py"):
        import h5py

        with h5py.File(data / "in.h5", "w") as f:
            f["a"] = [1.0, 2.0]


def missing(style: Style) -> str | None:
    for module in style.modules:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    for program in style.programs:
        if shutil.which(program) is None:
            return f"{program} is not installed"
    return None


def modes() -> list[object]:
    problem = os_tracer_problem()
    return [
        "python",
        pytest.param("os", marks=pytest.mark.skipif(problem is not None, reason=str(problem))),
    ]


def cases() -> list[object]:
    out: list[object] = []
    for style in STYLES:
        why = missing(style)
        if why is not None and style.programs == ("Rscript",):
            continue  # R is optional: its case runs where R is installed, and is not a skip
        marks = [pytest.mark.skipif(why is not None, reason=str(why))] if why else []
        out.append(pytest.param(style, id=style.program, marks=marks))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("mode", modes())
@pytest.mark.parametrize("style", cases())
def test_each_io_style_is_captured_or_marked_partial(
    project: Project, style: Style, mode: str
) -> None:
    project.write(".gitignore", "data/\nout/\n")
    project.commit("ignore data")
    make_inputs(project.root / "data")
    (project.root / "out").mkdir()
    shutil.copy(CORPUS / f"{style.program}.py", project.root / "prog.py")
    res = project.pedigree("run", "-q", "--trace", mode, PYTHON, "prog.py", timeout=300)
    assert res.code == 0, res.err
    shown = project.pedigree("show", "last", "--json")
    rec = json.loads(shown.out)
    capture = rec["capture"]
    assert capture["trace"] == mode
    inputs = {i["path"] for i in rec["inputs"]}
    outputs = {o["path"] for o in rec["outputs"]}
    if mode == "os" or style.python_misses is None:
        assert capture["files"] == "complete", capture["reasons"]
        assert inputs == style.inputs
        assert outputs == style.outputs
    else:
        assert capture["files"] == "partial"
        assert any(style.python_misses in r for r in capture["reasons"]), capture["reasons"]
