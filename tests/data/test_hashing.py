"""Scanning and hashing many files: symlinks, odd files, changes while hashing, threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pedigree.data.hashing import FileInfo, hash_files, relpath_in, scan, store_files
from pedigree.digest import hash_bytes, hash_file
from pedigree.errors import Conflict, InvalidInput
from pedigree.objects import LocalObjectStore


def test_scan_records_symlinks_and_never_follows_them(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("not ours")
    top = tmp_path / "data"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "a.csv").write_text("a")
    os.symlink("../outside", top / "escape")  # a folder link out of the tree
    os.symlink("sub/a.csv", top / "alias.csv")
    files = {f.rel: f for f in scan(top)}
    assert set(files) == {"sub/a.csv", "escape", "alias.csv"}
    assert files["escape"].type == "symlink"
    assert files["escape"].target == "../outside"
    assert files["escape"].digest == hash_bytes(b"../outside")
    assert files["alias.csv"].size == len(b"sub/a.csv")


def test_scan_refuses_what_has_no_content(tmp_path: Path) -> None:
    top = tmp_path / "data"
    top.mkdir()
    os.mkfifo(top / "pipe")
    with pytest.raises(InvalidInput, match="not a regular file"):
        scan(top)
    with pytest.raises(InvalidInput, match="does not exist"):
        scan(tmp_path / "missing")


def test_threaded_hashes_match_the_reference(tmp_path: Path) -> None:
    for i, size in enumerate([0, 1, 4096, 1024 * 1024 + 3, 5 * 1024 * 1024]):
        (tmp_path / f"f{i}").write_bytes(os.urandom(size))
    files = scan(tmp_path)
    hash_files(files)
    for f in files:
        assert f.digest == hash_file(f.path)


def test_a_file_changed_after_its_stat_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "prices.csv"
    f.write_bytes(b"100")
    files = scan(f)
    f.write_bytes(b"100,101")  # changed between the stat and the hash
    with pytest.raises(Conflict, match="changed while it was being hashed"):
        hash_files(files)


def test_a_file_changed_before_storing_is_refused_and_nothing_stored(tmp_path: Path) -> None:
    f = tmp_path / "prices.csv"
    f.write_bytes(b"100")
    files = scan(f)
    hash_files(files)
    f.write_bytes(b"999")
    store = LocalObjectStore(tmp_path / "objects")
    with pytest.raises(Exception, match="changed"):
        store_files(files, store)
    assert list(store.iter_digests()) == []


def test_store_files_deduplicates(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / "d").mkdir(exist_ok=True)
        (tmp_path / "d" / name).write_bytes(b"same bytes")
    files = scan(tmp_path / "d")
    hash_files(files)
    store = LocalObjectStore(tmp_path / "objects")
    assert store_files(files, store) == len(b"same bytes")
    assert store_files(files, store) == 0
    assert len(list(store.iter_digests())) == 1


def test_relpath_in_refuses_paths_outside(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    assert relpath_in(root, root / "data" / "x.csv") == "data/x.csv"
    assert relpath_in(root, root) == ""
    with pytest.raises(InvalidInput, match="outside the project"):
        relpath_in(root, tmp_path / "elsewhere.csv")
    # A project reached through a symlinked folder is still the project.
    os.symlink(root, tmp_path / "link")
    assert relpath_in(root, tmp_path / "link" / "data" / "x.csv") == "data/x.csv"


def test_fileinfo_state_comparison(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(b"1")
    info = FileInfo.from_stat(str(f), "", os.lstat(f))
    assert info.same_state(os.stat(f))
    f.write_bytes(b"12")
    assert not info.same_state(os.stat(f))
