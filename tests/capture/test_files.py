"""File capture modes and the completeness mark (pedigree.capture.files), with real strace logs
and real `pedigree run` subprocesses."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from tests.conftest import PYTHON, Project

from pedigree.capture.files import (
    COMPLETE,
    OFF,
    PARTIAL,
    STRICT_EXIT_CODE,
    assess,
    choose_trace,
    os_tracer_problem,
    parse_strace,
    strace_argv,
)
from pedigree.errors import InvalidInput

needs_strace = pytest.mark.skipif(
    shutil.which("strace") is None or os_tracer_problem() is not None,
    reason="strace cannot trace here (CI installs it: make system-deps)",
)


def last(project: Project) -> dict:  # type: ignore[type-arg]
    res = project.pedigree("show", "last", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]


def io(rec: dict) -> tuple[list[str], list[str]]:  # type: ignore[type-arg]
    return [i["path"] for i in rec["inputs"]], [o["path"] for o in rec["outputs"]]


# -- the strace log ------------------------------------------------------------------------


@needs_strace
def test_a_real_strace_log_gives_reads_writes_and_renames_inside_the_project(
    tmp_path: Path,
) -> None:
    (tmp_path / "in.csv").write_text("a\n1\n")
    (tmp_path / "sub").mkdir()
    log = tmp_path / "strace.log"
    script = (
        "cat in.csv > 'odd name,é.txt'; cd sub && awk 1 ../in.csv > tmp.csv && "
        "mv tmp.csv moved.csv; cat /etc/hostname > /dev/null"
    )
    argv = [*strace_argv(shutil.which("strace") or "strace", log), "sh", "-c", script]
    subprocess.run(argv, cwd=tmp_path, check=True)
    records = parse_strace(log, root=tmp_path, cwd=str(tmp_path))
    flags = records[0]["flags"]
    reads = {p for k, ps in flags.items() if int(k) & 3 == 0 for p in ps}
    writes = {p for k, ps in flags.items() if int(k) & 3 != 0 for p in ps}
    assert reads == {str(tmp_path / "in.csv")}
    assert writes == {
        str(tmp_path / "odd name,é.txt"),
        str(tmp_path / "sub" / "tmp.csv"),
        str(tmp_path / "sub" / "moved.csv"),  # the rename's target, resolved from sub/
    }
    assert all(p.startswith(str(tmp_path)) for ps in flags.values() for p in ps)


def test_a_log_with_split_lines_and_escapes_is_parsed(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text(
        '12 openat(-100</p>, "a.csv", 0 <unfinished ...>\n'
        '13 openat(-100</p>, "b\\303\\251.csv", 0x241, 0666) = 3</p/b\\303\\251.csv>\n'
        "12 <... openat resumed>) = 4</p/a.csv>\n"
        '12 openat(-100</p>, "gone.csv", 0) = -1 ENOENT (No such file or directory)\n'
        '12 rename("x", "y") = 0\n'
        '14 openat(-100</elsewhere>, "/etc/passwd", 0x80000) = 3</etc/passwd>\n'
    )
    flags = parse_strace(log, root="/p", cwd="/p")[0]["flags"]
    assert flags == {"0": ["/p/a.csv"], str(0x241): ["/p/bé.csv"], "65": ["/p/y"]}


# -- the mark --------------------------------------------------------------------------------


def test_the_mark_names_what_the_python_hook_cannot_see() -> None:
    hello = [{"pid": 5}]
    clean = assess(trace="python", records=[], hellos=hello, command_pid=5, argv=["python"])
    assert (clean.files, clean.reasons) == (COMPLETE, ())
    mark = assess(
        trace="python",
        records=[
            {"t": "opens", "native": ["polars"], "spawned": [["awk", True], [PYTHON, True]]},
            {"t": "opens", "native": ["h5py"], "spawned": [[PYTHON, False]]},
        ],
        hellos=hello,
        command_pid=5,
        argv=["python"],
    )
    assert mark.files == PARTIAL
    assert mark.reasons[0] == "process loaded extension modules that do their own I/O: h5py, polars"
    assert f"child process {shutil.which('awk')} not traced" in mark.reasons
    assert f"child process {PYTHON} not traced" in mark.reasons  # it ignores PYTHONPATH
    assert len(mark.reasons) == 3
    off = assess(trace="python", records=[], hellos=[], command_pid=5, argv=["sh"])
    assert off.files == OFF
    os_mark = assess(
        trace="os",
        records=[{"t": "opens", "native": ["h5py"]}],
        hellos=[],
        command_pid=None,
        argv=["sh"],
    )
    assert (os_mark.files, os_mark.trace) == (COMPLETE, "os")
    fallback = assess(
        trace="python",
        records=[],
        hellos=hello,
        command_pid=5,
        argv=["python"],
        fallback="strace is not installed",
    )
    assert fallback.files == PARTIAL
    assert "strace is not installed" in fallback.reasons[0]


def test_a_bad_trace_mode_is_refused() -> None:
    with pytest.raises(InvalidInput, match="use one of auto, python, os"):
        choose_trace("fanotify")
    assert choose_trace("python").mode == "python"


# -- pedigree run ----------------------------------------------------------------------------


def test_a_program_that_is_not_python_is_off_under_python_tracing(project: Project) -> None:
    project.write("in.csv", "a\n1\n")
    res = project.pedigree("run", "--trace", "python", "sh", "-c", "cat in.csv > out.csv")
    assert res.code == 0, res.err
    assert "file capture off" in res.err
    rec = last(project)
    assert rec["capture"]["files"] == OFF
    assert rec["capture"]["trace"] == "python"
    assert "is not a Python program" in rec["capture"]["reasons"][0]
    assert io(rec) == ([], [])
    text = project.pedigree("show", "last").out
    assert "file capture" in text
    assert "off" in text


@needs_strace
@pytest.mark.slow
def test_os_tracing_captures_a_shell_pipeline_and_is_complete(project: Project) -> None:
    project.write("in.csv", "a\n1\n")
    res = project.pedigree("run", "-q", "--trace", "os", "sh", "-c", "awk 1 in.csv > out.csv")
    assert res.code == 0, res.err
    rec = last(project)
    assert rec["capture"] == {"files": COMPLETE, "reasons": [], "trace": "os"}
    assert io(rec) == (["in.csv"], ["out.csv"])


@needs_strace
@pytest.mark.slow
def test_auto_traces_at_the_os_level_where_strace_works(project: Project) -> None:
    project.write("in.csv", "a\n1\n")
    res = project.pedigree("run", "-q", "--trace", "auto", "sh", "-c", "cp in.csv out.csv")
    assert res.code == 0, res.err
    rec = last(project)
    assert rec["capture"]["trace"] == "os"
    assert io(rec) == (["in.csv"], ["out.csv"])


@needs_strace
@pytest.mark.slow
def test_a_signal_reaches_the_command_under_os_tracing(project: Project) -> None:
    import signal
    import time

    project.write("wait.py", "import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen(
        [PYTHON, "-m", "pedigree.cli.main", "run", "--trace", "os", PYTHON, "wait.py"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "up\n"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert time.monotonic() - started < 20
    assert proc.returncode == 128 + signal.SIGTERM
    assert last(project)["status"] == "killed"


def test_strict_capture_fails_a_partial_run_with_its_own_exit_code(project: Project) -> None:
    script = "import subprocess\nsubprocess.run(['true'])\n"
    project.write("spawn.py", script)
    res = project.pedigree("run", "-q", "--trace", "python", "--strict-capture", PYTHON, "spawn.py")
    assert res.code == STRICT_EXIT_CODE
    assert "strict capture: file capture is partial" in res.err
    rec = last(project)
    assert rec["status"] == "failed"
    assert rec["exit_code"] == STRICT_EXIT_CODE
    assert rec["capture"]["files"] == PARTIAL
    assert any("true not traced" in r for r in rec["capture"]["reasons"])
    # Without it the same run finishes, marked partial.
    res = project.pedigree("run", "-q", "--trace", "python", PYTHON, "spawn.py")
    assert res.code == 0
    assert last(project)["status"] == "finished"


def test_the_project_setting_makes_capture_strict(project: Project) -> None:
    config = project.root / ".pedigree" / "config.toml"
    config.write_text(config.read_text().replace("[capture]\n", "[capture]\nstrict = true\n", 1))
    res = project.pedigree("run", "-q", "sh", "-c", "true")
    assert res.code == STRICT_EXIT_CODE
    assert last(project)["status"] == "failed"
    res = project.pedigree("run", "-q", PYTHON, "-c", "pass")
    assert res.code == 0, res.err  # a plain Python run is complete
    assert last(project)["capture"]["files"] == COMPLETE


def test_a_database_only_queried_is_an_input_and_one_written_is_an_output(
    project: Project,
) -> None:
    with sqlite3.connect(project.root / "prices.db") as db:
        db.execute("create table p (x)")
        db.execute("insert into p values (1)")
    query = "import sqlite3; print(sqlite3.connect('prices.db').execute('select * from p').all())"
    query = query.replace(".all()", ".fetchall()")
    res = project.pedigree("run", "-q", PYTHON, "-c", query)
    assert res.code == 0, res.err
    assert res.out == "[(1,)]\n"
    rec = last(project)
    assert io(rec) == (["prices.db"], [])
    assert rec["capture"]["files"] == COMPLETE
    write = "import sqlite3\nwith sqlite3.connect('file:out.db?mode=rwc', uri=True) as c:\n"
    write += "    c.execute('create table t (x)')\n"
    project.write("w.py", write)
    res = project.pedigree("run", "-q", PYTHON, "w.py")
    assert res.code == 0, res.err
    assert io(last(project)) == ([], ["out.db"])


def test_auto_falls_back_to_python_where_ptrace_is_forbidden(
    project: Project, tmp_path: Path
) -> None:
    # A strace that cannot trace, as in a container without CAP_SYS_PTRACE.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "strace"
    fake.write_text(
        "#!/bin/sh\necho 'strace: test_ptrace_get_syscall_info: PTRACE_TRACEME: "
        "Operation not permitted' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{project.env['PATH']}"}
    res = project.pedigree("run", "-q", "--trace", "auto", PYTHON, "-c", "pass", env=env)
    assert res.code == 0, res.err
    capture = last(project)["capture"]
    assert capture["trace"] == "python"
    assert capture["files"] == PARTIAL
    assert "Operation not permitted" in capture["reasons"][0]
    res = project.pedigree("run", "-q", "--trace", "os", PYTHON, "-c", "pass", env=env)
    assert res.code == 2
    assert res.err.startswith("error: --trace os: strace cannot trace here")
    assert len(res.err.strip().splitlines()) == 1
