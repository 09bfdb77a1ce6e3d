"""Lineage, impact and the compliance report through registered models: ``lineage
model:NAME@production --up``, ``impact DATASET@vN`` naming the model versions and aliases resting
on it, ``report model:NAME@ALIAS`` (the real CLI, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Project
from tests.models.test_registry import as_user, js, trained


@pytest.fixture
def production(any_project: Project, cli: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """tsmom/1 from a run on prices@v1, approved by a second person, behind `production`."""
    as_user(monkeypatch, "ana")
    run_id = trained(any_project)
    v1 = js(cli, "model", "register", "tsmom", "--from", f"{run_id}:models/tsmom.pkl")
    as_user(monkeypatch, "ben")
    assert cli("approve", "model:tsmom/1", "--note", "checked").code == 0
    as_user(monkeypatch, "ana")
    assert cli("model", "alias", "tsmom", "production", "1").code == 0
    return {"run": run_id, "version": v1}


def test_lineage_up_from_an_alias(any_project: Project, cli: Any, production: Any) -> None:
    for target in ("model:tsmom@production", "model:tsmom/1", "model:tsmom"):
        rep = js(cli, "lineage", target, "--up")
        assert rep["target"]["kind"] == "model"
        assert rep["target"]["model"]["ref"] == "tsmom/1"
        runs = [n for n in rep["nodes"] if n["kind"] == "run"]
        assert [r["id"] for r in runs] == [production["run"]]
        assert runs[0]["params"] == {"window": 50}
        digests = {n["id"] for n in rep["nodes"] if n["kind"] == "artifact"}
        assert production["version"]["digest"] in digests
        prices = js(cli, "data", "ls")[0]
        assert prices["digest"] in digests  # the data it was trained on
    text = cli("lineage", "model:tsmom@production", "--up")
    assert text.code == 0, text.err
    assert "model tsmom/1 (production)" in text.out
    for bad, message in (
        ("model:nope@production", "no model named 'nope'"),
        ("model:tsmom@staging", "has no alias 'staging'"),
        ("model:tsmom/7", "has no version 7"),
    ):
        res = cli("lineage", bad, "--up")
        assert res.code == 3, res.err
        assert message in res.err


def test_impact_names_the_model_and_its_alias(
    any_project: Project, cli: Any, production: Any
) -> None:
    rep = js(cli, "impact", "prices@v1")
    assert [m["ref"] for m in rep["models"]] == ["tsmom/1"]
    assert rep["models"][0]["aliases"] == ["production"]
    assert rep["summary"]["models"] == 1
    # The vendor corrects the data: v2. The model still rests on v1, and the report says so.
    any_project.write("data/prices.csv", "1\n3\n")
    any_project.tracker().data.add(any_project.root / "data" / "prices.csv", name="prices")
    rep = js(cli, "impact", "prices@v1")
    assert rep["models"][0]["sentence"] == (
        "model tsmom v1, alias production, rests on prices@v1, which has a newer version "
        "(prices@v2)"
    )
    text = cli("impact", "prices@v1")
    assert "model tsmom v1, alias production, rests on prices@v1" in text.out
    assert js(cli, "impact", "prices@v2")["models"] == []


def test_report_on_the_version_behind_an_alias(
    any_project: Project, cli: Any, production: Any, tmp_path: Path
) -> None:
    out = tmp_path / "production.html"
    res = cli("report", "model:tsmom@production", "-o", str(out), "--no-verify")
    assert res.code == 0, res.err
    html = out.read_text()
    assert "Model version" in html
    assert "tsmom/1" in html
    assert production["run"] in html  # the report is the producing run's
    assert production["version"]["digest"] in html
    res = cli("report", "model:tsmom@staging", "-o", str(tmp_path / "x.html"), "--no-verify")
    assert res.code == 3
    assert not (tmp_path / "x.html").exists()


def test_a_model_without_a_run_gets_no_report(
    any_project: Project, cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    any_project.write("weights.bin", "w")
    added = json.loads(cli("data", "add", "weights.bin", "--json").out)
    digest = added.get("digest") or added["version"]["digest"]
    assert cli("model", "register", "raw", "--from", digest).code == 0
    res = cli("report", "model:raw/1", "-o", str(tmp_path / "r.html"), "--no-verify")
    assert res.code == 2
    assert "no recorded run produced" in res.err
