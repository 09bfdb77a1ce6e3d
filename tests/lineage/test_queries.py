"""The lineage SQL against a reference walk in Python, on random graphs, on both backends.

Each graph has every kind of edge: files and folders read and written, folders holding files at
suffix-matching paths (and copies elsewhere that do not match), dataset versions with and
without a producing run, reproductions, and cycles. The reference implements the rules of
``lineage.graph`` directly: a folder reached through a file of it (a ``part`` edge) does not
lead on through another part edge.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.conftest import Project

from pedigree.lineage import NodeRef, reach, walk
from pedigree.lineage.graph import Edge
from pedigree.store import edges
from pedigree.store import schema as t
from pedigree.store.reader import Reader

State = tuple[NodeRef, bool]  # a node, and whether it was reached through a part edge


def _ends_with(full: str, tail: str) -> bool:
    return full == tail or full.endswith("/" + tail)


@dataclass
class Rows:
    """A random graph, as the rows of the tables lineage reads."""

    runs: list[str] = field(default_factory=list)
    io: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    reproductions: list[dict[str, Any]] = field(default_factory=list)

    def digests(self) -> list[str]:
        found = {r["digest"] for r in self.io} | {e["tree_digest"] for e in self.entries}
        return sorted(found | {e["digest"] for e in self.entries})

    # -- the reference ---------------------------------------------------------------------------

    def steps(self, state: State, direction: str) -> list[tuple[State, Edge]]:
        """The neighbours of ``state`` and the edge to each, in the direction data flows."""
        (node, blocked), out = state, []

        def add(to: NodeRef, rel: str, path: str | None, part: bool, *, into_part: bool) -> None:
            src, dst = (node, to) if direction == "down" else (to, node)
            out.append(((to, into_part), Edge(src, dst, rel, path, part)))

        run, art = (node.key, None) if node.kind == "run" else (None, node.key)
        flow = "output" if direction == "down" else "input"  # what a run's step starts from
        back = "input" if direction == "down" else "output"  # what an artifact's step starts from
        forward_rel = "generated" if direction == "down" else "used"
        back_rel = "used" if direction == "down" else "generated"
        for r in self.io:
            if run is not None and r["run_id"] == run and r["role"] == flow:
                add(
                    NodeRef("artifact", r["digest"]), forward_rel, r["path"], False, into_part=False
                )
                for e in self.entries:
                    if e["digest"] == r["digest"] and _ends_with(r["path"], e["path"]):
                        to = NodeRef("artifact", e["tree_digest"])
                        add(to, forward_rel, r["path"], True, into_part=True)
            if art is not None and r["digest"] == art and r["role"] == back:
                add(NodeRef("run", r["run_id"]), back_rel, r["path"], False, into_part=False)
        if art is not None and not blocked:
            for e in self.entries:
                if e["tree_digest"] != art:
                    continue
                for r in self.io:
                    if (
                        r["role"] == back
                        and r["digest"] == e["digest"]
                        and _ends_with(r["path"], e["path"])
                    ):
                        add(NodeRef("run", r["run_id"]), back_rel, r["path"], True, into_part=False)
        for ds in self.datasets:
            if ds["run_id"] is None:
                continue
            if direction == "down" and run is not None and ds["run_id"] == run:
                add(
                    NodeRef("artifact", ds["digest"]),
                    "generated",
                    ds["path"],
                    False,
                    into_part=False,
                )
            if direction == "up" and art is not None and ds["digest"] == art:
                add(NodeRef("run", ds["run_id"]), "generated", ds["path"], False, into_part=False)
        for rp in self.reproductions:
            if run is None:
                continue
            if direction == "down" and rp["original_id"] == run:
                add(NodeRef("run", rp["run_id"]), "reproduced", None, False, into_part=False)
            if direction == "up" and rp["run_id"] == run:
                add(NodeRef("run", rp["original_id"]), "reproduced", None, False, into_part=False)
        return out

    def walk(
        self, start: NodeRef, direction: str, depth: int
    ) -> tuple[dict[NodeRef, int], set[Edge]]:
        """Breadth first over (node, blocked) states: each node's distance, the edges taken."""
        seen: dict[State, int] = {(start, False): 0}
        queue = deque([(start, False)])
        edges: set[Edge] = set()
        while queue:
            state = queue.popleft()
            if seen[state] >= depth:
                continue
            for nxt, edge in self.steps(state, direction):
                edges.add(edge)
                if nxt not in seen:
                    seen[nxt] = seen[state] + 1
                    queue.append(nxt)
        distance: dict[NodeRef, int] = {}
        for (node, _), d in seen.items():
            distance[node] = min(d, distance.get(node, d))
        return distance, edges


def random_graph(seed: int) -> Rows:
    rng = random.Random(seed)
    g = Rows()
    files = [f"blake3:{seed:02x}f{i:061x}" for i in range(24)]
    names = ["a.csv", "b.csv", "c.csv", "sub/a.csv", "x_1.csv"]
    trees: list[tuple[str, dict[str, str]]] = []
    for k in range(5):
        tree = f"blake3:{seed:02x}d{k:061x}"
        content = {p: rng.choice(files) for p in rng.sample(names, rng.randint(1, 4))}
        trees.append((tree, content))
        g.entries += [
            {"tree_digest": tree, "path": p, "digest": d, "size": 1} for p, d in content.items()
        ]
    g.runs = [f"{seed:08x}-0000-7000-8000-{i:012x}" for i in range(16)]
    folders = ["data/raw", "raw", "elsewhere", "data"]

    def artifact() -> tuple[str, str, str]:
        """(path, digest, kind): a file of a folder (at a matching path or not), a folder, or a
        plain file."""
        tree, content = rng.choice(trees)
        choice = rng.random()
        if choice < 0.4:
            path, d = rng.choice(sorted(content.items()))
            return f"{rng.choice(folders)}/{path}", d, "file"
        if choice < 0.6:
            return rng.choice(folders), tree, "dir"
        return f"out/{rng.randrange(6)}.bin", rng.choice(files), "file"

    for run in g.runs:
        for role in ("input", "output"):
            used: set[str] = set()
            for _ in range(rng.randint(0, 3)):
                path, d, kind = artifact()
                if path in used:
                    continue
                used.add(path)
                g.io.append(
                    {
                        "run_id": run,
                        "role": role,
                        "path": path,
                        "digest": d,
                        "size": 1,
                        "kind": kind,
                        "declared": False,
                        "modified": False,
                    }
                )
    for v, (tree, content) in enumerate(trees):
        producer = rng.choice([None, *g.runs[:8]])
        g.datasets.append(
            {
                "name": f"ds{v % 2}",
                "version": v + 1,
                "digest": tree,
                "kind": "dir",
                "size": len(content),
                "file_count": len(content),
                "path": rng.choice(folders),
                "created_at": 0.0,
                "user": "t",
                "run_id": producer,
            }
        )
    for original, copy in zip(rng.sample(g.runs, 2), rng.sample(g.runs, 2), strict=True):
        if original != copy and copy not in {r["run_id"] for r in g.reproductions}:
            g.reproductions.append(
                {"run_id": copy, "original_id": original, "verdict": "identical", "details": "{}"}
            )
    return g


def load(project: Project, g: Rows) -> Any:
    store = project.tracker().store
    runs = [
        {
            "id": r,
            "experiment": "e",
            "name": f"r{i}",
            "kind": "run",
            "status": "finished",
            "started_at": float(i),
        }
        for i, r in enumerate(g.runs[:-1])  # the last one is known from run_io only
    ]
    with store.engine.begin() as conn:
        for table, rows in (
            (t.runs, runs),
            (t.run_io, g.io),
            (t.tree_entries, g.entries),
            (t.datasets, g.datasets),
            (t.reproductions, g.reproductions),
        ):
            if rows:
                conn.execute(table.insert(), rows)
        metrics = [
            {"run_id": r, "key": "m", "step": 0, "value": 1.0, "ts": 0.0} for r in g.runs[:4]
        ]
        conn.execute(t.latest_metrics.insert(), metrics)
        # Loaded past the projectors: the run-to-run edges from the rows, as a migration does.
        edges.rebuild(conn)
    return store


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_walks_match_the_reference(any_project: Project, seed: int) -> None:
    g = random_graph(seed)
    store = load(any_project, g)
    starts = [NodeRef("run", r) for r in g.runs] + [NodeRef("artifact", d) for d in g.digests()]
    with store.read() as conn:
        for start in starts:
            for direction in ("up", "down"):
                everything, _ = g.walk(start, direction, 10**6)
                assert reach(conn, [start], direction=direction) == set(everything), start
                for depth in (1, 2, 3, 50):
                    distance, edges = g.walk(start, direction, depth)
                    got = walk(conn, [start], direction=direction, depth=depth)
                    assert got.distance == distance, (start, direction, depth)
                    assert set(got.edges) == edges, (start, direction, depth)
                    assert len(got.edges) == len(edges)
                    frontier = [n for n, d in distance.items() if d >= depth]
                    more = any(g.steps((n, False), direction) for n in frontier)
                    assert got.truncated == more, (start, direction, depth)


def start_groups(g: Rows) -> list[list[NodeRef]]:
    """Every run and digest of ``g`` alone, and a few of them together."""
    starts = [NodeRef("run", r) for r in g.runs] + [NodeRef("artifact", d) for d in g.digests()]
    return [[s] for s in starts] + [starts[:3] + starts[-3:]]


def check_closure(reader: Reader, g: Rows, group: list[NodeRef]) -> tuple[Any, set[str]]:
    """The impact closure of ``group`` is the reference walk's; returns it and its runs."""
    expected: set[NodeRef] = set()
    for start in group:
        expected |= set(g.walk(start, "down", 10**6)[0])
    runs = {n.key for n in expected if n.kind == "run"}
    artifacts = {n.key for n in expected if n.kind == "artifact"}
    found = reader.affected(group)
    assert set(found.runs) == runs, group
    given = {n.key for n in group if n.kind == "artifact"}
    assert found.artifacts.keys() | found.other | given == artifacts, group
    assert not found.artifacts.keys() & found.other
    assert reader.downstream_runs(group) == runs, group
    assert reader.run_outputs(sorted(runs)) | given == artifacts, group
    return found, runs


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_impact_closure_matches_the_reference(any_project: Project, seed: int) -> None:
    g = random_graph(seed)
    store = load(any_project, g)
    with store.read() as conn:
        for group in start_groups(g):
            found, runs = check_closure(conn, g, group)
            # What impact shows of them: every output's paths, the metrics, the unknown run.
            for digest, rec in found.artifacts.items():
                paths = {r["path"] for r in g.io if r["role"] == "output" and r["digest"] == digest}
                assert rec["paths"], digest
                assert set(rec["paths"]) <= paths, digest
            assert {r for r, m in found.metrics.items() if m == {"m": 1.0}} == runs & set(
                g.runs[:4]
            )
            if g.runs[-1] in runs:
                assert found.runs[g.runs[-1]] is None


def test_a_start_with_nothing_downstream(any_project: Project) -> None:
    store = any_project.tracker().store
    with store.read() as conn:
        found = conn.affected([NodeRef("artifact", "blake3:" + "0" * 64)])
        assert (found.runs, found.artifacts, found.other) == ({}, {}, set())
        assert conn.affected([]).runs == {}
        assert conn.downstream_runs([]) == set()
        assert walk(conn, [], direction="up").distance == {}
        assert reach(conn, [], direction="down") == set()


def test_more_starts_than_one_statement_takes(project: Project) -> None:
    """Walks from more starts than one statement holds go in groups, with the same answer."""
    g = random_graph(5)
    store = load(project, g)
    many = [NodeRef("artifact", f"blake3:{i:064x}") for i in range(900)]
    starts = [*many, NodeRef("run", g.runs[0])]
    with store.read() as conn:
        together = reach(conn, starts, direction="down")
        assert together == set(many) | reach(conn, [NodeRef("run", g.runs[0])], direction="down")
        assert conn.affected(starts).runs.keys() == conn.downstream_runs(starts[-1:])
