"""Evidence bundles end to end: a real run with data, bundled through the CLI in a git repo,
verified by a subprocess in an empty folder with no store; every tamper detected."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from tests.bundle.conftest import verify_in_empty
from tests.conftest import PYTHON, Project


def test_bundle_verifies_offline_in_an_empty_folder(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    names = zipfile.ZipFile(bundled).namelist()
    assert "manifest.json" in names
    assert "report.html" in names
    assert "events/chain.jsonl" in names
    assert any(n.startswith("code/") and n.endswith(".bundle") for n in names)
    assert any(n.startswith("code/files/") for n in names)  # the untracked notes.py
    res = verify_in_empty(project, bundled, tmp_path)
    assert res.code == 0, res.out + res.err
    result = json.loads(res.out)
    assert result["ok"]
    assert result["problems"] == []
    assert result["checked"]["runs"] == 1
    assert result["checked"]["objects"] == 2
    assert result["checked"]["code bundles"] == 1
    anchor = result["anchor"]["digest"]
    assert verify_in_empty(project, bundled, tmp_path, "--anchor", anchor).code == 0
    res = verify_in_empty(project, bundled, tmp_path, "--anchor", "blake3:" + "1" * 64)
    assert res.code == 5
    assert "not among the bundle's events" in res.out


def test_show_prints_the_runs_and_the_report(cli, bundled: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("bundle", "show", str(bundled), "--json")
    assert res.code == 0, res.err
    info = json.loads(res.out)
    assert info["runs"][0]["params"] == {"scale": 3}
    assert info["runs"][0]["identity"] == "self-declared"
    assert info["report"].startswith("Pedigree report")
    assert "params: scale=3" in cli("bundle", "show", str(bundled)).out


def _rewrite(src: Path, dest: Path, edit) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, edit(info.filename, zin.read(info.filename)))


def _flip(data: bytes, at: int | None = None) -> bytes:
    i = len(data) // 2 if at is None else at
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


@pytest.mark.parametrize("prefix", ["objects/", "records/runs/", "events/", "env/", "code/"])
def test_a_changed_byte_anywhere_fails_naming_the_part(
    cli, bundled: Path, tmp_path: Path, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.pedigree"
    done: list[str] = []

    def edit(name: str, data: bytes) -> bytes:
        if name.startswith(prefix) and not done:
            done.append(name)
            return _flip(data)
        return data

    _rewrite(bundled, bad, edit)
    res = cli("bundle", "verify", str(bad), "--json")
    assert res.code == 5
    parts = [p["part"] for p in json.loads(res.out)["problems"]]
    assert done[0] in parts
    assert res.err.startswith("error: ")
    assert "Traceback" not in res.err


def test_an_edited_manifest_fails(cli, bundled: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.pedigree"

    def edit(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            return data.replace(b'"data":true', b'"data":false')
        return data

    _rewrite(bundled, bad, edit)
    res = cli("bundle", "verify", str(bad), "--json")
    assert res.code == 5
    assert "manifest.json" in [p["part"] for p in json.loads(res.out)["problems"]]


def test_a_record_rewritten_with_its_manifest_digest_still_fails(
    cli, bundled: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Changing a record and fixing its digest in the manifest breaks the seal, and resealing
    leaves the record disagreeing with the events."""
    from pedigree.bundle import format as fmt

    bad = tmp_path / "bad.pedigree"
    with zipfile.ZipFile(bundled) as zin:
        manifest = json.loads(zin.read("manifest.json"))
        run = next(n for n in zin.namelist() if n.startswith("records/runs/"))
        rec = json.loads(zin.read(run))
    rec["params"]["scale"] = 4
    new = json.dumps(rec).encode()
    for m in manifest["members"]:
        if m["path"] == run:
            m.update(digest=fmt.digest_bytes(new), size=len(new))
    manifest = fmt.seal(manifest)
    _rewrite(
        bundled,
        bad,
        lambda name, data: (
            new
            if name == run
            else fmt.manifest_bytes(manifest)
            if name == "manifest.json"
            else data
        ),
    )
    res = cli("bundle", "verify", str(bad), "--json")
    assert res.code == 5
    problems = json.loads(res.out)["problems"]
    assert {"part": run, "problem": "params differ from the run.params events"} in problems


@pytest.mark.parametrize("name", ["../escape.txt", "/abs/path", "a/../../b"])
def test_zip_slip_paths_are_refused(cli, bundled: Path, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "slip.pedigree"
    _rewrite(bundled, bad, lambda n, d: d)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr(name, b"x")
    res = cli("bundle", "verify", str(bad))
    assert res.code == 5
    assert "unsafe path" in res.err
    assert res.err.count("\n") == 1


def test_truncated_or_foreign_files_give_one_line(cli, bundled: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    truncated = tmp_path / "truncated.pedigree"
    truncated.write_bytes(bundled.read_bytes()[: bundled.stat().st_size // 2])
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("hello.txt", "hi")
    for path in (truncated, foreign, Path(__file__)):
        for sub in ("verify", "show"):
            res = cli("bundle", sub, str(path))
            assert res.code == 5, (path, res)
            assert res.err.startswith("error: ")
            assert res.err.count("\n") == 1


def test_no_data_bundles_verify_and_say_what_they_cannot_reproduce(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    out = tmp_path / "nodata.pedigree"
    res = project.pedigree("bundle", "create", "last", "-o", str(out), "--no-data")
    assert res.code == 0, res.err
    assert not any(n.startswith("objects/") for n in zipfile.ZipFile(out).namelist())
    res = verify_in_empty(project, out, tmp_path)
    assert res.code == 0, res.out
    result = json.loads(res.out)
    assert len(result["cannot_reproduce"]) == 2
    assert all("is not included" in line for line in result["cannot_reproduce"])
    text = project.pedigree("bundle", "verify", str(out), cwd=tmp_path / "elsewhere")
    assert "cannot reproduce: object blake3:" in text.out


def test_a_dataset_version_can_be_bundled(cli, project: Project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project.write("data/prices.csv", "1\n2\n")
    assert cli("data", "add", "data/prices.csv", "--name", "prices").code == 0
    out = tmp_path / "prices.pedigree"
    res = cli("bundle", "prices@v1", "-o", str(out), "--json")
    assert res.code == 0, res.err
    result = json.loads(cli("bundle", "verify", str(out), "--json").out)
    assert result["ok"], result
    assert result["checked"]["objects"] == 1
    assert result["checked"].get("datasets") == 1


def test_unknown_target_is_one_line(cli, project: Project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("bundle", "nosuchrun", "-o", str(tmp_path / "x.pedigree"))
    assert res.code != 0
    assert res.err.startswith("error: ")
    assert not (tmp_path / "x.pedigree").exists()


STEP2 = """\
import pathlib
model = pathlib.Path("out/model.txt").read_text()
parts = sorted(p.read_text() for p in pathlib.Path("data/dir").iterdir())
pathlib.Path("out/final.txt").write_text(model + "".join(parts))
"""


def test_a_lineage_of_two_runs_with_a_folder_and_a_review(
    project: Project, bundled: Path, tmp_path: Path
) -> None:
    project.write("data/dir/a.txt", "a\n")
    project.write("data/dir/b.txt", "b\n")
    project.write("step2.py", STEP2)
    project.commit("step 2")
    res = project.pedigree("run", "--input", "data/dir", "--", PYTHON, "step2.py")
    assert res.code == 0, res.err
    assert project.pedigree("approve", "last", "--note", "fine").code == 0
    out = tmp_path / "two.pedigree"
    assert project.pedigree("bundle", "last", "-o", str(out)).code == 0
    res = verify_in_empty(project, out, tmp_path)
    assert res.code == 0, res.out
    checked = json.loads(res.out)["checked"]
    assert (checked["runs"], checked["trees"], checked["code bundles"]) == (2, 1, 2)
    assert checked["objects"] == 5  # prices, model, final, and the folder's two files
    show = json.loads(project.pedigree("bundle", "show", str(out), "--json").out)
    assert [a["decision"] for a in show["runs"][0]["approvals"]] == ["approved"]


def test_the_environment_carries_a_lock_of_the_installed_packages(bundled: Path) -> None:
    with zipfile.ZipFile(bundled) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".lock.json"))
        lock = json.loads(zf.read(name))
        reqs = zf.read(name.replace(".lock.json", ".requirements.txt")).decode()
    pkgs = {p["name"].lower(): p for p in lock["packages"]}
    blake3 = pkgs["blake3"]
    assert blake3["found"] is True
    assert blake3["record"].startswith("sha256:")
    assert f"blake3=={blake3['version']}\n" in reqs
    assert len(pkgs) == reqs.count("\n")


def test_archive_hashes_the_installer_recorded_are_in_the_lock(tmp_path: Path) -> None:
    from pedigree.bundle.lock import package_lock

    info = tmp_path / "site" / "alpha-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n")
    (info / "RECORD").write_text("alpha/__init__.py,sha256=abc,3\n")
    (info / "INSTALLER").write_text("pip\n")
    direct = {"url": "file:///w/alpha-1.0.whl", "archive_info": {"hashes": {"sha256": "9f86"}}}
    (info / "direct_url.json").write_text(json.dumps(direct))
    env = {"packages": [["alpha", "1.0"], ["beta", "2.0"]]}
    alpha, beta = package_lock(env, paths=[str(tmp_path / "site")]) or []
    assert alpha["hashes"] == {"sha256": "9f86"}
    assert alpha["installer"] == "pip"
    assert alpha["record"].startswith("sha256:")
    assert beta == {"name": "beta", "version": "2.0", "found": False}


def test_a_run_claimed_authenticated_fails_even_resealed(
    cli, bundled: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Whether a run's author was authenticated is the run.created event's (its digest covers
    it), not the record's to say."""
    from pedigree.bundle import format as fmt

    with zipfile.ZipFile(bundled) as zin:
        manifest = json.loads(zin.read("manifest.json"))
        run = next(n for n in zin.namelist() if n.startswith("records/runs/"))
        rec = json.loads(zin.read(run))
    assert rec["identity"] == {"user": "tester", "recorded_by": "tester", "trust": "self-declared"}
    rec["identity"]["trust"] = "authenticated"
    new = json.dumps(rec).encode()
    for m in manifest["members"]:
        if m["path"] == run:
            m.update(digest=fmt.digest_bytes(new), size=len(new))
    sealed = fmt.manifest_bytes(fmt.seal(manifest))
    bad = tmp_path / "claimed.pedigree"
    _rewrite(bundled, bad, lambda n, d: new if n == run else sealed if n == "manifest.json" else d)
    res = cli("bundle", "verify", str(bad), "--json")
    assert res.code == 5
    problem = "its identity (who recorded it, and how) differs from the run.created event"
    assert {"part": run, "problem": problem} in json.loads(res.out)["problems"]
