"""One log_run sample, in a fresh process: ``python logrun_worker.py SIDE MODE N``.

SIDE is ``pedigree`` or ``mlflow``, MODE ``per-step`` or ``batched``. The working directory is a
small committed git repository holding this script (both trackers capture it as the code) and
the side's store. The script logs one untimed warm-up run, then N timed runs, each with
50 params, 20 metrics x 100 steps and 3 small files as artifacts, and prints one JSON object:
the seconds per run and the ids of the timed runs (the caller checks what was stored).
The warm-up run (params, one metric point, the artifacts) pays the first-use imports and caches
on both sides, so the timed runs show the steady state.

Both sides log the same values: metric ``m{k}`` at step ``s`` of run ``n`` is
``value(n, k, s)``; the artifacts of run ``n`` are ``arts/r{n}/{a.txt,b.json,c.csv}``.
"""

from __future__ import annotations

import json
import os
import sys
import time

PARAMS = {f"p{i:02d}": i * 1.5 for i in range(50)}
METRICS = [f"m{k:02d}" for k in range(20)]
STEPS = 100
ARTIFACTS = (("a.txt", 1024), ("b.json", 4096), ("c.csv", 16384))


def value(n: int, k: int, s: int) -> float:
    return n * 1000.0 + k * 0.25 + s * 0.001


def artifacts(n: int) -> list[str]:
    folder = os.path.join("arts", f"r{n}")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, size in ARTIFACTS:
        path = os.path.join(folder, name)
        line = f"run {n} file {name} ".encode()
        with open(path, "wb") as f:
            f.write((line * (size // len(line) + 1))[:size])
        paths.append(path)
    return paths


def pedigree_run(n: int, mode: str, files: list[str]) -> str:
    import pedigree

    with pedigree.start_run(experiment="bench", name=f"r{n}") as run:
        run.log_params(PARAMS)
        if mode == "warm-up":
            run.log_metric(METRICS[0], 0.0, step=0)
        elif mode == "per-step":
            for s in range(STEPS):
                for k, key in enumerate(METRICS):
                    run.log_metric(key, value(n, k, s), step=s)
        else:
            for s in range(STEPS):
                run.log_metrics({key: value(n, k, s) for k, key in enumerate(METRICS)}, step=s)
        for path in files:
            run.produce(path)
    return run.id


def mlflow_run(n: int, mode: str, files: list[str]) -> str:
    import mlflow
    from mlflow.entities import Metric

    with mlflow.start_run(run_name=f"r{n}") as run:
        run_id = run.info.run_id
        mlflow.log_params(PARAMS)
        if mode == "warm-up":
            mlflow.log_metric(METRICS[0], 0.0, step=0)
        elif mode == "per-step":
            for s in range(STEPS):
                for k, key in enumerate(METRICS):
                    mlflow.log_metric(key, value(n, k, s), step=s)
        else:
            # log_batch takes at most 1,000 metrics per call: the whole run in two calls.
            ts = int(time.time() * 1000)
            points = [
                Metric(key, value(n, k, s), ts, s)
                for s in range(STEPS)
                for k, key in enumerate(METRICS)
            ]
            client = mlflow.MlflowClient()
            for i in range(0, len(points), 1000):
                client.log_batch(run_id, metrics=points[i : i + 1000])
        for path in files:
            mlflow.log_artifact(path)
    return run_id


def main(argv: list[str]) -> int:
    side, mode, n_runs = argv[0], argv[1], int(argv[2])
    if side == "mlflow":
        import mlflow

        artifact_root = os.path.abspath("mlartifacts")
        exp = mlflow.create_experiment("bench", artifact_location=f"file://{artifact_root}")
        mlflow.set_experiment(experiment_id=exp)
        one = mlflow_run
    else:
        one = pedigree_run
    files = {n: artifacts(n) for n in range(-1, n_runs)}
    one(-1, "warm-up", files[-1])  # a small untimed run: first-use imports and caches
    ids = []
    t0 = time.perf_counter()
    for n in range(n_runs):
        ids.append(one(n, mode, files[n]))
    seconds = (time.perf_counter() - t0) / n_runs
    print(json.dumps({"per_run_s": seconds, "ids": ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
