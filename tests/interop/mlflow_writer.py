"""Write an MLflow store with the real MLflow client (run as a script, in its own process).

Usage: python mlflow_writer.py TRACKING_URI ARTIFACT_ROOT OUT_JSON [--broken] [--runs N]

Writes two experiments (churn: a finished, a failed, a killed and a still-running run; fraud:
one finished run), artifacts (files, a nested folder, a model folder), full metric histories
with explicit times, steps logged twice and a NaN, and a registered model with two versions and
two aliases. Prints (into OUT_JSON) what it wrote, for the test to compare. ``--broken``
replaces one artifact of the failed run by a dangling symlink: that run cannot be read whole.
``--runs N`` instead writes N finished runs of 5 metrics x 100 steps (the benchmark).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# MLflow is imported by main() only: pytest's doctest collection imports this module too.
QUIET = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "MLFLOW_ALLOW_FILE_STORE": "true",
}
T0 = 1_700_000_000_000  # ms
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _files(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def rich(client: Any, artifacts: Path, scratch: Path, broken: bool) -> dict[str, Any]:
    from mlflow.entities import Metric, Param

    out: dict[str, Any] = {"runs": {}}
    churn = client.create_experiment("churn", artifact_location=(artifacts / "churn").as_uri())
    fraud = client.create_experiment("fraud", artifact_location=(artifacts / "fraud").as_uri())

    def run(exp: str, name: str, user: str, start: int, tags: dict[str, str]) -> str:
        r = client.create_run(
            exp, start_time=start, tags={"mlflow.user": user, **tags}, run_name=name
        )
        return r.info.run_id

    # churn / baseline: finished, everything
    a = run(
        churn,
        "baseline",
        "alice",
        T0,
        {"team": "risk", "mlflow.source.git.commit": COMMIT, "mlflow.source.git.branch": "main"},
    )
    loss = [Metric("loss", 1.0 / (i + 1), T0 + 1000 * i, i) for i in range(100)]
    acc = [
        Metric("acc", 0.5, T0 + 10, 0),
        Metric("acc", float("nan"), T0 + 20, 1),
        Metric("acc", 0.75, T0 + 30, 1),  # step 1 logged twice
        Metric("acc", 0.9, T0 + 40, 2),
    ]
    client.log_batch(a, metrics=loss + acc, params=[Param("lr", "0.1"), Param("depth", "5")])
    src = _files(
        scratch / "a",
        {
            "report.txt": b"auc 0.91\n",
            "plots/roc/curve.bin": bytes(range(256)),
            "plots/pr.csv": b"p,r\n1,0\n",
            "model/MLmodel": b"flavors: {}\n",
            "model/weights.bin": b"\x00\x01\x02weights",
        },
    )
    client.log_artifact(a, str(src / "report.txt"))
    client.log_artifacts(a, str(src / "plots"), artifact_path="plots")
    client.log_artifacts(a, str(src / "model"), artifact_path="model")
    client.set_terminated(a, "FINISHED", end_time=T0 + 120_000)

    # churn / deeper: failed, with an artifact (the one --broken breaks)
    b = run(churn, "deeper", "bob", T0 + 200_000, {})
    client.log_batch(
        b, metrics=[Metric("loss", 0.4, T0 + 200_500, 0)], params=[Param("lr", "0.01")]
    )
    src = _files(scratch / "b", {"notes.txt": b"diverged\n", "keep.txt": b"kept\n"})
    client.log_artifact(b, str(src / "notes.txt"))
    client.log_artifact(b, str(src / "keep.txt"))
    client.set_terminated(b, "FAILED", end_time=T0 + 230_000)

    # churn / stopped: killed, no metrics
    c = run(churn, "stopped", "alice", T0 + 300_000, {})
    client.log_param(c, "lr", "1.0")
    client.set_terminated(c, "KILLED", end_time=T0 + 301_000)

    # churn / live: still running
    d = run(churn, "live", "alice", T0 + 400_000, {})
    client.log_metric(d, "loss", 0.3, timestamp=T0 + 400_100, step=0)

    # fraud / first: finished, a model of its own
    e = run(fraud, "first", "carol", T0 + 500_000, {"mlflow.source.git.commit": COMMIT})
    client.log_metric(e, "f1", 0.66, timestamp=T0 + 500_100, step=7)
    src = _files(scratch / "e", {"model/MLmodel": b"flavors: {e}\n", "model/w.bin": b"eeee"})
    client.log_artifacts(e, str(src / "model"), artifact_path="model")
    client.set_terminated(e, "FINISHED", end_time=T0 + 510_000)

    client.create_registered_model("churn-model", description="predicts churn")
    v1 = client.create_model_version(
        "churn-model", f"runs:/{a}/model", run_id=a, description="the baseline"
    )
    v2 = client.create_model_version("churn-model", f"runs:/{e}/model", run_id=e)
    client.set_registered_model_alias("churn-model", "champion", v2.version)
    client.set_registered_model_alias("churn-model", "production", v1.version)

    if broken:
        info = client.get_run(b).info
        path = Path(info.artifact_uri.removeprefix("file://")) / "notes.txt"
        path.unlink()
        path.symlink_to(path.parent / "gone.txt")

    out["runs"] = {"baseline": a, "deeper": b, "stopped": c, "live": d, "first": e}
    out["experiments"] = {"churn": churn, "fraud": fraud}
    out["commit"] = COMMIT
    out["t0"] = T0
    return out


def many(client: Any, artifacts: Path, n: int) -> dict[str, Any]:
    from mlflow.entities import Metric, Param, RunTag

    exp = client.create_experiment("bench", artifact_location=(artifacts / "bench").as_uri())
    ids = []
    for i in range(n):
        r = client.create_run(
            exp,
            start_time=T0 + i * 1000,
            run_name=f"trial-{i}",
            tags={"mlflow.source.git.commit": COMMIT},
        )
        metrics = [
            Metric(f"m{k}", float(i + k + s / 100), T0 + i * 1000 + s, s)
            for k in range(5)
            for s in range(100)
        ]
        params = [Param(f"p{k}", str(i * k)) for k in range(10)]
        client.log_batch(
            r.info.run_id, metrics=metrics, params=params, tags=[RunTag("trial", str(i))]
        )
        client.set_terminated(r.info.run_id, "FINISHED", end_time=T0 + i * 1000 + 500)
        ids.append(r.info.run_id)
    return {"runs": ids}


def main() -> None:
    os.environ.update(QUIET)
    from mlflow import MlflowClient

    uri, artifacts, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    if "--runs" in sys.argv:
        found = many(client, artifacts, int(sys.argv[sys.argv.index("--runs") + 1]))
    else:
        found = rich(client, artifacts, out.parent / "scratch", "--broken" in sys.argv)
    out.write_text(json.dumps(found))


if __name__ == "__main__":
    main()
