"""The stat cache: hits for unchanged files, and git's rule for racily clean entries."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pedigree.data.hashing import hash_files, scan
from pedigree.data.statcache import StatCache
from pedigree.digest import hash_bytes


def test_an_unchanged_file_is_not_hashed_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pedigree.data.hashing as hashing

    f = tmp_path / "data.csv"
    f.write_bytes(b"a,b\n1,2\n")
    old = time.time_ns() - 10_000_000_000  # written well before it is hashed
    os.utime(f, ns=(old, old))
    cache = StatCache(tmp_path / "cache" / "stat.db")
    first = scan(f)
    hash_files(first, cache=cache)
    assert first[0].digest == hash_bytes(b"a,b\n1,2\n")

    calls = []
    real = hashing._hash_one
    monkeypatch.setattr(hashing, "_hash_one", lambda *a: calls.append(a) or real(*a))
    again = scan(f)
    hash_files(again, cache=cache)
    assert again[0].digest == first[0].digest
    assert calls == []

    # A new process (a new cache object) sees the same entry.
    cache.close()
    third = scan(f)
    hash_files(third, cache=StatCache(tmp_path / "cache" / "stat.db"))
    assert calls == []


def test_a_changed_file_is_hashed_again(tmp_path: Path) -> None:
    f = tmp_path / "data.csv"
    f.write_bytes(b"1")
    old = time.time_ns() - 10_000_000_000
    os.utime(f, ns=(old, old))
    cache = StatCache(tmp_path / "stat.db")
    hash_files(scan(f), cache=cache)
    f.write_bytes(b"22")
    files = scan(f)
    hash_files(files, cache=cache)
    assert files[0].digest == hash_bytes(b"22")


def test_a_racily_clean_entry_is_not_trusted(tmp_path: Path) -> None:
    """A file rewritten within the timestamp granularity (same size, same mtime) is caught."""
    f = tmp_path / "prices.csv"
    f.write_bytes(b"100.0")
    # An mtime at or after the moment of hashing: the file may change again unseen.
    racy = time.time_ns() + 5_000_000_000
    os.utime(f, ns=(racy, racy))
    cache = StatCache(tmp_path / "stat.db")
    first = scan(f)
    hash_files(first, cache=cache)
    assert first[0].digest == hash_bytes(b"100.0")
    assert cache.lookup(first) == [None]  # recorded, but not trusted

    f.write_bytes(b"999.9")  # same size...
    os.utime(f, ns=(racy, racy))  # ...and the same mtime
    second = scan(f)
    assert (second[0].size, second[0].mtime_ns) == (first[0].size, first[0].mtime_ns)
    hash_files(second, cache=cache)
    assert second[0].digest == hash_bytes(b"999.9")


def test_a_racy_entry_becomes_trusted_once_hashed_after_the_fact(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"x")
    cache = StatCache(tmp_path / "stat.db")
    info = scan(f)
    mtime = info[0].mtime_ns
    d = hash_bytes(b"x")
    cache.record([(info[0], d)], stamp=mtime)  # stamp == mtime: racy
    assert cache.lookup(info) == [None]
    cache.record([(info[0], d)], stamp=mtime + 1)  # hashed after the last write
    assert cache.lookup(info) == [d]


def test_a_broken_cache_degrades_to_hashing(tmp_path: Path) -> None:
    bad = tmp_path / "stat.db"
    bad.write_bytes(b"this is not a database" * 100)
    f = tmp_path / "a.csv"
    f.write_bytes(b"content")
    files = scan(f)
    cache = StatCache(bad)
    hash_files(files, cache=cache)
    assert files[0].digest == hash_bytes(b"content")


def test_many_files_are_looked_up_in_batches(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    old = time.time_ns() - 10_000_000_000
    for i in range(25_000):
        p = folder / f"{i}.txt"
        p.write_bytes(str(i).encode())
        os.utime(p, ns=(old, old))
    cache = StatCache(tmp_path / "stat.db")
    files = scan(folder)
    hash_files(files, cache=cache)
    looked = cache.lookup(files)
    assert all(d is not None for d in looked)
    assert {str(d) for d in looked} == {str(f.digest) for f in files}


def test_an_in_place_edit_with_the_mtime_put_back_is_caught(tmp_path: Path) -> None:
    """Issue 19 F: ``touch -r`` restores size and mtime, but not the ctime."""
    f = tmp_path / "prices.csv"
    f.write_bytes(b"100.0")
    old = time.time_ns() - 10_000_000_000
    os.utime(f, ns=(old, old))
    cache = StatCache(tmp_path / "stat.db")
    first = scan(f)
    hash_files(first, cache=cache)
    time.sleep(0.02)  # past the ctime clock's granularity, so the edit moves it

    with open(f, "r+b") as out:  # same inode, same size
        out.write(b"999.9")
    os.utime(f, ns=(old, old))  # and the same mtime
    second = scan(f)
    assert (second[0].ino, second[0].size, second[0].mtime_ns) == (
        first[0].ino,
        first[0].size,
        first[0].mtime_ns,
    )
    hash_files(second, cache=cache)
    assert second[0].digest == hash_bytes(b"999.9")


def test_an_entry_whose_ctime_is_not_older_than_its_stamp_is_not_trusted(tmp_path: Path) -> None:
    """Racily clean by ctime (a chmod or an edit just before hashing): hashed again."""
    f = tmp_path / "a.bin"
    f.write_bytes(b"x")
    old = time.time_ns() - 10_000_000_000
    os.utime(f, ns=(old, old))  # an old mtime, but the ctime is now
    cache = StatCache(tmp_path / "stat.db")
    files = scan(f)
    cache.record([(files[0], hash_bytes(b"x"))], stamp=files[0].ctime_ns)
    assert cache.lookup(files) == [None]
    cache.record([(files[0], hash_bytes(b"x"))], stamp=files[0].ctime_ns + 1)
    assert cache.lookup(files) == [hash_bytes(b"x")]


def test_a_cache_from_before_ctime_was_kept_is_dropped(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "stat.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE entries (ino INTEGER, dev INTEGER, size INTEGER, mtime_ns INTEGER,"
        " digest BLOB, stamp_ns INTEGER, PRIMARY KEY (ino, dev))"
    )
    old.commit()
    old.close()
    f = tmp_path / "a.bin"
    f.write_bytes(b"x")
    cache = StatCache(path)
    files = scan(f)
    cache.record([(files[0], hash_bytes(b"x"))], stamp=time.time_ns() + 10**9)
    assert cache.lookup(files) == [hash_bytes(b"x")]
