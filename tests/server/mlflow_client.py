"""An MLflow user's script, unchanged: run with MLFLOW_TRACKING_URI pointing at the Pedigree team
server and MLFLOW_TRACKING_TOKEN a Pedigree token. It uses each call the endpoint serves and
prints what it read back as one JSON object (the test checks it against ``pedigree show``)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient


def main() -> None:
    out: dict[str, object] = {}
    mlflow.set_experiment("mlflow-compat")
    client = MlflowClient()
    work = Path(tempfile.mkdtemp())
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("window", 20)
        mlflow.log_params({"lr": 0.1, "model": "ridge"})
        mlflow.set_tag("stage", "candidate")
        mlflow.set_tags({"team": "quant", "owner": "rex"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"sharpe": 1.5, "acc": 0.9}, step=4)
        client.log_batch(
            parent.info.run_id,
            metrics=[Metric("batch_m", float(i), 1_700_000_000_000 + i, i) for i in range(10)],
            params=[Param("batch_p", "yes")],
            tags=[RunTag("batch_t", "on")],
        )
        (work / "report.txt").write_text("hello pedigree\n")
        mlflow.log_artifact(str(work / "report.txt"))
        (work / "plots").mkdir()
        (work / "plots" / "a.csv").write_text("x,y\n1,2\n")
        (work / "plots" / "b.csv").write_text("x,y\n3,4\n")
        mlflow.log_artifacts(str(work / "plots"), artifact_path="plots")
        mlflow.log_text("some text", "notes/readme.md")
        mlflow.log_dict({"a": 1, "b": [1, 2]}, "config.json")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [3, 1, 2])
        mlflow.log_figure(fig, "figure.png")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("loss", 0.5)
            out["child"] = child.info.run_id
    out["parent"] = parent.info.run_id
    out["experiment_id"] = parent.info.experiment_id

    run = mlflow.get_run(parent.info.run_id)
    out["status"] = run.info.status
    out["params"] = run.data.params
    out["metrics"] = run.data.metrics
    out["tags"] = dict(run.data.tags)
    out["user"] = run.info.user_id
    history = client.get_metric_history(parent.info.run_id, "loss")
    out["history"] = [[m.step, m.value] for m in history]
    out["artifacts"] = sorted((f.path, f.is_dir) for f in client.list_artifacts(parent.info.run_id))
    out["plots"] = sorted(f.path for f in client.list_artifacts(parent.info.run_id, "plots"))
    got = mlflow.artifacts.download_artifacts(
        run_id=parent.info.run_id, artifact_path="report.txt", dst_path=str(work / "dl")
    )
    out["downloaded"] = Path(got).read_text()
    folder = client.download_artifacts(parent.info.run_id, "plots", str(work / "dl2"))
    out["downloaded_dir"] = sorted(p.name for p in Path(folder).iterdir())
    out["loaded_dict"] = mlflow.artifacts.load_dict(f"runs:/{parent.info.run_id}/config.json")

    # a second run, then searches as MLflow parses them
    with mlflow.start_run(run_name="other"):
        mlflow.log_param("window", 50)
        mlflow.log_metric("sharpe", 0.5)
    frame = mlflow.search_runs(filter_string="metrics.sharpe > 1")
    out["search_sharpe"] = sorted(frame["run_id"].tolist())
    frame = mlflow.search_runs(filter_string="params.window = '50'")
    out["search_param"] = frame["tags.mlflow.runName"].tolist()
    frame = mlflow.search_runs(order_by=["metrics.sharpe DESC"])
    out["order"] = frame["tags.mlflow.runName"].tolist()
    frame = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    out["nested"] = frame["run_id"].tolist()
    frame = mlflow.search_runs(
        filter_string="attributes.status = 'FINISHED' and tags.stage = 'candidate'"
    )
    out["search_attr"] = frame["run_id"].tolist()
    runs = client.search_runs(
        [parent.info.experiment_id], "metrics.loss < 0.6", order_by=["attributes.start_time ASC"]
    )
    out["search_client"] = [r.info.run_id for r in runs]

    if os.environ.get("AUTOLOG") == "1":
        import numpy as np
        from sklearn.linear_model import LinearRegression

        mlflow.autolog()
        with mlflow.start_run(run_name="autolog") as auto:
            x = np.array([[0.0], [1.0], [2.0], [3.0]])
            LinearRegression().fit(x, np.array([0.0, 1.0, 2.0, 3.1]))
        out["autolog"] = auto.info.run_id
        autorun = mlflow.get_run(auto.info.run_id)
        out["autolog_params"] = autorun.data.params
        out["autolog_metrics"] = sorted(autorun.data.metrics)
        out["autolog_artifacts"] = sorted(
            f.path for f in client.list_artifacts(auto.info.run_id, "models")
        )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
