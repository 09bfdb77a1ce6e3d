"""Lineage walks on SQLite and PostgreSQL: multi-hop, datasets and their files, reproductions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Project
from tests.lineage.builders import RAW_V1, RAW_V2, Graph, digest, quant_pipeline

from pedigree.errors import InvalidInput, NotFound
from pedigree.lineage import NodeRef, reach, walk


def ids(report: dict[str, Any], kind: str) -> set[str]:
    return {n["id"] for n in report["nodes"] if n["kind"] == kind}


def names(report: dict[str, Any]) -> set[str]:
    return {n["name"] for n in report["nodes"] if n["kind"] == "run"}


def datasets(report: dict[str, Any]) -> set[str]:
    return {d for n in report["nodes"] if n["kind"] == "artifact" for d in n["datasets"]}


def test_upstream_of_a_model_leads_back_to_the_raw_prices(any_project: Project) -> None:
    tracker = any_project.tracker()
    g = quant_pipeline(tracker)
    report = tracker.lineage.graph(g.runs["train-v1"], direction="up")
    assert names(report) == {"train-v1", "prepare-v1"}
    # prepare-v1 read AAPL at v1's bytes and MSFT at bytes both versions hold.
    assert datasets(report) == {"prices@v1", "prices@v2"}
    assert digest(RAW_V1["AAPL.csv"]) in ids(report, "artifact")
    assert digest(RAW_V2["AAPL.csv"]) not in ids(report, "artifact")
    runs = {n["name"]: n for n in report["nodes"] if n["kind"] == "run"}
    # Each run's code and environment are part of its upstream.
    assert runs["prepare-v1"]["code"]["commit"] == "1" * 40
    assert runs["train-v1"]["code"]["patch_digest"] == digest(
        "diff --git a/train.py b/train.py\n+fee = 2\n"
    )
    assert runs["train-v1"]["environment_digest"] == digest("env-train-v1")
    # Distances count steps: train <- features <- prepare <- raw file, and the dataset holding it.
    dist = {
        n.get("name") or (n.get("datasets") or n["paths"])[0]: n["distance"]
        for n in report["nodes"]
    }
    assert dist["train-v1"] == 0
    assert dist["prepare-v1"] == 2
    assert dist["prices@v1"] == 3
    edges = {(e["from"]["id"], e["to"]["id"], e["rel"], e["part"]) for e in report["edges"]}
    assert (g.datasets["prices@v1"], g.runs["prepare-v1"], "used", True) in edges
    assert (g.runs["prepare-v1"], digest("features from v1"), "generated", False) in edges


def test_a_path_names_every_version_recorded_there(any_project: Project) -> None:
    tracker = any_project.tracker()
    g = quant_pipeline(tracker)
    report = tracker.lineage.graph("models/model.pkl", direction="up")
    roots = {n["id"] for n in report["nodes"] if n["root"]}
    assert roots == {digest("model from v1"), digest("model from v2")}
    assert names(report) == {"train-v1", "train-v2", "prepare-v1", "prepare-v2"}
    # An absolute path inside the project means the same.
    again = tracker.lineage.graph(str(any_project.root / "models/model.pkl"), direction="up")
    assert ids(again, "run") == ids(report, "run")
    assert g.runs["repro-train-v1"] not in ids(report, "run")


def test_downstream_of_a_dataset_version_reaches_runs_that_read_its_files(
    any_project: Project,
) -> None:
    tracker = any_project.tracker()
    g = quant_pipeline(tracker)
    down_v2 = tracker.lineage.graph("prices@v2", direction="down")
    # prepare-v1 read MSFT.csv at bytes v2 also holds; both pipelines descend from v2.
    assert names(down_v2) >= {"prepare-v2", "train-v2", "prepare-v1", "train-v1"}
    assert digest("model from v2") in ids(down_v2, "artifact")
    # The reproduction of train-v1 is downstream of it.
    assert "repro-train-v1" in names(down_v2)
    # By digest: only what read those exact bytes.
    down_aapl = tracker.lineage.graph(digest(RAW_V1["AAPL.csv"]), direction="down")
    assert names(down_aapl) == {"prepare-v1", "train-v1", "repro-train-v1"}
    rel = {(e["from"]["id"], e["to"]["id"]): e["rel"] for e in down_aapl["edges"]}
    assert rel[(g.runs["train-v1"], g.runs["repro-train-v1"])] == "reproduced"


def test_a_copy_of_the_bytes_elsewhere_is_not_a_file_of_the_dataset(any_project: Project) -> None:
    tracker = any_project.tracker()
    g = Graph(tracker)
    g.dataset("prices", 1, "data/raw", RAW_V1)
    g.run("reader", inputs=[("data/raw/AAPL.csv", RAW_V1["AAPL.csv"])])
    g.run("copier", inputs=[("backup/old_prices.csv", RAW_V1["AAPL.csv"])])
    down = tracker.lineage.graph("prices@v1", direction="down")
    assert names(down) == {"reader"}
    # Same bytes: downstream of the digest all the same.
    assert names(tracker.lineage.graph(digest(RAW_V1["AAPL.csv"]), direction="down")) == {
        "reader",
        "copier",
    }
    up = tracker.lineage.graph(g.runs["copier"], direction="up")
    assert datasets(up) == set()


def test_a_folder_is_not_a_shortcut_between_its_files(any_project: Project) -> None:
    """A run that read one file of a dataset does not descend from who wrote another file."""
    tracker = any_project.tracker()
    g = Graph(tracker)
    g.run("make-a", outputs=[("feat/a.csv", "A")])
    g.run("make-b", outputs=[("feat/b.csv", "B")])
    g.dataset("features", 1, "feat", {"a.csv": "A", "b.csv": "B"})
    g.run("use-a", inputs=[("feat/a.csv", "A")])
    up = tracker.lineage.graph(g.runs["use-a"], direction="up")
    assert names(up) == {"use-a", "make-a"}
    assert datasets(up) == {"features@v1"}
    # The dataset version as a whole comes from both writers...
    assert names(tracker.lineage.graph("features@v1", direction="up")) == {"make-a", "make-b"}
    # ...and what make-b wrote reaches use-a only through the file use-a did not read: no.
    assert names(tracker.lineage.graph(g.runs["make-b"], direction="down")) == {"make-b"}
    assert datasets(tracker.lineage.graph(g.runs["make-b"], direction="down")) == {"features@v1"}


def test_a_whole_folder_input_links_by_its_digest(any_project: Project) -> None:
    tracker = any_project.tracker()
    g = Graph(tracker)
    d = g.dataset("prices", 1, "data/raw", RAW_V1)
    g.run("backtest", dir_inputs=[("data/raw", d)], outputs=[("report.txt", "r")])
    down = tracker.lineage.graph("prices@v1", direction="down")
    assert names(down) == {"backtest"}
    up = tracker.lineage.graph("report.txt", direction="up")
    assert datasets(up) == {"prices@v1"}


def test_depth_limits_the_walk_and_says_so(any_project: Project) -> None:
    tracker = any_project.tracker()
    g = quant_pipeline(tracker)
    one = tracker.lineage.graph(g.runs["train-v1"], direction="up", depth=1)
    assert ids(one, "run") == {g.runs["train-v1"]}
    assert ids(one, "artifact") == {digest("features from v1")}
    assert one["truncated"] is True
    full = tracker.lineage.graph(g.runs["train-v1"], direction="up", depth=10)
    assert full["truncated"] is False
    with pytest.raises(InvalidInput):
        tracker.lineage.graph(g.runs["train-v1"], direction="up", depth=0)


def test_cycles_end(any_project: Project) -> None:
    """Identical bytes written again close a cycle; walks still end."""
    tracker = any_project.tracker()
    g = Graph(tracker)
    g.run("a", inputs=[("x", "X")], outputs=[("y", "Y")])
    g.run("b", inputs=[("y", "Y")], outputs=[("x", "X")])
    g.run("c", inputs=[("x", "X")], outputs=[("x", "X")])
    with tracker.store.read() as conn:
        found = reach(conn, [NodeRef("run", g.runs["a"])], direction="down")
        assert {n.key for n in found if n.kind == "run"} == set(g.runs.values())
        graph = walk(conn, [NodeRef("run", g.runs["a"])], direction="up")
        assert {n.key for n in graph.distance if n.kind == "run"} == set(g.runs.values())
        assert graph.distance[NodeRef("run", g.runs["b"])] == 2


def test_ancestry_is_transitive(any_project: Project) -> None:
    """Everything upstream of an upstream node is upstream of the start."""
    tracker = any_project.tracker()
    g = quant_pipeline(tracker)
    with tracker.store.read() as conn:
        for name, rid in g.runs.items():
            up = reach(conn, [NodeRef("run", rid)], direction="up")
            for node in up:
                assert reach(conn, [node], direction="up") <= up, (name, node)
                # And the start is downstream of each of its ancestors.
                assert NodeRef("run", rid) in reach(conn, [node], direction="down")


def test_unknown_targets_say_what_was_looked_for(any_project: Project, tmp_path: Path) -> None:
    tracker = any_project.tracker()
    quant_pipeline(tracker)
    with pytest.raises(NotFound, match=r"nothing is recorded at data/nope\.csv"):
        tracker.lineage.graph("data/nope.csv", direction="up")
    with pytest.raises(NotFound, match="no version 7 of dataset 'prices' \\(the latest is v2\\)"):
        tracker.lineage.graph("prices@v7", direction="up")
    with pytest.raises(NotFound, match="no dataset named 'volumes'"):
        tracker.lineage.graph("volumes@v1", direction="up")
    with pytest.raises(NotFound, match="no run read or wrote blake3:"):
        tracker.lineage.graph("blake3:" + "0" * 64, direction="up")
    with pytest.raises(InvalidInput, match="not a digest"):
        tracker.lineage.graph("blake3:xyz", direction="up")
    with pytest.raises(NotFound):
        tracker.lineage.graph("deadbeef", direction="up")
    with pytest.raises(InvalidInput, match="outside the project"):
        tracker.lineage.graph(str(tmp_path / "elsewhere.csv"), direction="up")


def test_impact_walk_over_runs_finds_what_the_node_walk_finds(any_project: Project) -> None:
    """``downstream_runs`` + ``run_outputs`` (impact's fast path) equal ``reach`` downstream."""
    tracker = any_project.tracker()
    g = quant_pipeline(tracker)
    g.run("make-a", outputs=[("feat/a.csv", "A")])
    g.run("make-b", outputs=[("feat/b.csv", "B")])
    g.dataset("features", 1, "feat", {"a.csv": "A", "b.csv": "B"})
    g.run("use-a", inputs=[("feat/a.csv", "A")], outputs=[("y.csv", "Y")])
    g.run("use-all", dir_inputs=[("feat", g.datasets["features@v1"])])
    with tracker.store.read() as conn:
        starts = [NodeRef("artifact", d) for d in g.datasets.values()]
        starts += [NodeRef("run", r) for r in g.runs.values()]
        starts += [NodeRef("artifact", digest(c)) for c in ("A", "B", "Y", "features from v1")]
        for start in starts:
            found = reach(conn, [start], direction="down")
            runs = conn.downstream_runs([start])
            assert runs == {n.key for n in found if n.kind == "run"}, start
            arts = conn.run_outputs(sorted(runs)) | (
                {start.key} if start.kind == "artifact" else set()
            )
            assert arts == {n.key for n in found if n.kind == "artifact"}, start
