"""`pedigree run`: a real subprocess wrapping real scripts in a real git repository."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import PYTHON, Project

PLAIN = """\
import sys, time
print("hello from a plain script")
print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


def show(project: Project, ref: str = "last") -> dict:  # type: ignore[type-arg]
    res = project.pedigree("show", ref, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]


def test_a_script_that_does_not_import_pedigree_is_recorded(project: Project) -> None:
    project.write("plain.py", PLAIN)
    project.commit("add plain")
    res = project.pedigree("run", "--", PYTHON, "plain.py")
    assert res.code == 0, res.err
    assert "hello from a plain script" in res.out  # shown live
    assert "to stderr" in res.err
    rec = show(project)
    assert rec["status"] == "finished"
    assert rec["exit_code"] == 0
    assert rec["command"] == [PYTHON, "plain.py"]
    assert rec["duration"] > 0
    assert rec["cwd"] == str(project.root)
    assert rec["user"] == "tester"
    assert rec["code"]["dirty"] is False
    assert rec["code"]["branch"] == "main"
    assert len(rec["code"]["commit"]) == 40
    assert rec["environment"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert rec["environment"]["packages"]  # the child's distributions
    logs = project.pedigree("logs", rec["id"])
    assert logs.out == "hello from a plain script\n"
    assert logs.err == "to stderr\n"
    assert project.pedigree("logs", rec["id"], "--stderr").out == ""


def test_the_exit_code_is_the_childs(project: Project) -> None:
    project.write("plain.py", PLAIN)
    res = project.pedigree("run", "-q", "--", PYTHON, "plain.py", "3")
    assert res.code == 3
    assert res.err == "to stderr\n"  # -q: nothing of Pedigree's own
    rec = show(project)
    assert (rec["status"], rec["exit_code"]) == ("failed", 3)
    assert rec["error"] == "exited with code 3"


def test_params_are_typed_and_reach_the_child(project: Project) -> None:
    project.write(
        "p.py",
        "import pedigree, json\n"
        "p = pedigree.params(window=1, ratio=1.0, flag=False, sym='X', extra_default=7)\n"
        "print(json.dumps({k: [v, type(v).__name__] for k, v in p.items()}, sort_keys=True))\n",
    )
    res = project.pedigree(
        "run",
        "-q",
        "-p",
        "window=20",
        "--param",
        "ratio=1",
        "--param",
        "flag=true",
        "--param",
        "sym=AAPL",
        "--",
        PYTHON,
        "p.py",
    )
    assert res.code == 0, res.err
    assert json.loads(res.out) == {
        "extra_default": [7, "int"],
        "flag": [True, "bool"],
        "ratio": [1.0, "float"],
        "sym": ["AAPL", "str"],
        "window": [20, "int"],
    }
    assert show(project)["params"] == {
        "extra_default": 7,
        "flag": True,
        "ratio": 1.0,
        "sym": "AAPL",
        "window": 20,
    }


def test_seed_and_recorded_environment_variables(project: Project) -> None:
    project.write(
        "env.py",
        "import os\nprint(os.environ['PEDIGREE_SEED'], os.environ['PYTHONHASHSEED'])\n",
    )
    res = project.pedigree(
        "run",
        "-q",
        "--seed",
        "42",
        "--",
        PYTHON,
        "env.py",
        env={"OMP_NUM_THREADS": "3", "MY_API_TOKEN": "s3cr3t", "DB_PASSWORD": "x"},
    )
    assert res.code == 0, res.err
    assert res.out.split() == ["42", "42"]
    rec = show(project)
    assert rec["seed"] == 42
    env = rec["invocation"]["env"]
    assert env["OMP_NUM_THREADS"] == "3"
    assert env["PYTHONHASHSEED"] == "42"
    assert "MY_API_TOKEN" not in env
    assert "DB_PASSWORD" not in env
    assert "s3cr3t" not in json.dumps(rec)
    assert rec["invocation"]["argv"] == [PYTHON, "env.py"]


def test_uncommitted_changes_and_untracked_files_are_captured(project: Project) -> None:
    project.write("plain.py", PLAIN)
    project.commit()
    project.write("plain.py", PLAIN + "# tweak\n")
    project.write("helper.py", "X = 1\n")
    res = project.pedigree("run", "-q", "--", PYTHON, "plain.py")
    assert res.code == 0
    rec = show(project)
    assert rec["code"]["dirty"] is True
    patch_digest = rec["code"]["patch_digest"]
    assert patch_digest.startswith("blake3:")
    patch = project.tracker().read_blob(patch_digest).decode()
    assert "+# tweak" in patch
    untracked = {u["path"]: u for u in rec["code"]["untracked"]}
    assert untracked["helper.py"]["digest"].startswith("blake3:")


def test_a_python_without_pedigree_installed_still_reports_to_the_run(
    project: Project, tmp_path: Path
) -> None:
    """The research code may live in its own virtualenv, without Pedigree."""
    venv = tmp_path / "research-venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    other = str(venv / "bin" / "python")
    check = subprocess.run([other, "-c", "import pedigree"], capture_output=True)
    assert check.returncode != 0  # really without Pedigree
    project.write(
        "bt.py",
        "import pedigree\n"
        "p = pedigree.params(window=5)\n"
        "with pedigree.start_run(experiment='venv') as run:\n"
        "    run.log_metric('sharpe', p.window / 10)\n",
    )
    res = project.pedigree("run", "-q", "-p", "window=8", "--", other, "bt.py")
    assert res.code == 0, res.err
    rec = show(project)
    assert rec["experiment"] == "venv"
    assert rec["metrics"] == {"sharpe": 0.8}
    assert rec["environment"]["executable"] == other
    names = {name for name, _ in rec["environment"]["packages"]}
    assert "sqlalchemy" not in names  # the child's environment, not Pedigree's


def test_a_non_python_command_is_recorded_without_a_python_environment(project: Project) -> None:
    res = project.pedigree("run", "-q", "--", "sh", "-c", "echo out; echo err >&2; exit 4")
    assert res.code == 4
    rec = show(project)
    assert rec["status"] == "failed"
    assert rec["environment"]["python"] is None
    assert project.pedigree("logs", "last").out == "out\n"


def _wait_for_status(project: Project, status: str, timeout: float = 20) -> dict:  # type: ignore[type-arg]
    deadline = time.time() + timeout
    while time.time() < deadline:
        res = project.pedigree("runs", "--json")
        runs = json.loads(res.out) if res.code == 0 else []
        if runs and runs[0]["status"] == status:
            return runs[0]  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"no run reached {status}")


def _start_pedigree(project: Project, *command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "pedigree.cli.main", "run", "--", *command],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_is_passed_to_the_child_and_the_run_is_closed_as_killed(
    project: Project, sig: signal.Signals, code: int
) -> None:
    project.write(
        "slow.py",
        "import signal, sys, time\nprint('started', flush=True)\ntime.sleep(60)\n",
    )
    proc = _start_pedigree(project, PYTHON, "slow.py")
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    rec = show(project)
    assert rec["status"] == "killed"
    assert rec["error"] == f"stopped by {sig.name}"
    assert rec["exit_code"] == code


def test_a_recorder_that_dies_leaves_a_run_that_is_later_found_crashed(project: Project) -> None:
    project.write("slow.py", "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(30)\n")
    proc = _start_pedigree(project, PYTHON, "slow.py")
    assert proc.stdout is not None
    assert proc.stderr is not None
    child = int(proc.stdout.readline())
    running = _wait_for_status(project, "running")
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    os.kill(child, signal.SIGKILL)  # the tracked program outlives its recorder; end it
    rec = show(project, running["id"])
    assert rec["status"] == "crashed"
    assert "stopped responding" in rec["error"]
    # and the record stays readable and consistent
    assert project.pedigree("runs").code == 0


def test_command_not_found_is_one_line_and_records_nothing(project: Project) -> None:
    res = project.pedigree("run", "--", "no-such-program-xyz")
    assert res.code == 127
    assert res.err == "error: command not found: no-such-program-xyz\n"
    assert json.loads(project.pedigree("runs", "--json").out) == []


@pytest.mark.parametrize("bad", ["window", "=3", "9lives=1"])
def test_bad_param_syntax_is_refused_before_anything_runs(project: Project, bad: str) -> None:
    res = project.pedigree("run", "--param", bad, "--", PYTHON, "-c", "print(1)")
    assert res.code == 2
    assert res.err.startswith("error: --param")
    assert res.err.count("\n") == 1
    assert json.loads(project.pedigree("runs", "--json").out) == []


def test_outside_any_store_it_says_how_to_make_one(tmp_path: Path, project: Project) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = project.pedigree("run", "--", PYTHON, "-c", "print(1)", cwd=elsewhere)
    assert res.code == 3
    assert "no Pedigree store found" in res.err
    assert "pedigree init" in res.err
    assert "Traceback" not in res.err


def test_init_is_idempotent_and_makes_the_store_at_the_git_root(project: Project) -> None:
    sub = project.root / "sub" / "dir"
    sub.mkdir(parents=True)
    res = project.pedigree("init", cwd=sub)
    assert res.code == 0, res.err
    assert "Already initialised" in res.out
    assert not (sub / ".pedigree").exists()


def test_init_outside_git_uses_the_current_folder(tmp_path: Path, project: Project) -> None:
    plain = tmp_path / "plain-folder"
    plain.mkdir()
    res = project.pedigree("init", cwd=plain)
    assert res.code == 0, res.err
    assert (plain / ".pedigree" / "pedigree.db").is_file()
    run = project.pedigree("run", "-q", "--", PYTHON, "-c", "print(1)", cwd=plain)
    assert run.code == 0, run.err
    assert os.path.exists(plain / ".pedigree" / "objects")


def test_a_process_left_behind_holding_the_output_does_not_hold_the_run(project: Project) -> None:
    # A background process inherits the command's stdout and outlives it (as a multiprocessing
    # worker its pool failed to stop did): the run ends a grace period after the command.
    marker = project.root / "lingering.pid"
    started = time.monotonic()
    res = project.pedigree(
        "run", "--", "sh", "-c", f"sleep 60 & echo $! > {marker}; echo done", timeout=60
    )
    try:
        assert res.code == 0, res.err
        assert time.monotonic() - started < 30
        assert "still holds its output open" in res.err
        rec = show(project)
        assert rec["status"] == "finished"
        assert project.pedigree("logs", "last").out == "done\n"
    finally:
        os.kill(int(marker.read_text()), signal.SIGKILL)
