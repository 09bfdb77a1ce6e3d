"""`pedigree audit verify|log|anchor`, `pedigree approve|reject`, and reviews in `show`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.audit.history import tamper
from tests.conftest import CliResult, Project

from pedigree.data import datasets
from pedigree.store.events import RunIO


def _run(project: Project, name: str = "w20", status: str = "finished") -> str:
    tracker = project.tracker()
    run_id: str = tracker.create_run(experiment="ma", name=name, params={"window": 20})
    tracker.log_metrics(run_id, [["sharpe", 0, 1.3, time.time()]])
    tracker.end_run(run_id, status, exit_code=0 if status == "finished" else 1)
    return run_id


def _events(project: Project) -> int:
    with project.tracker().store.read() as reader:
        return int(reader.conn.exec_driver_sql("SELECT COUNT(*) FROM audit_events").scalar_one())


# -- verify ---------------------------------------------------------------------------------------


def test_verify_passes_on_a_clean_store(any_project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    _run(any_project)
    res: CliResult = cli("audit", "verify")
    assert res.code == 0, res.err
    assert res.out.startswith("ok: 4 events, chain intact from seq 1 to 4")
    assert "tables agree with the log" in res.out
    report = json.loads(cli("audit", "verify", "--json").out)
    assert report["ok"] is True
    assert report["events"] == 4
    assert report["problems"] == []
    assert report["rows"]["runs"] == 1


def test_reading_the_record_appends_nothing(any_project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    # Even with a run whose recorder is gone (which `doctor --fix` would record as crashed): an
    # auditor reading the record leaves no trace in it.
    import subprocess
    import sys

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    any_project.tracker().create_run(experiment="ma", pid=int(finished.stdout))
    run_id = _run(any_project)
    before = _events(any_project)
    for args in (
        ("audit", "verify"),
        ("audit", "verify", "--json"),
        ("audit", "verify", "--chain-only"),
        ("audit", "log", "--run", run_id, "--json"),
        ("audit", "anchor"),
    ):
        res = cli(*args)
        assert res.code == 0, (args, res.err)
    assert _events(any_project) == before


def test_verify_fails_with_the_first_bad_row_and_exit_1(any_project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    run_id = _run(any_project)
    tamper(
        any_project.tracker().project.uri,
        f"UPDATE params SET value = '50' WHERE run_id = '{run_id}'",
    )
    res = cli("audit", "verify")
    assert res.code == 1
    assert (
        f"params (run_id='{run_id}', key='window'): value is '50' but the log says '20' "
        "(event seq 2)"
    ) in res.err
    assert res.err.strip().splitlines()[-1].startswith("error: the record fails verification")
    assert "Traceback" not in res.err
    as_json = cli("audit", "verify", "--json")
    assert as_json.code == 1
    report = json.loads(as_json.out)
    assert report["ok"] is False
    assert report["problems"][0]["table"] == "params"


def test_an_anchor_proves_the_log_extends_it(any_project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    _run(any_project)
    anchor = cli("audit", "anchor")
    assert anchor.code == 0
    digest = anchor.out.strip()
    assert digest.startswith("blake3:")
    assert len(digest) == 71
    assert "seq 4" in anchor.err
    head = json.loads(cli("audit", "anchor", "--json").out)
    assert head["digest"] == digest
    assert head["seq"] == 4

    _run(any_project, "w50")  # the log grows: it still extends the anchor
    res = cli("audit", "verify", "--anchor", digest)
    assert res.code == 0, res.err
    assert "is event seq 4: the log extends it" in res.out

    elsewhere = "blake3:" + "ab" * 32
    res = cli("audit", "verify", "--anchor", elsewhere)
    assert res.code == 1
    assert "error: the log does not extend the anchor: no event of the log (8 events)" in res.err
    res = cli("audit", "verify", "--anchor", "not-a-digest")
    assert res.code == 2
    assert "error: not an anchor: 'not-a-digest'" in res.err


def test_the_anchor_of_an_empty_log_is_extended_by_every_log(any_project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    empty = cli("audit", "anchor")
    assert empty.code == 0, empty.err
    digest = empty.out.strip()
    assert digest == "blake3:" + "0" * 64
    res = cli("audit", "verify", "--anchor", digest)
    assert res.code == 0, res.err
    assert res.out.startswith("ok: the log is empty")
    assert "is the head of the empty log (seq 0): the log extends it" in res.out

    _run(any_project)  # anything recorded later extends it too
    report = json.loads(cli("audit", "verify", "--anchor", digest, "--json").out)
    assert report["ok"] is True
    assert report["anchor"] == {"digest": digest, "seq": 0, "extends": True}
    tamper(any_project.tracker().project.uri, "UPDATE audit_events SET actor = 'x' WHERE seq = 1")
    assert cli("audit", "verify", "--anchor", digest, "--chain-only").code == 1


def test_no_anchor_is_given_for_a_log_whose_head_disagrees(project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    _run(project)
    tamper(project.tracker().project.uri, "DELETE FROM audit_events WHERE seq = 4")
    res = cli("audit", "anchor")
    assert res.code == 1
    assert "the audit head does not match the last event" in res.err
    assert res.out == ""


# -- log ------------------------------------------------------------------------------------------


def test_log_lists_events_filtered_by_run_actor_and_time(any_project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    first = _run(any_project, "w20")
    _run(any_project, "w50")
    assert cli("approve", first, "--note", "fine").code == 0

    res = cli("audit", "log", "--run", first[:30])
    assert res.code == 0, res.err
    kinds = [line.split()[4] for line in res.out.splitlines()[1:]]
    assert kinds == ["run.created", "run.params", "run.metrics", "run.ended", "approval.recorded"]

    events = json.loads(cli("audit", "log", "--json").out)
    assert [e["seq"] for e in events] == list(range(1, 10))
    assert events[0]["payload"]["name"] == "w20"
    assert events[1]["prev"] == events[0]["digest"]
    assert {e["actor"] for e in events} == {"tester"}

    assert json.loads(cli("audit", "log", "--actor", "nobody", "--json").out) == []
    assert json.loads(cli("audit", "log", "--since", "2999-01-01", "--json").out) == []
    recent = json.loads(
        cli("audit", "log", "--since", "2000-01-01T00:00Z", "--limit", "2", "--json").out
    )
    assert [e["seq"] for e in recent] == [8, 9]
    bad = cli("audit", "log", "--since", "yesterday")
    assert bad.code == 2
    assert "--since needs a date" in bad.err
    unknown = cli("audit", "log", "--run", "ffffffff")
    assert unknown.code == 3


# -- reviews --------------------------------------------------------------------------------------


def test_approve_and_reject_are_recorded_and_shown(
    any_project: Project, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    run_id = _run(any_project)
    res = cli("approve", "last", "--note", "out-of-sample Sharpe holds")
    assert res.code == 0, res.err
    assert res.out.startswith(f"approved run {run_id} as tester at ")
    monkeypatch.setenv("PEDIGREE_USER", "maria")
    rejected = json.loads(cli("reject", run_id[:8], "-n", "look-ahead bias", "--json").out)
    assert rejected["decision"] == "rejected"
    assert rejected["actor"] == "maria"
    assert rejected["target_type"] == "run"
    assert rejected["target"] == run_id

    record = json.loads(cli("show", "last", "--json").out)
    assert [(a["decision"], a["actor"], a["note"]) for a in record["approvals"]] == [
        ("approved", "tester", "out-of-sample Sharpe holds"),
        ("rejected", "maria", "look-ahead bias"),
    ]
    assert all(a["at"].endswith("Z") for a in record["approvals"])
    text = cli("show", "last").out
    assert "approvals" in text
    assert "approved     by tester" in text
    assert "look-ahead bias" in text
    listed = json.loads(cli("runs", "--json").out)
    assert len(listed[0]["approvals"]) == 2
    assert cli("audit", "verify").code == 0


def test_the_actor_is_the_configured_identity_never_a_blank_one(
    project: Project, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import getpass

    _run(project)
    config = project.root / ".pedigree" / "config.toml"
    template = config.read_text()
    monkeypatch.setenv("PEDIGREE_USER", "   ")  # blank: no identity, the next source is used
    config.write_text(template.replace('# name = "jane.doe"', 'name = " jane.doe "'))
    assert json.loads(cli("approve", "last", "--json").out)["actor"] == "jane.doe"
    config.write_text(template.replace('# name = "jane.doe"', 'name = ""'))
    assert json.loads(cli("approve", "last", "--json").out)["actor"] == getpass.getuser()
    monkeypatch.setenv("PEDIGREE_USER", "maria")  # the environment wins over the config
    config.write_text(template.replace('# name = "jane.doe"', 'name = "jane.doe"'))
    assert json.loads(cli("approve", "last", "--json").out)["actor"] == "maria"
    actors = [e["actor"] for e in json.loads(cli("audit", "log", "--json").out)[-3:]]
    assert actors == ["jane.doe", getpass.getuser(), "maria"]


def test_an_artifact_version_can_be_reviewed(any_project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    folder = any_project.root / "data" / "prices"
    folder.mkdir(parents=True)
    (folder / "2024.csv").write_text("date,close\n")
    version = datasets.add(any_project.tracker().ctx, folder, name="prices").version
    ds = json.loads(cli("approve", "prices@v1", "--json").out)
    assert (ds["target_type"], ds["target"], ds["note"]) == ("dataset", "prices@v1", None)
    art = json.loads(cli("reject", version.digest, "--note", "unsigned", "--json").out)
    assert (art["target_type"], art["target"]) == ("artifact", version.digest)


def test_show_marks_the_reviewed_inputs_and_outputs_of_a_run(any_project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    tracker = any_project.tracker()
    run_id = tracker.create_run(experiment="ma")
    model, prices = "blake3:" + "a" * 64, "blake3:" + "b" * 64
    items = [
        {"role": "output", "path": "out/model.txt", "digest": model, "size": 3, "kind": "file"},
        {"role": "input", "path": "data/prices.csv", "digest": prices, "size": 5, "kind": "file"},
    ]
    tracker.ctx.append([RunIO(run_id=run_id, items=items)])
    tracker.end_run(run_id, "finished")
    assert cli("reject", model, "--note", "weights not signed").code == 0

    record = json.loads(cli("show", run_id, "--json").out)
    [output], [used] = record["outputs"], record["inputs"]
    assert [(a["decision"], a["actor"], a["note"]) for a in output["approvals"]] == [
        ("rejected", "tester", "weights not signed")
    ]
    assert "approvals" not in used  # nobody reviewed it
    assert record["approvals"] == []  # the run itself was not reviewed
    text = cli("show", run_id).out
    assert "out/model.txt  blake3:aaaaaaaaaaaa…  3 B  rejected by tester" in text
    assert "data/prices.csv  blake3:bbbbbbbbbbbb…  5 B\n" in text


@pytest.mark.parametrize(
    ("target", "code", "message"),
    [
        ("ffffffff", 3, "no run with an id starting 'ffffffff'"),
        ("prices@v9", 3, "no dataset named 'prices'"),
        ("blake3:" + "0" * 64, 3, "no run read or wrote blake3:000"),
        ("data/prices.csv", 3, "nothing is recorded at data/prices.csv"),
        ("", 2, "no target given"),
    ],
)
def test_reviewing_an_unknown_target_writes_nothing(  # type: ignore[no-untyped-def]
    any_project: Project, cli, target: str, code: int, message: str
) -> None:
    _run(any_project)
    before = _events(any_project)
    res = cli("approve", target, "--note", "x")
    assert res.code == code, res.err
    assert message in res.err
    assert "Traceback" not in res.err
    assert _events(any_project) == before


def test_a_path_is_not_a_reviewable_target(project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    tracker = project.tracker()
    run_id = tracker.create_run(experiment="ma")
    item = {
        "role": "output",
        "path": "out/model.txt",
        "digest": "blake3:" + "a" * 64,
        "size": 3,
        "kind": "file",
    }
    tracker.ctx.append([RunIO(run_id=run_id, items=[item])])
    tracker.end_run(run_id, "finished")
    (Path(project.root) / "out").mkdir()
    before = _events(project)
    res = cli("approve", "out/model.txt")
    assert res.code == 2
    assert "is a path, which may hold several versions" in res.err
    assert _events(project) == before


def test_every_command_documents_an_example(cli) -> None:  # type: ignore[no-untyped-def]
    for argv in (
        ["audit"],
        ["audit", "verify"],
        ["audit", "log"],
        ["audit", "anchor"],
        ["approve"],
        ["reject"],
        ["report"],
    ):
        res = cli(*argv, "--help")
        assert res.code == 0
        assert "Examples:" in res.out, argv


def test_chain_only_checks_the_log_but_not_the_tables(any_project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    run_id = _run(any_project)
    uri = any_project.tracker().project.uri
    tamper(uri, f"UPDATE params SET value = '50' WHERE run_id = '{run_id}'")
    res = cli("audit", "verify", "--chain-only")
    assert res.code == 0, res.err
    assert "(tables not checked: --chain-only)" in res.out
    assert cli("audit", "verify").code == 1
    tamper(uri, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    res = cli("audit", "verify", "--chain-only", "--json")
    assert res.code == 1
    assert [p["key"] for p in json.loads(res.out)["problems"]] == ["seq 2"]
