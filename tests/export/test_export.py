"""OpenLineage events validated against the spec's own JSON schema; PROV-JSON read back with the
`prov` package; `--emit` posted to a real HTTP server started by the test."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from prov.model import (
    ProvActivity,
    ProvAgent,
    ProvAssociation,
    ProvDerivation,
    ProvDocument,
    ProvEntity,
    ProvGeneration,
    ProvUsage,
)
from referencing import Registry, Resource
from tests.conftest import PYTHON, Project
from tests.lineage.builders import digest, quant_pipeline

SPEC = Path(__file__).parent / "openlineage-spec"
# The schemas of Pedigree's custom facets, at the URLs their `_schemaURL` names.
CUSTOM = Path(__file__).parents[2] / "docs" / "openlineage"


def _registry() -> tuple[Registry, dict[str, Any], dict[str, dict[str, Any]]]:
    core = json.loads((SPEC / "OpenLineage.json").read_text())
    resources = [(core["$id"], Resource.from_contents(core))]
    facets: dict[str, dict[str, Any]] = {}
    for path in sorted((SPEC / "facets").glob("*.json")) + sorted(CUSTOM.glob("*.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
        for name in schema.get("properties", {}):
            facets[name] = schema
    return Registry().with_resources(resources), core, facets


REGISTRY, CORE, FACETS = _registry()


def validate(event: dict[str, Any]) -> None:
    """The event against RunEvent, and every standard facet against its own schema."""
    run_event = {"$ref": CORE["$id"] + "#/$defs/RunEvent"}
    Draft202012Validator(
        run_event, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    ).validate(event)
    datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    uuid.UUID(event["run"]["runId"])
    groups = [event["run"]["facets"], event["job"].get("facets", {})]
    for ds in event.get("inputs", []) + event.get("outputs", []):
        groups.append(ds.get("facets", {}))
    for facets in groups:
        for name, facet in facets.items():
            assert facet["_producer"].startswith("https://")
            assert facet["_schemaURL"].startswith("https://")
            assert name in FACETS, name  # a standard facet, or one of ours with its schema
            Draft202012Validator(FACETS[name], registry=REGISTRY).validate({name: facet})
            if name.startswith("pedigree_"):
                assert facet["_schemaURL"] == FACETS[name]["$id"], name


def test_openlineage_events_match_the_spec(any_project: Project) -> None:
    tracker = any_project.tracker()
    g = quant_pipeline(tracker)
    events = tracker.reports.export(experiment="research", fmt="openlineage")
    assert len(events) == 2 * len(g.runs)
    for event in events:
        validate(event)
    by_run: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_run.setdefault(e["run"]["runId"], []).append(e)
    start, complete = by_run[g.runs["train-v1"]]
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert complete["job"]["name"] == "research"
    assert [d["name"] for d in complete["inputs"]] == ["data/features.csv"]
    assert [d["name"] for d in complete["outputs"]] == ["models/model.pkl"]
    out = complete["outputs"][0]["facets"]
    assert out["version"]["datasetVersion"] == digest("model from v1")
    facets = complete["run"]["facets"]
    assert facets["pedigree_params"]["params"] == {"window": 50}
    assert facets["pedigree_metrics"]["metrics"] == {"sharpe": 1.31}
    assert facets["pedigree_code"]["commit"] == "2" * 40
    assert facets["pedigree_environment"]["digest"] == digest("env-train-v1")
    # A dataset version is named as such on the inputs that are files of it.
    prepare = by_run[g.runs["prepare-v1"]][1]
    assert prepare["inputs"][0]["facets"]["pedigree_artifact"]["digest"] == digest(
        "date,close\n2024-01-02,185.64\n"
    )


def test_a_failed_run_ends_with_fail_and_its_error(project: Project) -> None:
    project.write("boom.py", "raise SystemExit('no prices for 2024-01-02')\n")
    project.commit("boom")
    assert project.pedigree("run", "--", PYTHON, "boom.py").code == 1
    res = project.pedigree("export", "last", "--format", "openlineage")
    assert res.code == 0, res.err
    events = [json.loads(line) for line in res.out.splitlines()]
    for e in events:
        validate(e)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[1]["run"]["facets"]["errorMessage"]["message"] == "exited with code 1"


def test_prov_json_loads_back_with_the_prov_package(any_project: Project) -> None:
    tracker = any_project.tracker()
    g = quant_pipeline(tracker)
    doc = tracker.reports.export(experiment="research", fmt="prov")
    text = json.dumps(doc)
    prov = ProvDocument.deserialize(content=text, format="json")
    records = list(prov.get_records())
    activities = [r for r in records if isinstance(r, ProvActivity)]
    assert len(activities) == len(g.runs)
    entities = {str(r.identifier): r for r in records if isinstance(r, ProvEntity)}
    model = f"artifact:{digest('model from v1').partition(':')[2]}"
    assert any(k.endswith(digest("model from v1").partition(":")[2]) for k in entities)
    assert any(isinstance(r, ProvAgent) for r in records)
    kinds = {type(r) for r in records}
    assert {ProvUsage, ProvGeneration, ProvAssociation, ProvDerivation} <= kinds
    generated = [
        r
        for r in records
        if isinstance(r, ProvGeneration) and str(r.args[0]).endswith(model.split(":")[1])
    ]
    assert len(generated) == 1
    assert str(generated[0].args[1]).endswith(g.runs["train-v1"])
    # Derivations follow the pipeline: the model from the features, the features from raw prices.
    derived = {
        (str(r.args[0]).rsplit(":", 1)[-1], str(r.args[1]).rsplit(":", 1)[-1])
        for r in records
        if isinstance(r, ProvDerivation)
    }
    features = digest("features from v1").partition(":")[2]
    assert (model.split(":")[1], features) in derived
    assert (features, digest("date,close\n2024-01-02,185.64\n").partition(":")[2]) in derived
    # And it round-trips through the library's own serialiser.
    again = ProvDocument.deserialize(content=prov.serialize(format="json"), format="json")
    assert again == prov


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []
    status = 201

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        type(self).received.append((self.path, body))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"{}" if type(self).status < 400 else b"collector is down")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, type[_Collector]]]:
    handler = type("Handler", (_Collector,), {"received": [], "status": 201})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_emit_posts_events_to_a_marquez_shaped_endpoint(
    project: Project, collector: tuple[str, type[_Collector]]
) -> None:
    url, handler = collector
    project.write("ok.py", "print('fine')\n")
    project.commit("ok")
    assert project.pedigree("run", "--", PYTHON, "ok.py").code == 0
    res = project.pedigree("export", "last", "--emit", url)
    assert res.code == 0, res.err
    assert "sent 2 OpenLineage event(s)" in res.err
    assert [p for p, _ in handler.received] == ["/api/v1/lineage", "/api/v1/lineage"]
    assert [b["eventType"] for _, b in handler.received] == ["START", "COMPLETE"]
    for _, body in handler.received:
        validate(body)
    handler.status = 500
    res = project.pedigree("export", "last", "--emit", url)
    assert res.code == 7
    assert "refused event 1 of 2: HTTP 500: collector is down" in res.err
    res = project.pedigree("export", "last", "--emit", "http://127.0.0.1:9")
    assert res.code == 7
    assert "cannot reach http://127.0.0.1:9/api/v1/lineage" in res.err


def test_bad_export_requests(project: Project) -> None:
    res = project.pedigree("export", "--format", "prov")
    assert res.code == 2
    assert "export one RUN or one --experiment" in res.err
    res = project.pedigree("export", "--experiment", "nothing")
    assert res.code == 2
    assert "has no runs" in res.err
