"""`pedigree impact PATH`: which recorded versions of a path are its current content."""

from __future__ import annotations

import json

from tests.conftest import PYTHON, Project


def test_a_version_known_only_from_a_dataset_is_current_when_the_path_holds_it(
    project: Project,
) -> None:
    project.write(".gitignore", "data/\nout.txt\n")
    project.write("read.py", 'open("data/raw/p.csv").read()\nopen("out.txt", "w").write("o")\n')
    project.commit("reader")
    project.write("data/raw/p.csv", "1\n")
    project.write("data/raw/o.csv", "x\n")
    assert project.pedigree("data", "add", "data/raw", "--name", "prices").code == 0
    assert project.pedigree("run", "--", PYTHON, "read.py").code == 0
    # The vendor's correction, versioned but read by no run yet.
    project.write("data/raw/p.csv", "1\n2\n")
    assert project.pedigree("data", "add", "data/raw", "--name", "prices").code == 0

    res = project.pedigree("impact", "data/raw/p.csv", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    current = {s["digest"]: s["current"] for s in report["sources"]}
    assert len(current) == 2
    assert sorted(current.values()) == [False, True]
    fresh = next(s for s in report["sources"] if s["current"])
    assert fresh["paths"] == ["data/raw/p.csv"]  # named by its path inside the dataset
    assert report["summary"]["stale_reads"] == 1

    text = project.pedigree("impact", "data/raw/p.csv").out
    assert "version artifact" not in text, text
    assert text.count("data/raw/p.csv  blake3:") >= 2, text
    assert "(current)" in text, text

    # The folder: the dataset version it holds now is current, the older one is not.
    report = json.loads(project.pedigree("impact", "data/raw", "--json").out)
    folders = {s["datasets"][0]: s["current"] for s in report["sources"] if s["datasets"]}
    assert folders == {"prices@v1": False, "prices@v2": True}
