"""`pedigree data`: add, ls, log, diff, checkout and verify, through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import PYTHON, Project

from pedigree.data.tree import Manifest
from pedigree.digest import Digest, hash_bytes
from pedigree.store import schema as t


def make_prices(root: Path) -> Path:
    folder = root / "data" / "prices"
    (folder / "2026").mkdir(parents=True)
    (folder / "2026" / "jan.csv").write_text("date,close\n2026-01-02,101.5\n")
    (folder / "2026" / "feb.csv").write_text("date,close\n2026-02-02,99.0\n")
    (folder / "README").write_text("vendor: acme\n")
    return folder


def js(cli: Any, *args: str) -> Any:
    res = cli(*args, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def objects_count(project: Project) -> int:
    return sum(1 for _ in project.tracker().objects.iter_digests())


def test_add_versions_and_deduplicates(project: Project, cli: Any) -> None:
    folder = make_prices(project.root)
    v1 = js(cli, "data", "add", "data/prices")
    assert (v1["name"], v1["version"], v1["kind"], v1["file_count"]) == ("data/prices", 1, "dir", 3)
    assert v1["created"] is True
    assert v1["digest"].startswith("blake3:")
    stored = objects_count(project)
    assert stored == 4  # three files and the manifest

    # The folder digest is the digest of the stored manifest.
    manifest_bytes = project.tracker().objects.get_bytes(Digest.parse(v1["digest"]))
    assert hash_bytes(manifest_bytes) == Digest.parse(v1["digest"])
    assert [e.path for e in Manifest.decode(manifest_bytes).entries] == [
        "2026/feb.csv",
        "2026/jan.csv",
        "README",
    ]

    # Unchanged: no new version, nothing stored.
    again = js(cli, "data", "add", "data/prices")
    assert (again["version"], again["created"], again["digest"]) == (1, False, v1["digest"])
    assert objects_count(project) == stored

    # One file changed: v2, and only that file (and the new manifest) is stored.
    (folder / "2026" / "feb.csv").write_text("date,close\n2026-02-02,98.0\n")
    v2 = js(cli, "data", "add", "data/prices")
    assert (v2["version"], v2["created"]) == (2, True)
    assert objects_count(project) == stored + 2

    res = cli("data", "add", "data/prices/README", "--name", "readme")
    assert res.code == 0
    assert res.out.startswith("readme@v1  blake3:")


def test_ls_log_and_diff(project: Project, cli: Any) -> None:
    folder = make_prices(project.root)
    cli("data", "add", "data/prices", "--name", "prices")
    (folder / "2026" / "jan.csv").write_text("date,close\n2026-01-02,101.7\n")
    (folder / "README").unlink()
    (folder / "2026" / "mar.csv").write_text("date,close\n")
    cli("data", "add", "data/prices", "--name", "prices")

    listed = js(cli, "data", "ls")
    assert [(d["name"], d["version"]) for d in listed] == [("prices", 2)]
    log = js(cli, "data", "log", "prices")
    assert [v["ref"] for v in log] == ["prices@v1", "prices@v2"]
    assert all(v["user"] == "tester" and v["run_id"] is None for v in log)
    assert log[0]["path"] == "data/prices"

    diff = js(cli, "data", "diff", "prices@v1", "prices@v2")
    assert [e["path"] for e in diff["added"]] == ["2026/mar.csv"]
    assert [e["path"] for e in diff["removed"]] == ["README"]
    assert [(c["path"], c["old_size"], c["new_size"]) for c in diff["changed"]] == [
        ("2026/jan.csv", 28, 28)
    ]
    assert diff["unchanged"] == 1

    table = cli("data", "diff", "prices@v1", "prices")
    assert "+ 2026/mar.csv" in table.out
    assert "1 added, 1 removed, 1 changed, 1 unchanged" in table.out
    assert "prices@v2" in cli("data", "ls").out


def test_folder_trees_are_recorded_for_lineage(project: Project, cli: Any) -> None:
    make_prices(project.root)
    v1 = js(cli, "data", "add", "data/prices")
    jan = hash_bytes(b"date,close\n2026-01-02,101.5\n")
    with project.tracker().store.read() as reader:
        rows = reader.conn.execute(
            sa.select(t.tree_entries.c.tree_digest, t.tree_entries.c.path).where(
                t.tree_entries.c.digest == str(jan)
            )
        ).all()
    assert [(r.tree_digest, r.path) for r in rows] == [(v1["digest"], "2026/jan.csv")]


def test_checkout_restores_exact_bytes(project: Project, cli: Any, tmp_path: Path) -> None:
    folder = make_prices(project.root)
    os.symlink("2026/jan.csv", folder / "latest.csv")
    original = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    cli("data", "add", "data/prices", "--name", "prices")
    (folder / "2026" / "jan.csv").write_text("edited\n")
    cli("data", "add", "data/prices", "--name", "prices")

    out = tmp_path / "restored"
    res = js(cli, "data", "checkout", "prices@v1", "--to", str(out))
    assert res["written"] == 4
    restored = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert restored == original
    assert os.readlink(out / "latest.csv") == "2026/jan.csv"

    # In place: v2's edit is stored, so going back to v1 is allowed and exact.
    res = js(cli, "data", "checkout", "prices@v1")
    assert (res["written"], res["unchanged"]) == (1, 3)
    assert (folder / "2026" / "jan.csv").read_bytes() == original[Path("2026/jan.csv")]
    # Restored files are ordinary, writable files.
    assert os.access(folder / "2026" / "jan.csv", os.W_OK)


def test_checkout_never_silently_loses_work(project: Project, cli: Any) -> None:
    folder = make_prices(project.root)
    cli("data", "add", "data/prices", "--name", "prices")
    (folder / "README").write_text("unsaved edit\n")
    (folder / "notes.txt").write_text("scratch\n")

    res = cli("data", "checkout", "prices@v1")
    assert res.code == 4
    assert "would overwrite changes" in res.err
    assert "README" in res.err
    assert (folder / "README").read_text() == "unsaved edit\n"  # nothing written

    res = cli("data", "checkout", "prices@v1", "--force", "--clean")
    assert res.code == 0, res.err
    assert (folder / "README").read_text() == "vendor: acme\n"
    assert not (folder / "notes.txt").exists()


def test_single_file_checkout_into_a_folder(project: Project, cli: Any, tmp_path: Path) -> None:
    project.write("data/fx.csv", "eurusd,1.09\n")
    cli("data", "add", "data/fx.csv")
    res = js(cli, "data", "checkout", "data/fx.csv@v1", "--to", str(tmp_path))
    assert Path(res["path"]) == tmp_path / "fx.csv"
    assert (tmp_path / "fx.csv").read_text() == "eurusd,1.09\n"


def test_a_checkout_never_replaces_a_device_or_pipe(
    project: Project, cli: Any, tmp_path: Path
) -> None:
    project.write("data/fx.csv", "eurusd,1.09\n")
    cli("data", "add", "data/fx.csv")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res = cli("data", "checkout", "data/fx.csv@v1", "--to", str(fifo))
    assert res.code == 2
    assert "not a file or folder" in res.err
    assert "Traceback" not in res.err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_verify_reports_corrupt_and_missing_objects(project: Project, cli: Any) -> None:
    make_prices(project.root)
    v1 = js(cli, "data", "add", "data/prices")
    report = js(cli, "data", "verify")
    assert report == {"ok": True, "checked": 4, "corrupt": [], "missing": []}

    objects = project.root / ".pedigree" / "objects"
    jan = hash_bytes(b"date,close\n2026-01-02,101.5\n")
    path = objects / jan.hex[:2] / jan.hex[2:]
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[3] ^= 0x20
    path.write_bytes(bytes(data))
    readme = hash_bytes(b"vendor: acme\n")
    (objects / readme.hex[:2] / readme.hex[2:]).unlink()

    res = cli("data", "verify")
    assert res.code == 5
    assert f"corrupt  {jan}" in res.out
    assert f"missing  {readme}" in res.out
    assert res.err.startswith("error: the object store has 1 corrupt and 1 missing")
    res = cli("data", "verify", "--json")
    assert res.code == 5
    report = json.loads(res.out)
    assert report["corrupt"] == [str(jan)]
    assert [m["digest"] for m in report["missing"]] == [str(readme)]

    # A checkout that would read the corrupt object fails loudly, and writes nothing.
    res = cli("data", "checkout", f"data/prices@v{v1['version']}", "--to", "restored")
    assert res.code in (3, 5)
    assert not (project.root / "restored" / "2026" / "jan.csv").exists()


def test_a_corrupt_object_leaves_the_checkout_destination_as_it_was(
    project: Project, cli: Any
) -> None:
    folder = make_prices(project.root)
    js(cli, "data", "add", "data/prices")
    (folder / "README").write_text("vendor: acme corp\n")
    (folder / "2026" / "feb.csv").write_text("date,close\n2026-02-02,98.0\n")
    js(cli, "data", "add", "data/prices")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    # Only the v1 README is corrupt: the other restored file must not be written either.
    readme = hash_bytes(b"vendor: acme\n")
    path = project.root / ".pedigree" / "objects" / readme.hex[:2] / readme.hex[2:]
    os.chmod(path, 0o644)
    path.write_bytes(b"vendor: acne\n")

    res = cli("data", "checkout", "data/prices@v1")
    assert res.code == 5
    assert res.err.count("\n") == 1
    assert "corrupt" in res.err
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("add", "data/nope.csv"), 2, "does not exist"),
        (("add", "/etc/hostname"), 2, "outside the project"),
        (("add", "data/x.csv", "--name", "a@b"), 2, "cannot contain '@'"),
        (("log", "unknown"), 3, "no dataset named 'unknown'"),
        (("checkout", "x.csv@v9"), 3, "has no version 9"),
        (("diff", "x.csv@v1", "x.csv@vx"), 2, "not a dataset version"),
        (("checkout", "x.csv@v0"), 2, "versions count from 1"),
    ],
)
def test_bad_input_is_one_clear_line(
    project: Project, cli: Any, args: tuple[str, ...], code: int, message: str
) -> None:
    project.write("data/x.csv", "1\n")
    project.write("x.csv", "1\n")
    assert cli("data", "add", "x.csv").code == 0
    before = objects_count(project)
    res = cli("data", *args)
    assert res.code == code
    assert message in res.err
    assert res.err.startswith("error: ")
    assert "Traceback" not in res.err
    assert objects_count(project) == before  # nothing half-written


def test_unreadable_file_is_refused(project: Project, cli: Any) -> None:
    if os.geteuid() == 0:
        # root reads anything: make the file unreadable another way (a folder we cannot list
        # would not stop root either), so check the error path with a dangling FIFO instead.
        os.mkfifo(project.root / "data.fifo")
        res = cli("data", "add", "data.fifo")
        assert res.code == 2
        assert "not a regular file" in res.err
        return
    f = project.write("secret.csv", "x\n")
    f.chmod(0)
    res = cli("data", "add", "secret.csv")
    assert res.code == 2
    assert "cannot read" in res.err


def test_symlink_to_outside_is_recorded_not_followed(
    project: Project, cli: Any, tmp_path: Path
) -> None:
    outside = tmp_path / "vendor.csv"
    outside.write_text("proprietary\n")
    os.symlink(outside, project.root / "vendor.csv")
    v = js(cli, "data", "add", "vendor.csv")
    assert v["kind"] == "symlink"
    assert v["digest"] == str(hash_bytes(os.fsencode(str(outside))))
    # A link to a file inside the project is followed: the bytes are in scope.
    project.write("data/v3.csv", "v3\n")
    os.symlink("v3.csv", project.root / "data" / "latest.csv")
    v = js(cli, "data", "add", "data/latest.csv")
    assert (v["kind"], v["digest"]) == ("file", str(hash_bytes(b"v3\n")))


def test_add_inside_a_run_records_the_producer(project: Project) -> None:
    make_prices(project.root)
    script = project.write(
        "make_data.py",
        "import subprocess, sys\n"
        "subprocess.run([sys.executable, '-m', 'pedigree.cli.main', 'data', 'add', "
        "'data/prices', '--name', 'prices'], check=True)\n",
    )
    res = project.pedigree("run", "--", PYTHON, script.name)
    assert res.code == 0, res.err
    rid = json.loads(project.pedigree("show", "last", "--json").out)["id"]
    log = json.loads(project.pedigree("data", "log", "prices", "--json").out)
    assert log[0]["run_id"] == rid


def test_datasets_on_postgresql_and_s3(pg_project: Project, s3_location: str) -> None:
    env = {**os.environ, "PEDIGREE_OBJECTS": s3_location}  # with the fixture's S3 settings
    make_prices(pg_project.root)
    res = pg_project.pedigree("data", "add", "data/prices", "--json", env=env)
    assert res.code == 0, res.err
    v1 = json.loads(res.out)
    out = pg_project.root / "restored"
    res = pg_project.pedigree("data", "checkout", "data/prices@v1", "--to", str(out), env=env)
    assert res.code == 0, res.err
    assert (out / "2026" / "jan.csv").read_text() == "date,close\n2026-01-02,101.5\n"
    res = pg_project.pedigree("data", "verify", "--json", env=env)
    assert json.loads(res.out)["checked"] == 4
    assert not (pg_project.root / ".pedigree" / "objects").exists() or not any(
        (pg_project.root / ".pedigree" / "objects").iterdir()
    )
    assert v1["digest"].startswith("blake3:")
    shutil.rmtree(out)
