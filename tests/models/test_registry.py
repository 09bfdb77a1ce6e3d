"""The model registry through the CLI: register, ls, show, alias with four eyes, history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Project


def js(cli: Any, *args: str) -> Any:
    res = cli(*args, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def trained(project: Project, text: str = "weights-v1") -> str:
    """A run (by the current user) that reads a dataset and writes a model file."""
    tracker = project.tracker()
    project.write("data/prices.csv", "1\n2\n")
    tracker.data.add(project.root / "data" / "prices.csv", name="prices")
    project.write("models/tsmom.pkl", text)
    with tracker.start_run(experiment="tsmom", params={"window": 50}) as run:
        run.use(project.root / "data" / "prices.csv")
        run.produce(project.root / "models" / "tsmom.pkl")
        run_id = str(run.id)
    return run_id


def as_user(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("PEDIGREE_USER", name)


def test_register_show_get_and_history(
    any_project: Project, cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    as_user(monkeypatch, "ana")
    run_id = trained(any_project)
    v1 = js(cli, "model", "register", "tsmom", "--from", f"{run_id}:models/tsmom.pkl")
    assert (v1["ref"], v1["version"], v1["run_id"], v1["registered_by"]) == (
        "tsmom/1",
        1,
        run_id,
        "ana",
    )
    # A digest registers too; its producing run is found.
    v2 = js(cli, "model", "register", "tsmom", "--from", v1["digest"], "--note", "same bytes")
    assert (v2["version"], v2["run_id"], v2["path"]) == (2, run_id, "models/tsmom.pkl")

    shown = js(cli, "model", "show", "tsmom/1")
    up = shown["upstream"]
    assert up["run"] == run_id
    assert up["params"] == {"window": 50}
    assert up["datasets"] == ["prices@v1"]
    assert up["code"]["commit"]
    assert shown["identity"] == "self-declared"
    assert js(cli, "model", "show", "tsmom")["version"] == 2  # the latest

    [listed] = js(cli, "model", "ls")
    assert (listed["name"], listed["version"], listed["aliases"]) == ("tsmom", 2, {})

    js(cli, "model", "alias", "tsmom", "champion", "1")
    assert js(cli, "model", "show", "tsmom@champion")["version"] == 1
    out = js(cli, "get", "tsmom@champion", "-o", str(tmp_path / "m.pkl"))
    assert out["source"] == "model tsmom/1"
    assert (tmp_path / "m.pkl").read_text() == "weights-v1"
    js(cli, "get", "model:tsmom/2", "-o", str(tmp_path / "m2.pkl"))

    events = js(cli, "model", "history", "tsmom")
    assert [e["event"] for e in events] == ["registered", "registered", "alias"]
    assert {e["actor"] for e in events} == {"ana"}
    text = cli("model", "history", "tsmom").out
    assert "alias champion -> v1" in text


def test_protected_alias_needs_four_eyes(
    any_project: Project, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pedigree

    as_user(monkeypatch, "ana")  # the author of the run
    run_id = trained(any_project)
    as_user(monkeypatch, "bob")  # registers it
    js(cli, "model", "register", "tsmom", "--from", f"{run_id}:models/tsmom.pkl")

    def refused() -> str:
        before = any_project.tracker().models.history("tsmom")
        res = cli("model", "alias", "tsmom", "production", "1")
        assert res.code == 4, res.err
        assert res.err.startswith("error: production is a protected alias")
        assert "self-declared" in res.err
        assert "Traceback" not in res.err
        assert any_project.tracker().models.history("tsmom") == before  # nothing recorded
        return res.err

    assert "none yet" in refused()
    # Neither the registrant nor the run's author counts.
    js(cli, "approve", "model:tsmom/1", "--note", "mine")
    as_user(monkeypatch, "ana")
    js(cli, "approve", "model:tsmom/1")
    refused()
    # A third person does; a later rejection by them takes it back.
    as_user(monkeypatch, "cem")
    res = cli("approve", "model:tsmom/1", "--note", "independent review")
    assert res.code == 0, res.err
    assert "self-declared" in res.out
    as_user(monkeypatch, "ana")
    moved = js(cli, "model", "alias", "tsmom", "production", "1")
    assert (moved["version"], moved["previous"], moved["actor"]) == (1, None, "ana")
    assert pedigree.load_model("tsmom@production").read_text() == "weights-v1"

    as_user(monkeypatch, "cem")
    js(cli, "reject", "model:tsmom/1", "--note", "look-ahead found")
    as_user(monkeypatch, "ana")
    assert "last reviewed by cem: rejected" in refused()
    shown = js(cli, "model", "show", "tsmom@production")
    assert [r["decision"] for r in shown["reviews"]] == [
        "approved",
        "approved",
        "approved",
        "rejected",
    ]
    assert shown["aliases"] == ["production"]
    # The audit chain holds every step, and the tables agree with it.
    assert cli("audit", "verify").code == 0


def test_configured_protected_aliases(project: Project, cli: Any) -> None:
    config = project.root / ".pedigree" / "config.toml"
    config.write_text(config.read_text() + '\n[models]\nprotected_aliases = ["live"]\n')
    run_id = trained(project)
    js(cli, "model", "register", "m", "--from", f"{run_id}:models/tsmom.pkl")
    assert cli("model", "alias", "m", "production", "1").code == 0
    assert cli("model", "alias", "m", "live", "1").code == 4


def test_bad_input_records_nothing(project: Project, cli: Any) -> None:
    run_id = trained(project)
    cases = [
        (("model", "register", "m", "--from", f"{run_id}:data/prices.csv"), 3),  # an input
        (("model", "register", "m", "--from", f"{run_id}:nowhere"), 3),
        (("model", "register", "m", "--from", "blake3:" + "0" * 64), 3),
        (("model", "register", "a/b", "--from", f"{run_id}:models/tsmom.pkl"), 2),
        (("model", "show", "nosuch"), 3),
        (("model", "show", "nosuch@production"), 3),
        (("model", "history", "nosuch"), 3),
        (("approve", "model:nosuch/1"), 3),
    ]
    for args, code in cases:
        res = cli(*args)
        assert res.code == code, (args, res.err)
        assert res.err.count("\n") <= 2
    js(cli, "model", "register", "m", "--from", f"{run_id}:models/tsmom.pkl")
    for args, code in [
        (("model", "show", "m/2"), 3),
        (("model", "show", "m@champion"), 3),
        (("model", "alias", "m", "champion", "2"), 3),
        (("model", "alias", "m", "v2", "1"), 2),
        (("get", "m@champion"), 3),
    ]:
        res = cli(*args)
        assert res.code == code, (args, res.err)
    assert [e["event"] for e in js(cli, "model", "history", "m")] == ["registered"]
