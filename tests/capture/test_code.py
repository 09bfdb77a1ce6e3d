"""capture_code against real git repositories made in tmp_path."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pedigree.capture import code as code_module
from pedigree.capture.code import CodeState, UntrackedFile, capture_code
from pedigree.digest import Digest, hash_bytes
from pedigree.objects import LocalObjectStore

Git = Callable[..., str]


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The machine's own git configuration must not leak into what the tests see.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def run_git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    out = subprocess.run(
        ["git", "-c", "protocol.file.allow=always", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        check=True,
    )
    return out.stdout.decode("utf-8", "replace").strip()


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run_git(path, "init", "-q", "-b", "main")
    run_git(path, "config", "user.name", "Test Author")
    run_git(path, "config", "user.email", "author@example.com")
    run_git(path, "config", "commit.gpgsign", "false")
    return path


def commit_all(repo: Path, message: str = "commit") -> str:
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", message)
    return run_git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = init_repo(tmp_path / "repo")
    (r / "train.py").write_text("print('train')\n")
    (r / "lib").mkdir()
    (r / "lib" / "util.py").write_text("def f():\n    return 1\n")
    (r / "model.bin").write_bytes(bytes(range(256)) * 4)
    (r / "old.txt").write_text("to be deleted\n")
    commit_all(r, "initial")
    return r


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def worktree_files(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            files[rel] = Path(dirpath, name).read_bytes()
    return files


def test_clean_tree(repo: Path) -> None:
    head = run_git(repo, "rev-parse", "HEAD")
    state = capture_code(repo, None)
    assert state.repo_root == os.path.realpath(repo)
    assert state.commit == head
    assert state.branch == "main"
    assert state.remote is None
    assert state.dirty is False
    assert state.patch_digest is None
    assert state.untracked == ()
    assert state.notes == ()


def test_from_a_subfolder_or_a_file_finds_the_root(repo: Path) -> None:
    assert capture_code(repo / "lib", None).repo_root == os.path.realpath(repo)
    assert capture_code(repo / "lib" / "util.py", None).repo_root == os.path.realpath(repo)


def test_staged_and_unstaged_changes_make_a_patch_that_reproduces_the_tree(
    repo: Path, store: LocalObjectStore, tmp_path: Path
) -> None:
    head = run_git(repo, "rev-parse", "HEAD")
    # Staged: an edit, a new file and a deletion. Unstaged on top: more edits, a binary change.
    (repo / "train.py").write_text("print('train')\nprint('staged')\n")
    (repo / "lib" / "new module.py").write_text("X = 'ü'\n")
    (repo / "old.txt").unlink()
    run_git(repo, "add", "-A")
    (repo / "train.py").write_text("print('train')\nprint('staged')\nprint('unstaged')\n")
    (repo / "lib" / "util.py").write_text("def f():\n    return 2\n")
    (repo / "model.bin").write_bytes(bytes(range(255, -1, -1)) * 4 + b"\0tail")

    state = capture_code(repo, store)

    assert state.dirty is True
    assert state.untracked == ()
    assert state.patch_digest is not None
    patch = store.get_bytes(Digest.parse(state.patch_digest))
    assert b"unstaged" in patch
    assert b"GIT binary patch" in patch

    fresh = tmp_path / "fresh"
    run_git(tmp_path, "clone", "-q", str(repo), str(fresh))
    run_git(fresh, "checkout", "-q", "--detach", head)
    (tmp_path / "state.patch").write_bytes(patch)
    run_git(fresh, "apply", str(tmp_path / "state.patch"))
    assert worktree_files(fresh) == worktree_files(repo)


def test_the_patch_digest_is_stable_and_nothing_is_stored_without_a_store(
    repo: Path, store: LocalObjectStore
) -> None:
    (repo / "train.py").write_text("changed\n")
    first = capture_code(repo, None)
    assert first.patch_digest is not None
    assert list(store.iter_digests()) == []
    second = capture_code(repo, store)
    assert second.patch_digest == first.patch_digest
    assert [str(d) for d in store.iter_digests()] == [first.patch_digest]


def test_a_read_does_not_leave_the_index_lock_or_rewrite_the_index(repo: Path) -> None:
    (repo / "train.py").write_text("changed\n")
    index = repo / ".git" / "index"
    before = index.stat().st_mtime_ns
    capture_code(repo, None)
    assert index.stat().st_mtime_ns == before
    assert not (repo / ".git" / "index.lock").exists()


def test_untracked_text_files_are_stored(repo: Path, store: LocalObjectStore) -> None:
    (repo / "notes.md").write_text("# findings\n")
    (repo / "lib" / "deep").mkdir()
    (repo / "lib" / "deep" / "helper.py").write_text("Y = 1\n")

    state = capture_code(repo, store)

    assert state.dirty is True
    assert state.patch_digest is None  # untracked files are not part of the patch
    by_path = {u.path: u for u in state.untracked}
    assert set(by_path) == {"notes.md", "lib/deep/helper.py"}
    helper = by_path["lib/deep/helper.py"]
    assert helper.size == 6
    assert helper.skipped is None
    assert helper.digest == str(hash_bytes(b"Y = 1\n"))
    assert store.get_bytes(Digest.parse(helper.digest)) == b"Y = 1\n"


def test_binary_and_large_untracked_files_are_skipped_with_a_reason(
    repo: Path, store: LocalObjectStore
) -> None:
    (repo / "weights.npy").write_bytes(b"\x93NUMPY\x00\x01" + b"\x00" * 100)
    (repo / "big.csv").write_bytes(b"a,b\n" * 300_000)  # 1.2 MB of text
    (repo / "exactly-1mib.txt").write_bytes(b"x" * (1024 * 1024))

    state = capture_code(repo, store)

    by_path = {u.path: u for u in state.untracked}
    assert by_path["weights.npy"] == UntrackedFile("weights.npy", 108, skipped="binary")
    assert by_path["big.csv"] == UntrackedFile("big.csv", 1_200_000, skipped="larger than 1 MiB")
    assert by_path["exactly-1mib.txt"].digest is not None
    assert [str(d) for d in store.iter_digests()] == [by_path["exactly-1mib.txt"].digest]
    assert by_path["weights.npy"].to_json() == {
        "path": "weights.npy",
        "size": 108,
        "skipped": "binary",
    }


def test_gitignore_is_respected_and_the_store_folder_always_skipped(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.log\ncache/\n")
    commit_all(repo, "ignore")
    (repo / "run.log").write_text("noise\n")
    (repo / "cache").mkdir()
    (repo / "cache" / "x.txt").write_text("cached\n")
    # A .pedigree folder that lost its own .gitignore must still never be captured as code.
    (repo / ".pedigree" / "spool").mkdir(parents=True)
    (repo / ".pedigree" / "spool" / "events.jsonl").write_text("{}\n")
    (repo / "keep.py").write_text("pass\n")

    state = capture_code(repo, None)

    assert [u.path for u in state.untracked] == ["keep.py"]


def test_untracked_symlinks_are_listed_not_followed(repo: Path) -> None:
    (repo / "link.txt").symlink_to("/etc/hostname")
    state = capture_code(repo, None)
    assert [(u.path, u.skipped) for u in state.untracked] == [("link.txt", "symlink")]


def test_detached_head(repo: Path) -> None:
    first = run_git(repo, "rev-parse", "HEAD")
    (repo / "train.py").write_text("v2\n")
    commit_all(repo, "second")
    run_git(repo, "checkout", "-q", "--detach", first)

    state = capture_code(repo, None)

    assert state.commit == first
    assert state.branch is None
    assert state.dirty is False


def test_a_repository_with_no_commits(tmp_path: Path, store: LocalObjectStore) -> None:
    r = init_repo(tmp_path / "empty")
    (r / "a.py").write_text("A = 1\n")
    run_git(r, "add", "a.py")
    (r / "a.py").write_text("A = 2\n")
    (r / "b.py").write_text("B = 1\n")

    state = capture_code(r, store)

    assert state.commit is None
    assert state.branch == "main"
    assert state.dirty is True
    assert [u.path for u in state.untracked] == ["b.py"]
    assert state.patch_digest is not None
    # The patch is against the empty tree: applied to an empty folder it recreates a.py.
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "p.patch").write_bytes(store.get_bytes(Digest.parse(state.patch_digest)))
    subprocess.run(["git", "apply", str(tmp_path / "p.patch")], cwd=target, check=True)
    assert (target / "a.py").read_text() == "A = 2\n"


def test_an_empty_repository_is_clean(tmp_path: Path) -> None:
    state = capture_code(init_repo(tmp_path / "bare-start"), None)
    assert (state.commit, state.branch, state.dirty, state.notes) == (None, "main", False, ())


def test_not_a_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    state = capture_code(folder, None)
    assert state == CodeState(notes=("not a git repository",))


def test_a_missing_path_is_a_note_not_an_error(tmp_path: Path) -> None:
    state = capture_code(tmp_path / "nowhere", None)
    assert state.repo_root is None
    assert len(state.notes) == 1
    assert "does not exist" in state.notes[0]


def test_git_not_installed(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    state = capture_code(repo, None)
    assert state.repo_root == os.path.realpath(repo)
    assert state.commit is None
    assert state.notes == ("git is not installed",)


def test_a_broken_repository_is_a_note(tmp_path: Path) -> None:
    r = tmp_path / "broken"
    r.mkdir()
    (r / ".git").write_text("gitdir: /nonexistent/place\n")
    state = capture_code(r, None)
    assert state.commit is None
    assert len(state.notes) == 1
    assert state.notes[0].startswith("git status failed:")


def test_remote_credentials_are_stripped(repo: Path) -> None:
    run_git(repo, "remote", "add", "upstream", "git@example.com:org/upstream.git")
    run_git(repo, "remote", "add", "origin", "https://jane:ghp_s3cret@github.com/org/repo.git")
    state = capture_code(repo, None)
    assert state.remote == "https://github.com/org/repo.git"
    assert "ghp_s3cret" not in repr(state.to_json())
    assert "credentials were removed from the remote URL" in state.notes


def test_without_origin_the_first_remote_is_used(repo: Path) -> None:
    run_git(repo, "remote", "add", "zeta", "ssh://git@example.com/zeta.git")
    run_git(repo, "remote", "add", "alpha", "https://example.com/alpha.git")
    assert capture_code(repo, None).remote == "ssh://git@example.com/zeta.git"


def test_remote_in_an_included_config_file_is_found(repo: Path) -> None:
    (repo / ".git" / "extra.config").write_text(
        '[remote "origin"]\n\turl = https://tok@example.com/inc.git\n'
    )
    run_git(repo, "config", "include.path", "extra.config")
    assert capture_code(repo, None).remote == "https://example.com/inc.git"


def test_a_linked_worktree_reads_the_shared_config(repo: Path, tmp_path: Path) -> None:
    run_git(repo, "remote", "add", "origin", "https://example.com/org/repo.git")
    wt = tmp_path / "wt"
    run_git(repo, "worktree", "add", "-q", "-b", "feature", str(wt))
    assert (wt / ".git").is_file()
    (wt / "train.py").write_text("feature work\n")

    state = capture_code(wt, None)

    assert state.repo_root == os.path.realpath(wt)
    assert state.branch == "feature"
    assert state.remote == "https://example.com/org/repo.git"
    assert state.dirty is True
    assert state.patch_digest is not None


def test_unusual_file_names(repo: Path, store: LocalObjectStore, tmp_path: Path) -> None:
    head = run_git(repo, "rev-parse", "HEAD")
    names = ["with space.txt", "ünïcødé ✓.txt", "new\nline.txt", 'quote"d.txt']
    for name in names:
        (repo / name).write_text(f"{name}\n")
    (repo / "tracked ü.py").write_text("v1\n")
    run_git(repo, "add", "tracked ü.py")
    (repo / "tracked ü.py").write_text("v2\n")

    state = capture_code(repo, store)

    assert sorted(u.path for u in state.untracked) == sorted(names)
    for u in state.untracked:
        assert u.digest == str(hash_bytes(f"{u.path}\n".encode()))
    assert state.patch_digest is not None
    fresh = tmp_path / "fresh"
    run_git(tmp_path, "clone", "-q", str(repo), str(fresh))
    run_git(fresh, "checkout", "-q", "--detach", head)
    run_git(fresh, "apply", "-", input=store.get_bytes(Digest.parse(state.patch_digest)))
    assert (fresh / "tracked ü.py").read_text() == "v2\n"


def test_unmerged_files_do_not_raise(repo: Path) -> None:
    run_git(repo, "checkout", "-q", "-b", "other")
    (repo / "train.py").write_text("other\n")
    commit_all(repo, "other")
    run_git(repo, "checkout", "-q", "main")
    (repo / "train.py").write_text("mine\n")
    commit_all(repo, "mine")
    merge = subprocess.run(["git", "merge", "-q", "other"], cwd=repo, capture_output=True)
    assert merge.returncode != 0  # a conflict, as intended

    state = capture_code(repo, None)

    assert state.branch == "main"
    assert state.dirty is True
    assert state.patch_digest is not None


def test_submodule_with_changes_inside_is_noted(repo: Path, tmp_path: Path) -> None:
    lib = init_repo(tmp_path / "libsrc")
    (lib / "lib.py").write_text("L = 1\n")
    commit_all(lib)
    run_git(repo, "submodule", "add", "-q", str(lib), "vendor/lib")
    commit_all(repo, "add submodule")
    assert capture_code(repo, None).dirty is False

    (repo / "vendor" / "lib" / "lib.py").write_text("L = 2\n")
    state = capture_code(repo, None)

    assert state.dirty is True
    assert state.patch_digest is None
    assert any("submodule vendor/lib" in n for n in state.notes)


def test_the_file_count_limit(repo: Path) -> None:
    many = repo / "many"
    many.mkdir()
    for i in range(1003):
        (many / f"f{i:04d}.txt").write_text(f"{i}\n")
    state = capture_code(repo, None)
    assert len(state.untracked) == 1000
    assert "3 untracked files over the 1,000-file limit were skipped" in state.notes


def test_the_total_size_limit(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real limit is 50 MiB; a smaller one exercises the same code without writing 50 MiB.
    monkeypatch.setattr(code_module, "MAX_UNTRACKED_BYTES", 250)
    for name in ("a.txt", "b.txt", "c.txt"):
        (repo / name).write_text("x" * 100)
    state = capture_code(repo, None)
    assert [(u.path, u.skipped) for u in state.untracked] == [
        ("a.txt", None),
        ("b.txt", None),
        ("c.txt", "over the 50 MiB total limit"),
    ]
    assert "untracked files over the 50 MiB total limit were skipped" in state.notes


def test_json_round_trip(repo: Path) -> None:
    (repo / "train.py").write_text("changed\n")
    (repo / "n.txt").write_text("n\n")
    (repo / "w.bin").write_bytes(b"\0\1")
    state = capture_code(repo, None)
    data = state.to_json()
    assert data["untracked"][0] == {"path": "n.txt", "size": 2, "digest": str(hash_bytes(b"n\n"))}
    assert CodeState.from_json(data) == state


def test_staged_and_unstaged_edits_that_cancel_out_are_clean(repo: Path) -> None:
    (repo / "train.py").write_text("staged\n")
    run_git(repo, "add", "train.py")
    (repo / "train.py").write_text("print('train')\n")  # back to the committed content
    state = capture_code(repo, None)
    assert state.dirty is False
    assert state.patch_digest is None
