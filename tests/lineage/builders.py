"""Build lineage graphs in a real store by appending the events the data layer records.

Runs are made through the Tracker (create_run, end_run) and their files, folder manifests and
dataset versions with ``run.io``, ``tree.recorded`` and ``dataset.versioned`` events, exactly as
``pedigree run`` and ``pedigree data add`` record them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pedigree.api import Tracker
from pedigree.digest import hash_bytes
from pedigree.store.events import (
    DatasetVersioned,
    Event,
    ReproductionRecorded,
    RunCaptured,
    RunIO,
    RunMetrics,
    TreeRecorded,
)

FileSpec = tuple[str, str]  # (path, content)


def digest(content: str) -> str:
    return str(hash_bytes(content.encode()))


def tree_digest(entries: dict[str, str]) -> str:
    """A stand-in manifest digest: any digest unique to the entries works for the graph."""
    body = "\n".join(f"{p}\0{digest(c)}" for p, c in sorted(entries.items()))
    return str(hash_bytes(("tree\n" + body).encode()))


@dataclass
class Graph:
    tracker: Tracker
    runs: dict[str, str] = field(default_factory=dict)  # name -> run id
    datasets: dict[str, str] = field(default_factory=dict)  # NAME@vN -> digest

    def dataset(self, name: str, version: int, path: str, entries: dict[str, str]) -> str:
        d = tree_digest(entries)
        self.tracker.ctx.append(
            [
                TreeRecorded(
                    digest=d,
                    entries=[[p, digest(c), len(c)] for p, c in sorted(entries.items())],
                ),
                DatasetVersioned(
                    name=name,
                    version=version,
                    digest=d,
                    kind="dir",
                    size=sum(len(c) for c in entries.values()),
                    file_count=len(entries),
                    path=path,
                    created_at=time.time(),
                    user="tester",
                    run_id=None,
                ),
            ]
        )
        self.datasets[f"{name}@v{version}"] = d
        return d

    def run(
        self,
        name: str,
        *,
        inputs: list[FileSpec] = (),  # type: ignore[assignment]
        outputs: list[FileSpec] = (),  # type: ignore[assignment]
        dir_inputs: list[tuple[str, str]] = (),  # type: ignore[assignment]  # (path, tree digest)
        metrics: dict[str, float] | None = None,
        params: dict[str, Any] | None = None,
        commit: str = "a" * 40,
        patch: str | None = None,
        env: str | None = None,
        experiment: str = "research",
        seed: int | None = None,
    ) -> str:
        t = self.tracker
        if patch is not None:
            t.objects.put_bytes(patch.encode())  # as capture stores it
        run_id = t.create_run(
            experiment=experiment,
            name=name,
            command=["python", f"{name}.py"],
            params=params,
            seed=seed,
        )
        items = [
            {"role": "input", "path": p, "digest": digest(c), "size": len(c), "kind": "file"}
            for p, c in inputs
        ]
        items += [
            {"role": "input", "path": p, "digest": d, "size": 0, "kind": "dir"}
            for p, d in dir_inputs
        ]
        items += [
            {"role": "output", "path": p, "digest": digest(c), "size": len(c), "kind": "file"}
            for p, c in outputs
        ]
        events: list[Event] = [
            RunCaptured(
                run_id=run_id,
                code={
                    "commit": commit,
                    "branch": "main",
                    "remote": None,
                    "dirty": patch is not None,
                    "patch_digest": digest(patch) if patch is not None else None,
                    "extra": {"repo_root": str(t.project.root), "untracked": [], "notes": []},
                },
                environment_digest=env or digest(f"env-{name}"),
                invocation={"argv": ["python", f"{name}.py"], "cwd": ".", "env": {}},
            )
        ]
        if items:
            events.append(RunIO(run_id=run_id, items=items))
        if metrics:
            points = [[k, 0, v, time.time()] for k, v in metrics.items()]
            events.append(RunMetrics(run_id=run_id, points=points))
        t.end_run(run_id, "finished", exit_code=0, extra_events=events)
        self.runs[name] = run_id
        return run_id

    def reproduction(self, name: str, of: str, verdict: str) -> str:
        t = self.tracker
        run_id = t.create_run(experiment="research", name=name, kind="reproduction")
        t.end_run(run_id, "finished", exit_code=0)
        t.ctx.append(
            [
                ReproductionRecorded(
                    run_id=run_id, original_id=self.runs[of], verdict=verdict, details={}
                )
            ]
        )
        self.runs[name] = run_id
        return run_id


# The quant pipeline: raw prices -> prepare -> features -> train -> model, twice; the vendor
# corrected AAPL between the two versions of the raw dataset.
RAW_V1 = {
    "AAPL.csv": "date,close\n2024-01-02,185.64\n",
    "MSFT.csv": "date,close\n2024-01-02,370.87\n",
}
RAW_V2 = {**RAW_V1, "AAPL.csv": "date,close\n2024-01-02,185.46\n"}


def quant_pipeline(tracker: Tracker) -> Graph:
    g = Graph(tracker)
    g.dataset("prices", 1, "data/raw", RAW_V1)
    g.dataset("prices", 2, "data/raw", RAW_V2)
    g.run(
        "prepare-v1",
        inputs=[
            ("data/raw/AAPL.csv", RAW_V1["AAPL.csv"]),
            ("data/raw/MSFT.csv", RAW_V1["MSFT.csv"]),
        ],
        outputs=[("data/features.csv", "features from v1")],
        commit="1" * 40,
    )
    g.run(
        "train-v1",
        inputs=[("data/features.csv", "features from v1")],
        outputs=[("models/model.pkl", "model from v1")],
        metrics={"sharpe": 1.31},
        params={"window": 50},
        commit="2" * 40,
        patch="diff --git a/train.py b/train.py\n+fee = 2\n",
    )
    g.run(
        "prepare-v2",
        inputs=[
            ("data/raw/AAPL.csv", RAW_V2["AAPL.csv"]),
            ("data/raw/MSFT.csv", RAW_V2["MSFT.csv"]),
        ],
        outputs=[("data/features.csv", "features from v2")],
        commit="1" * 40,
    )
    g.run(
        "train-v2",
        inputs=[("data/features.csv", "features from v2")],
        outputs=[("models/model.pkl", "model from v2")],
        metrics={"sharpe": 1.12},
        params={"window": 50},
        commit="2" * 40,
    )
    g.reproduction("repro-train-v1", of="train-v1", verdict="identical")
    return g
