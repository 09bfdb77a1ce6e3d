"""`reproduce` acts only on records the audit chain vouches for, and never writes outside its
checkout (issue 19 B and C)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.audit.history import tamper
from tests.conftest import PYTHON, Project, git
from tests.reproduce.test_reproduce import record, reproduce, setup, train

from pedigree.config import find_project
from pedigree.context import Context
from pedigree.digest import hash_bytes
from pedigree.errors import IntegrityError
from pedigree.reproduce.workspace import materialise, remove_worktree


def test_a_command_edited_behind_pedigrees_back_is_not_run(
    any_project: Project, tmp_path: Path
) -> None:
    project = any_project
    setup(project, train())
    original = record(project)
    marker = tmp_path / "PWNED"
    command = json.dumps(["sh", "-c", f"touch {marker}"]).replace("'", "''")
    tamper(
        project.tracker().project.uri,
        f"UPDATE runs SET command = '{command}' WHERE id = '{original['id']}'",
    )
    res, _ = reproduce(project, original["id"])
    assert res.code == 1, res.err
    assert "error: the record fails `pedigree audit verify`" in res.err
    assert "nothing was reproduced" in res.err
    assert not marker.exists()
    # Nothing recorded either: still one run, and git has no extra worktree.
    assert len(json.loads(project.pedigree("runs", "--json").out)) == 1
    assert git(project.root, "worktree", "list").count("\n") == 1


def test_inputs_are_never_restored_through_a_committed_link_leaving_the_checkout(
    project: Project, tmp_path: Path
) -> None:
    realdata = tmp_path / "realdata"
    realdata.mkdir()
    (realdata / "raw.csv").write_text("1\n2\n")
    os.symlink(realdata, project.root / "data")
    project.write("read.py", "import pathlib\nprint(sum(float(x) for x in open('data/raw.csv')))\n")
    project.commit("data is a link")  # the absolute link is committed
    res = project.pedigree("run", "--input", "data/raw.csv", "--", PYTHON, "read.py")
    assert res.code == 0, res.err
    (realdata / "raw.csv").write_text("the user's newer, git-ignored data\n")

    res, out = reproduce(project, "last")
    assert out["verdict"] == "failed", res.err
    assert "symlink" in out["reason"]
    assert "outside the checkout" in out["reason"]
    assert (realdata / "raw.csv").read_text() == "the user's newer, git-ignored data\n"
    assert sorted(p.name for p in realdata.iterdir()) == ["raw.csv"]


def _context(project: Project) -> Context:
    return Context(find_project(project.root))


@pytest.mark.parametrize("hostile", ["../../outside/x", "/tmp/pedigree-hostile-x", "a/../../x"])
def test_an_untracked_path_escaping_the_checkout_is_refused(
    project: Project, tmp_path: Path, hostile: str
) -> None:
    project.write("a.py", "print(1)\n")
    project.commit("a")
    ctx = _context(project)
    digest = ctx.objects.put_bytes(b"planted\n")
    head = git(project.root, "rev-parse", "HEAD").strip()
    code = {
        "commit": head,
        "repo_root": str(project.root),
        "untracked": [{"path": hostile, "digest": str(digest)}],
    }
    run = {"id": "0193", "cwd": str(project.root), "code": code}
    dest = tmp_path / "scratch" / "deep" / "src"
    with pytest.raises(IntegrityError, match="escapes its folder"):
        materialise(ctx, run, [], {}, dest)
    assert not (tmp_path / "scratch" / "outside").exists()
    assert not Path("/tmp/pedigree-hostile-x").exists()
    assert git(project.root, "worktree", "list").count("\n") == 1  # removed again


def test_an_input_path_escaping_the_checkout_is_refused(project: Project, tmp_path: Path) -> None:
    project.write("a.py", "print(1)\n")
    project.commit("a")
    ctx = _context(project)
    head = git(project.root, "rev-parse", "HEAD").strip()
    run = {"id": "0193", "cwd": str(project.root), "code": {"commit": head}}
    inputs = [{"path": "../../x", "digest": str(hash_bytes(b"x")), "kind": "file"}]
    with pytest.raises(IntegrityError, match="escapes its folder"):
        materialise(ctx, run, inputs, {}, tmp_path / "s" / "src")
    assert git(project.root, "worktree", "list").count("\n") == 1


def test_a_link_that_stays_inside_the_checkout_is_followed(
    project: Project, tmp_path: Path
) -> None:
    (project.root / "shared").mkdir()
    project.write("shared/keep", "")
    os.symlink("shared", project.root / "data")
    project.commit("data is a relative link")
    ctx = _context(project)
    digest = ctx.objects.put_bytes(b"1\n")
    head = git(project.root, "rev-parse", "HEAD").strip()
    run = {"id": "0193", "cwd": str(project.root), "code": {"commit": head}}
    inputs = [{"path": "data/raw.csv", "digest": str(digest), "kind": "file"}]
    ws = materialise(ctx, run, inputs, {}, tmp_path / "s" / "src")
    try:
        assert (ws.worktree / "shared" / "raw.csv").read_bytes() == b"1\n"
    finally:
        remove_worktree(ws.repo, ws.worktree)


SLOW_WHEN_REPRODUCED = """\
import os, pathlib, time
print(os.getpid(), flush=True)
if "pedigree-reproduce" in os.getcwd() and pathlib.Path(FLAG).exists():
    time.sleep(60)
"""


def test_a_checkout_left_by_a_killed_reproduction_is_removed_by_the_next(
    project: Project, tmp_path: Path
) -> None:
    import signal
    import subprocess

    flag = tmp_path / "slow"
    flag.touch()
    project.write("slow.py", SLOW_WHEN_REPRODUCED.replace("FLAG", repr(str(flag))))
    project.commit("slow")
    res = project.pedigree("run", "--", PYTHON, "slow.py")
    assert res.code == 0, res.err
    original = json.loads(project.pedigree("show", "last", "--json").out)["id"]
    proc = subprocess.Popen(
        [PYTHON, "-m", "pedigree.cli.main", "reproduce", original],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())  # the reproduction is running in its checkout
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    os.kill(child, signal.SIGKILL)
    listed = git(project.root, "worktree", "list", "--porcelain")
    left = [
        Path(line.split(" ", 1)[1])
        for line in listed.splitlines()[4:]
        if line.startswith("worktree ")
    ]
    assert len(left) == 1  # the defect: registered, and its folder still there
    assert left[0].exists()

    flag.unlink()
    res, out = reproduce(project, original)
    assert out["verdict"] == "diverged", res.err  # the pid it prints differs
    assert git(project.root, "worktree", "list").count("\n") == 1
    assert not left[0].parent.exists()
