"""Notebooks: papermill under `pedigree run` (parameters, input and output notebooks, the files
the kernel reads), reproduce of it (`identical`, comparing notebooks by cells and outputs), and a
run started inside a real Jupyter kernel (the cells it executed; reproduce refuses it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from tests.conftest import Project

from pedigree.capture.notebooks import notebook_fingerprint

PAPERMILL = shutil.which("papermill") or str(Path(__file__).parents[2] / ".venv/bin/papermill")


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("window = 10")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "rows = open('data/in.csv').read().split()\n"
            "total = sum(int(r) for r in rows[1:]) * window\n"
            "open('result.txt', 'w').write(str(total))\n"
            "print('total', total)"
        ),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))


def test_notebooks_compare_by_cells_and_outputs_not_metadata() -> None:
    def executed(count: int, seconds: str, text: list[str]) -> bytes:
        cell = {
            "cell_type": "code",
            "id": f"c{count}",
            "execution_count": count,
            "metadata": {"papermill": {"duration": seconds}},
            "source": ["print(1)"],
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
        }
        return json.dumps({"cells": [cell], "metadata": {"papermill": {"end": seconds}}}).encode()

    a = notebook_fingerprint(executed(1, "0.5", ["1\n"]))
    assert a is not None
    assert a == notebook_fingerprint(executed(7, "0.9", ["1", "\n"]))  # chunks, counts, times
    assert a != notebook_fingerprint(executed(1, "0.5", ["2\n"]))
    assert notebook_fingerprint(b"not a notebook") is None


@pytest.mark.slow
def test_papermill_run_records_parameters_and_reproduces_identical(project: Project) -> None:
    project.write(".gitignore", "data/\nresult.txt\nout.ipynb\n")
    write_notebook(project.root / "analysis.ipynb")
    project.commit("notebook")
    project.write("data/in.csv", "a\n1\n2\n")
    res = project.pedigree(
        "run", "-q", PAPERMILL, "analysis.ipynb", "out.ipynb", "-p", "window", "50", timeout=300
    )
    assert res.code == 0, res.err
    rec = json.loads(project.pedigree("show", "last", "--json").out)
    assert rec["params"] == {"window": 50}
    assert {i["path"] for i in rec["inputs"]} == {"analysis.ipynb", "data/in.csv"}
    assert {o["path"] for o in rec["outputs"]} == {"out.ipynb", "result.txt"}
    assert (project.root / "result.txt").read_text() == "150"
    res = project.pedigree("reproduce", "last", "--json", "--timeout", "300", timeout=400)
    assert res.code == 0, res.err
    verdict = json.loads(res.out)
    assert verdict["verdict"] == "identical", verdict
    assert any("out.ipynb: the same cells and outputs" in n for n in verdict["notes"])


@pytest.mark.slow
def test_a_run_in_a_jupyter_kernel_records_the_cells_it_executed(project: Project) -> None:
    from jupyter_client.manager import start_new_kernel

    project.write("data/in.csv", "a\n1\n")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(project.root), env=project.env)
    cells = [
        "import pedigree\nrun = pedigree.start_run(experiment='nb')",
        "x = open('data/in.csv').read()",
        "open('nb_out.txt', 'w').write(x)\nrun.end()",
    ]
    try:
        kc.execute_interactive("y = 1", timeout=120)  # before the run: not one of its cells
        for cell in cells:
            reply = kc.execute_interactive(cell, timeout=120)
            assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    rec = json.loads(project.pedigree("show", "last", "--json").out)
    assert rec["experiment"] == "nb"
    notebook = rec["invocation"]["notebook"]
    assert [c["source"] for c in notebook["cells"]] == cells
    assert [i["path"] for i in rec["inputs"]] == ["data/in.csv"]
    assert [o["path"] for o in rec["outputs"]] == ["nb_out.txt"]
    assert rec["capture"]["trace"] == "in-process"
    res = project.pedigree("reproduce", "last")
    assert res.code == 2
    assert "Jupyter kernel" in res.err
