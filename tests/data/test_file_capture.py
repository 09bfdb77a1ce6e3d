"""Automatic file lineage: `pedigree run` links the files a Python child reads and writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import PYTHON, Project

from pedigree.data.capture import resolve
from pedigree.digest import hash_bytes


def run(project: Project, *args: str, script: str | None = None) -> dict[str, Any]:
    argv = list(args)
    if script is not None:
        project.write("job.py", textwrap.dedent(script))
        argv += ["--", PYTHON, "job.py"]
    res = project.pedigree("run", *argv)
    assert res.code == 0, res.err
    shown = project.pedigree("show", "last", "--json")
    assert shown.code == 0, shown.err
    return json.loads(shown.out)  # type: ignore[no-any-return]


def paths(items: list[dict[str, Any]]) -> list[str]:
    return [i["path"] for i in items]


def test_reads_and_writes_are_captured_without_changing_the_script(project: Project) -> None:
    project.write("data/prices.csv", "date,close\n2026-01-02,101.5\n")
    project.write("config/params.json", '{"window": 50}')
    rec = run(
        project,
        script="""
        import json, os, pathlib
        prices = open("data/prices.csv").read()
        params = json.loads(pathlib.Path("config/params.json").read_text())
        os.makedirs("out", exist_ok=True)
        with open("out/signal.csv", "w") as f:
            f.write(prices.upper())
        fd = os.open("out/raw.bin", os.O_WRONLY | os.O_CREAT)
        os.write(fd, b"raw")
        os.close(fd)
        with open("out/.tmp-model", "wb") as f:
            f.write(b"model")
        os.replace("out/.tmp-model", "out/model.bin")
        """,
    )
    assert paths(rec["inputs"]) == ["config/params.json", "data/prices.csv"]
    assert paths(rec["outputs"]) == ["out/model.bin", "out/raw.bin", "out/signal.csv"]
    by_path = {i["path"]: i for i in rec["inputs"] + rec["outputs"]}
    assert by_path["data/prices.csv"] == {
        "path": "data/prices.csv",
        "digest": str(hash_bytes(b"date,close\n2026-01-02,101.5\n")),
        "size": 28,
        "kind": "file",
        "declared": False,
        "modified": False,
    }
    assert by_path["out/model.bin"]["digest"] == str(hash_bytes(b"model"))
    # The same fields in `pedigree runs --json`.
    listed = json.loads(project.pedigree("runs", "--json").out)
    assert paths(listed[0]["outputs"]) == paths(rec["outputs"])


def test_outputs_are_stored_and_restorable(project: Project) -> None:
    rec = run(project, script="open('result.txt', 'w').write('sharpe=1.31')\n")
    (out,) = rec["outputs"]
    tracker = project.tracker()
    from pedigree.digest import Digest

    assert tracker.objects.get_bytes(Digest.parse(out["digest"])) == b"sharpe=1.31"


def test_python_subprocesses_are_covered(project: Project) -> None:
    project.write("data/a.csv", "a\n")
    project.write("data/b.csv", "b\n")
    rec = run(
        project,
        script="""
        import subprocess, sys, multiprocessing
        open("data/a.csv").read()
        subprocess.run([sys.executable, "-c",
                        "open('data/b.csv').read(); open('child.txt', 'w').write('c')"],
                       check=True)
        def work(i):
            with open(f"part{i}.txt", "w") as f:
                f.write(str(i))
        if __name__ == "__main__":
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(2) as pool:
                pool.map(work, range(3))
        """,
    )
    assert paths(rec["inputs"]) == ["data/a.csv", "data/b.csv"]
    assert paths(rec["outputs"]) == ["child.txt", "part0.txt", "part1.txt", "part2.txt"]


def test_what_is_not_project_data_is_left_out(project: Project, tmp_path: Path) -> None:
    project.write("data/keep.csv", "k\n")
    project.write("data/raw/huge.bin", "h\n")
    project.write("logs/run.log", "l\n")
    project.write("venv/pyvenv.cfg", "home = /usr\n")
    project.write("venv/lib/thing.txt", "t\n")
    project.write("helpers.py", "VALUE = 1\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("o\n")
    config = project.root / ".pedigree" / "config.toml"
    config.write_text(config.read_text().replace("ignore = []", 'ignore = ["*.log", "data/raw"]'))
    rec = run(
        project,
        script=f"""
        import os, sys
        sys.path.insert(0, ".")
        import helpers, json  # source and stdlib modules are code, not data
        for p in ["data/keep.csv", "data/raw/huge.bin", "logs/run.log", "venv/lib/thing.txt",
                  ".git/HEAD", {str(outside)!r}]:
            open(p).read()
        os.listdir("data")
        fd = os.open("data", os.O_RDONLY)
        os.close(fd)
        """,
    )
    assert paths(rec["inputs"]) == ["data/keep.csv"]
    assert rec["outputs"] == []


def test_declared_inputs_and_outputs_work_for_any_program(project: Project) -> None:
    project.write("data/in.csv", "1\n")
    rec = run(
        project,
        "--input",
        "data/in.csv",
        "--output",
        "out",
        "--",
        "sh",
        "-c",
        "mkdir -p out/parts && cp data/in.csv out/parts/a.csv && echo x > out/b.txt",
    )
    assert [(i["path"], i["declared"], i["kind"]) for i in rec["inputs"]] == [
        ("data/in.csv", True, "file")
    ]
    (out,) = rec["outputs"]
    assert (out["path"], out["kind"], out["declared"], out["size"]) == ("out", "dir", True, 4)
    # The folder's tree is recorded for lineage and its files are stored.
    from pedigree.data.tree import Manifest
    from pedigree.digest import Digest

    objects = project.tracker().objects
    manifest = Manifest.decode(objects.get_bytes(Digest.parse(out["digest"])))
    assert [e.path for e in manifest.entries] == ["b.txt", "parts/a.csv"]
    assert all(objects.has(e.digest) for e in manifest.entries)


def test_an_input_changed_during_the_run_is_flagged(project: Project) -> None:
    project.write("data/live.csv", "v1\n")
    rec = run(
        project,
        script="""
        import subprocess, time
        open("data/live.csv").read()
        time.sleep(0.05)
        # Someone else (not Python, so not seen by the hook) rewrites it mid-run.
        subprocess.run(["sh", "-c", "echo v2 >> data/live.csv"], check=True)
        """,
    )
    (item,) = rec["inputs"]
    assert (item["path"], item["modified"]) == ("data/live.csv", True)
    assert rec["outputs"] == []
    # Flagged where people look too: when the run ends, and in `show`.
    res = project.pedigree("run", "--", PYTHON, "job.py")
    assert "input data/live.csv was modified while the run was going" in res.err
    shown = project.pedigree("show", "last").out
    assert re.search(r"data/live\.csv .* modified during the run", shown), shown


def test_a_file_read_then_rewritten_is_an_output_and_its_known_past_an_input(
    project: Project,
) -> None:
    project.write("state.json", '{"n": 1}')
    old = 1_600_000_000 * 10**9  # long before: the stat cache can trust it
    os.utime(project.root / "state.json", ns=(old, old))
    assert project.pedigree("data", "add", "state.json").code == 0  # now its digest is known
    rec = run(
        project,
        script="""
        import json
        state = json.load(open("state.json"))
        state["n"] += 1
        json.dump(state, open("state.json", "w"))
        """,
    )
    assert [(i["path"], i["digest"]) for i in rec["inputs"]] == [
        ("state.json", str(hash_bytes(b'{"n": 1}')))
    ]
    assert [(o["path"], o["digest"]) for o in rec["outputs"]] == [
        ("state.json", str(hash_bytes(b'{"n": 2}')))
    ]

    # Unknown past content: an output alone.
    project.write("other.json", "{}")
    rec = run(project, script="open('other.json').read(); open('other.json', 'w').write('[]')\n")
    assert rec["inputs"] == []
    assert paths(rec["outputs"]) == ["other.json"]


def test_sdk_use_and_produce_in_standalone_mode(project: Project) -> None:
    project.write("data/x.csv", "x\n")
    project.write(
        "sdk_job.py",
        "import pedigree\n"
        "with pedigree.start_run(experiment='e') as run:\n"
        "    run.use('data/x.csv')\n"
        "    open('y.csv', 'w').write('y')\n"
        "    pedigree.produce('y.csv')\n",
    )
    res = subprocess.run(
        [PYTHON, "sdk_job.py"], cwd=project.root, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
    rec = json.loads(project.pedigree("show", "last", "--json").out)
    assert [(i["path"], i["declared"]) for i in rec["inputs"]] == [("data/x.csv", True)]
    assert [(o["path"], o["digest"]) for o in rec["outputs"]] == [("y.csv", str(hash_bytes(b"y")))]


def test_the_hook_works_on_an_interpreter_without_pedigree(
    project: Project, tmp_path: Path
) -> None:
    """The injected module is standard library only: a bare venv's Python is captured too."""
    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    project.write("data/in.csv", "1\n")
    rec = run(
        project,
        "--",
        str(venv / "bin" / "python"),
        "-c",
        "open('data/in.csv').read(); open('out.csv', 'w').write('2')",
    )
    assert paths(rec["inputs"]) == ["data/in.csv"]
    assert paths(rec["outputs"]) == ["out.csv"]


def test_resolve_merges_processes_and_applies_the_rules(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "d").mkdir(parents=True)
    for name in ("a", "b", "c"):
        (root / "d" / name).write_text(name)
    w = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    records = [
        {"t": "opens", "cwd": str(root), "flags": {"0": ["d/a", "d/c"], str(w): ["d/b"]}},
        {
            "t": "opens",
            "cwd": str(root / "d"),
            "flags": {str(os.O_RDWR): ["c"]},
            "before": {"c": [1, 2, 3, 4]},
        },
        {"t": "opens", "cwd": "relative?", "flags": {"0": ["d/a"]}},
        {"t": "hello"},
    ]
    got = resolve(records, root=root)
    assert sorted(got) == [str(root / "d" / n) for n in ("a", "b", "c")]
    a, b, c = (got[str(root / "d" / n)] for n in ("a", "b", "c"))
    assert (a.read, a.written, b.read, b.written, c.read, c.written) == (
        True, False, False, True, True, True,
    )  # fmt: skip
    assert c.before is not None
    assert c.before.ino == 4


def test_sdk_use_and_produce_under_pedigree_run(project: Project, tmp_path: Path) -> None:
    project.write("data/x.csv", "x\n")
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("e\n")
    rec = run(
        project,
        "--input",
        str(outside),
        script="""
        import subprocess, pedigree
        subprocess.run(["sh", "-c", "cat data/x.csv > made-by-sh.txt"], check=True)
        pedigree.use("data/x.csv")
        pedigree.produce("made-by-sh.txt")
        """,
    )
    assert [(i["path"], i["declared"]) for i in rec["inputs"]] == [("data/x.csv", True)]
    assert [(o["path"], o["declared"]) for o in rec["outputs"]] == [("made-by-sh.txt", True)]
    res = project.pedigree("show", "last", "--json")
    assert res.code == 0


def test_declared_path_outside_the_project_is_not_linked_and_says_so(
    project: Project, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("e\n")
    res = project.pedigree("run", "--input", str(outside), "--", "true")
    assert res.code == 0
    assert "outside the project" in res.err
    rec = json.loads(project.pedigree("show", "last", "--json").out)
    assert rec["inputs"] == []
