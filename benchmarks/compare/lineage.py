"""lineage: upstream and downstream queries to depth 10 on a synthetic graph (Pedigree alone).

MLflow has no lineage query at all (a run's inputs are a flat list of datasets, nothing links
a run to the runs that made them) and DVC's ``dag`` shows the stages of one pipeline file, not
which runs and artifact versions led to a result; so there is nothing to set beside these
figures, and the table says so.

The graph and its loader are ``benchmarks/bench_lineage.py``'s (runs in projects of 200, each
writing 4 outputs and reading 1 to 3 outputs of recent runs, plus files of dataset versions),
bulk-loaded into a fresh SQLite store; the default 200,000 runs give its full million nodes.
Each sample is ``tracker.lineage.graph(TARGET, direction=..., depth=10)``, the object
``pedigree lineage TARGET --up|--down --depth 10 --json`` prints, for the next of a fixed set of
targets (runs from the later half for upstream, outputs that other runs read for
downstream).

Every answer is checked against a breadth-first walk done here in Python over the generated rows:
the same runs and the same file artifacts within depth 10.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from itertools import cycle
from pathlib import Path
from typing import Any

from .harness import Case, Side, alternate, expect

WORKLOAD = "lineage"
DEPTH = 10


class Graph:
    """The generated rows as adjacency maps: run -> inputs, artifact -> producers / readers."""

    def __init__(self, total_runs: int) -> None:
        from benchmarks.bench_lineage import generate

        self.inputs: dict[str, list[str]] = defaultdict(list)
        self.outputs: dict[str, list[str]] = defaultdict(list)
        self.producers: dict[str, list[str]] = defaultdict(list)
        self.readers: dict[str, list[str]] = defaultdict(list)
        for table, rows in generate(total_runs):
            if table != "run_io":
                continue
            for r in rows:
                if r["role"] == "input":
                    self.inputs[r["run_id"]].append(r["digest"])
                    self.readers[r["digest"]].append(r["run_id"])
                else:
                    self.outputs[r["run_id"]].append(r["digest"])
                    self.producers[r["digest"]].append(r["run_id"])

    def walk(self, start: tuple[str, str], direction: str) -> set[tuple[str, str]]:
        """Nodes within DEPTH steps: ("run", id) and ("artifact", digest)."""
        seen = {start}
        frontier = [start]
        for _ in range(DEPTH):
            nxt = []
            for kind, key in frontier:
                if kind == "run":
                    edges = self.inputs[key] if direction == "up" else self.outputs[key]
                    found = [("artifact", d) for d in edges]
                else:
                    edges = self.producers[key] if direction == "up" else self.readers[key]
                    found = [("run", r) for r in edges]
                for node in found:
                    if node not in seen:
                        seen.add(node)
                        nxt.append(node)
            frontier = nxt
        return seen


def _nodes(report: dict[str, Any]) -> set[tuple[str, str]]:
    out = set()
    for n in report["nodes"]:
        if n["kind"] == "run":
            out.add(("run", n["id"]))
        elif n["kind"] == "artifact" and n.get("type") != "dir":
            out.add(("artifact", n["digest"]))
    return out


def _side(tracker: Any, graph: Graph, targets: list[tuple[str, str]], direction: str) -> Side:
    expected = {t: graph.walk(t, direction) for t in targets}
    upcoming = cycle(targets)
    current: list[tuple[str, str]] = []

    def prepare() -> None:
        current[:] = [next(upcoming)]

    def run() -> dict[str, Any]:
        result: dict[str, Any] = tracker.lineage.graph(
            current[0][1], direction=direction, depth=DEPTH
        )
        return result

    def check(report: dict[str, Any]) -> None:
        want = expected[current[0]]
        got = _nodes(report)
        expect(
            got == want,
            f"{direction}stream of {current[0][1][:13]}: {len(got)} nodes, expected {len(want)}"
            f" (missing {len(want - got)}, extra {len(got - want)})",
        )

    return Side("pedigree", run=run, check=check, prepare=prepare, role="subject")


def run(
    work: Path, *, warmup: int, lineage_runs: int, lineage_samples: int, **_: object
) -> list[Case]:
    from benchmarks import bench_lineage as bl
    from pedigree.api import Tracker
    from pedigree.config import Project
    from pedigree.store import open_store

    root = work / "lineage"
    root.mkdir(parents=True, exist_ok=True)
    store = open_store(f"sqlite:///{root / 'store.db'}")
    try:
        loaded = bl.load(store, lineage_runs)
        graph = Graph(lineage_runs)
        tracker = Tracker(Project(root, {}), store=store)
        rng = random.Random(11)
        total = int(loaded.get("rows_runs", lineage_runs))
        ups = [
            ("run", bl._run_id(rng.randrange(total // 2, total))) for _ in range(lineage_samples)
        ]
        # Outputs that some run read (most synthetic outputs have no reader: a trivial walk).
        read = sorted(d for d in graph.readers if graph.producers.get(d))
        downs = [("artifact", rng.choice(read)) for _ in range(lineage_samples)]
        nodes = total * (1 + bl.OUTPUTS_PER_RUN)
        scale = f"{total:,} runs, {nodes:,} nodes"
        cases = []
        make: list[tuple[str, Callable[[], Side]]] = [
            ("upstream of a run", lambda: _side(tracker, graph, ups, "up")),
            ("downstream of an artifact", lambda: _side(tracker, graph, downs, "down")),
        ]
        for label, side in make:
            case = alternate(
                WORKLOAD,
                f"{label}, depth {DEPTH} ({scale})",
                [side()],
                pairs=lineage_samples,
                warmup=warmup,
                unit="query",
                note="seconds per query (lineage_report, what `pedigree lineage --json` prints);"
                " no equivalent in MLflow or DVC",
            )
            case.extra.update(runs=total, nodes=nodes, load_s=loaded.get("load_s"))
            cases.append(case)
        return cases
    finally:
        store.close()
