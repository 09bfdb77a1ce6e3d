"""The MLflow-compatible endpoint (``pedigree.server.mlflow_api``) with the real ``mlflow``
client: a script of unchanged MLflow calls runs against a real ``pedigree server`` on loopback,
and what it recorded is read back with ``pedigree show --json``, ``lineage`` and ``audit verify``.
Error shapes are checked with raw HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import git

from pedigree.digest import hash_bytes

from .conftest import Server, start_server

pytestmark = pytest.mark.slow

CLIENT = Path(__file__).with_name("mlflow_client.py")
QUIET = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
}
P = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("mlflow"))
    try:
        yield srv
    finally:
        srv.stop()


def mlflow_env(server: Server, role: str = "researcher", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in server.env.items() if not k.startswith(("PEDIGREE_", "MLFLOW_"))}
    env.update(QUIET, MLFLOW_TRACKING_URI=server.url, MLFLOW_TRACKING_TOKEN=server.tokens[role])
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def logged(server: Server) -> dict[str, Any]:
    """What the client script read back through MLflow's own API. The script is committed in
    the client's repository, as a user's would be (MLflow reports that repository's commit)."""
    script = server.client_dir / "train.py"
    shutil.copy(CLIENT, script)
    git(server.client_dir, "add", "train.py")
    subprocess.run(
        ["git", "commit", "-qm", "train"], cwd=server.client_dir, env=server.env, check=True
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=server.client_dir,
        env=mlflow_env(server, AUTOLOG="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def show(server: Server, run_id: str) -> dict[str, Any]:
    res = server.local("show", run_id, "--json")
    assert res.code == 0, res.err
    data: dict[str, Any] = json.loads(res.out)
    return data


def test_the_client_reads_back_what_it_logged(server: Server, logged: dict[str, Any]) -> None:
    assert logged["status"] == "FINISHED"
    assert logged["user"] == "rex"  # the token's user, not the client's login
    assert logged["params"] == {"window": "20", "lr": "0.1", "model": "ridge", "batch_p": "yes"}
    assert logged["metrics"] == {"loss": 0.2, "sharpe": 1.5, "acc": 0.9, "batch_m": 9.0}
    assert logged["history"] == [[0, 1.0], [1, 0.5], [2, 1 / 3], [3, 0.25], [4, 0.2]]
    tags = logged["tags"]
    assert {k: tags[k] for k in ("stage", "team", "owner", "batch_t")} == {
        "stage": "candidate",
        "team": "quant",
        "owner": "rex",
        "batch_t": "on",
    }
    assert tags["mlflow.runName"] == "parent"
    assert tags["mlflow.source.git.commit"] == git(server.client_dir, "rev-parse", "HEAD").strip()
    assert logged["artifacts"] == [
        ["config.json", False],
        ["figure.png", False],
        ["notes", True],
        ["plots", True],
        ["report.txt", False],
    ]
    assert logged["plots"] == ["plots/a.csv", "plots/b.csv"]
    assert logged["downloaded"] == "hello pedigree\n"
    assert logged["downloaded_dir"] == ["a.csv", "b.csv"]
    assert logged["loaded_dict"] == {"a": 1, "b": [1, 2]}


def test_searches_as_mlflow_parses_them(logged: dict[str, Any]) -> None:
    parent, child = logged["parent"], logged["child"]
    assert logged["search_sharpe"] == [parent]  # metrics.sharpe > 1
    assert logged["search_param"] == ["other"]  # params.window = '50'
    assert logged["order"][:2] == ["parent", "other"]  # metrics.sharpe DESC, then the rest
    assert logged["nested"] == [child]  # tags.mlflow.parentRunId = '<parent>'
    assert logged["search_attr"] == [parent]  # attributes.status and a tag
    assert logged["search_client"] == [parent, child]  # metrics.loss < 0.6, start_time ASC


def test_runs_are_ordinary_pedigree_runs(server: Server, logged: dict[str, Any]) -> None:
    parent = show(server, logged["parent"])
    run = parent.get("run", parent)
    text = json.dumps(parent)
    assert run["experiment"] == "mlflow-compat"
    assert run["status"] == "finished"
    assert run["user"] == "rex"
    assert run["params"]["window"] == "20"
    assert run["metrics"]["sharpe"] == 1.5
    assert run["tags"]["stage"] == "candidate"
    assert git(server.client_dir, "rev-parse", "HEAD").strip() in text  # the code commit
    outputs = {o["path"]: o for o in run["outputs"]}
    assert set(outputs) >= {"report.txt", "plots/a.csv", "config.json", "figure.png"}
    assert outputs["report.txt"]["digest"] == str(hash_bytes(b"hello pedigree\n"))
    assert outputs["plots/a.csv"]["digest"] == str(hash_bytes(b"x,y\n1,2\n"))
    assert "authenticated" in text  # recorded under the token's identity
    child = show(server, logged["child"])
    assert child.get("run", child)["parent"] == logged["parent"]
    # autolog: sklearn's params and training metrics, its model's files as outputs
    auto = show(server, logged["autolog"])
    auto_run = auto.get("run", auto)
    assert auto_run["params"]["fit_intercept"] == "True"
    assert "training_r2_score" in auto_run["metrics"]
    assert any(p.endswith("model.pkl") for p in logged["autolog_artifacts"])
    assert any(o["path"].endswith("/model.pkl") for o in auto_run["outputs"])


def test_lineage_and_audit(server: Server, logged: dict[str, Any]) -> None:
    res = server.local("lineage", "blake3:" + hash_bytes(b"hello pedigree\n").hex, "--up", "--json")
    assert res.code == 0, res.err
    assert logged["parent"] in res.out  # the artifact was made by the MLflow run
    # a reviewer approves the MLflow run as any other (four eyes: rex made it, rita approves)
    res = server.cli("reviewer", "approve", logged["parent"], "--note", "checked")
    assert res.code == 0, res.err
    shown = show(server, logged["parent"])
    assert "rita" in json.dumps(shown.get("reviews", shown))
    res = server.local("audit", "verify")
    assert res.code == 0, res.out + res.err


# -- MLflow's errors, with raw HTTP ------------------------------------------------------------


def error(server: Server, method: str, path: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    kw.setdefault("role", "researcher")
    answer = server.request(method, path, **kw)
    data = answer.json()
    assert set(data) == {"error_code", "message"}, data
    assert data["message"]
    return answer.status, data


def new_run(server: Server) -> str:
    answer = server.request("POST", f"{P}/runs/create", role="researcher", body={})
    assert answer.status == 200, answer.body
    run_id: str = answer.json()["run"]["info"]["run_id"]
    return run_id


def test_error_shapes(server: Server) -> None:
    head = server.request("GET", "/api/v1/head", role="admin").json()["seq"]
    status, data = error(server, "GET", f"{P}/runs/get?run_id=0000nope")
    assert (status, data["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    body = {"run_id": "01a0-no-such-run", "key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    status, data = error(server, "POST", f"{P}/runs/log-metric", body=body)
    assert (status, data["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, data = error(server, "GET", f"{P}/experiments/get-by-name?experiment_name=nope")
    assert (status, data["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, data = error(server, "POST", f"{P}/runs/create", token="not-a-token")
    assert (status, data["error_code"]) == (401, "UNAUTHENTICATED")
    status, data = error(server, "POST", f"{P}/runs/create", role="auditor", body={})
    assert (status, data["error_code"]) == (403, "PERMISSION_DENIED")
    status, data = error(server, "POST", f"{P}/runs/create", raw=b"{not json")
    assert (status, data["error_code"]) == (400, "MALFORMED_REQUEST")
    status, data = error(server, "GET", f"{P}/no/such/route")
    assert (status, data["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    # nothing above recorded anything
    assert server.request("GET", "/api/v1/head", role="admin").json()["seq"] == head

    run_id = new_run(server)
    bad_metrics: list[Any] = ["abc", None, True, {"x": 1}]
    for value in bad_metrics:
        body = {"run_id": run_id, "key": "m", "value": value, "timestamp": 1, "step": 0}
        status, data = error(server, "POST", f"{P}/runs/log-metric", body=body)
        assert (status, data["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), value
    for key in ["k" * 251, "bad\nkey", "../escape", "", "a/../b"]:
        body = {"run_id": run_id, "key": key, "value": "v"}
        status, data = error(server, "POST", f"{P}/runs/log-parameter", body=body)
        assert (status, data["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), key
    body = {"run_id": run_id, "key": "p", "value": "x" * 6001}
    status, data = error(server, "POST", f"{P}/runs/log-parameter", body=body)
    assert (status, data["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    body = {"run_id": run_id, "metrics": [{"key": "m", "value": 1, "timestamp": 1}] * 1001}
    status, data = error(server, "POST", f"{P}/runs/log-batch", body=body)
    assert (status, data["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    # a param cannot change, as in MLflow
    ok = server.request(
        "POST",
        f"{P}/runs/log-parameter",
        role="researcher",
        body={**body, "key": "p", "value": "1"},
    )
    assert ok.status == 200, ok.body
    body = {"run_id": run_id, "key": "p", "value": "2"}
    status, data = error(server, "POST", f"{P}/runs/log-parameter", body=body)
    assert (status, data["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "Changing param values is not allowed" in data["message"]
    # searches MLflow would refuse
    for text in [
        "metrics.x > 'a'",
        "params.p > '1'",
        "nope.x = 1",
        "metrics.x = 1 or metrics.y = 2",
    ]:
        status, data = error(
            server, "POST", f"{P}/runs/search", body={"experiment_ids": ["0"], "filter": text}
        )
        assert (status, data["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), text
    # an experiment exists once
    status, data = error(server, "POST", f"{P}/experiments/create", body={"name": "Default"})
    assert (status, data["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    # a run that has ended keeps its record
    done = server.request(
        "POST",
        f"{P}/runs/update",
        role="researcher",
        body={"run_id": run_id, "status": "FINISHED", "end_time": "1700000000000"},
    )
    assert done.status == 200, done.body
    assert done.json()["run_info"]["status"] == "FINISHED"
    body = {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    status, data = error(server, "POST", f"{P}/runs/log-metric", body=body)
    assert (status, data["error_code"]) == (400, "INVALID_STATE")
    res = server.local("audit", "verify")
    assert res.code == 0, res.out + res.err


def test_wire_shapes(server: Server) -> None:
    """int64 fields arrive as numbers or strings; NaN and the infinities as MLflow sends them."""
    run_id = new_run(server)
    body = {
        "run_id": run_id,
        "metrics": [
            {"key": "a", "value": "NaN", "timestamp": "1700000000000", "step": "3"},
            {"key": "b", "value": "Infinity", "timestamp": 1700000000001, "step": 0},
        ],
    }
    assert server.request("POST", f"{P}/runs/log-batch", role="researcher", body=body).status == 200
    got = server.request(
        "GET", f"{P}/metrics/get-history?run_id={run_id}&metric_key=a", role="reviewer"
    ).json()
    assert got["metrics"] == [{"key": "a", "value": "NaN", "timestamp": 1700000000000, "step": 3}]
    run = server.request("GET", f"{P}/runs/get?run_id={run_id}", role="reviewer").json()["run"]
    assert run["info"]["status"] == "RUNNING"
    assert run["info"]["user_id"] == "rex"
    assert {m["key"] for m in run["data"]["metrics"]} == {"a", "b"}


def test_server_info(server: Server) -> None:
    """MLflow 3's client asks this before it logs, without a token (as MLflow serves it)."""
    answer = server.request("GET", "/api/3.0/mlflow/server-info")
    assert answer.status == 200
    assert answer.json()["workspaces_enabled"] is False
    status, data = error(server, "POST", "/api/3.0/mlflow/traces")
    assert (status, data["error_code"]) == (404, "ENDPOINT_NOT_FOUND")


def test_malformed_bodies_are_4xx_never_500(server: Server) -> None:
    """Bodies of the wrong shape on every writing route: MLflow's error, nothing recorded."""
    run_id = new_run(server)
    head = server.request("GET", "/api/v1/head", role="admin").json()["seq"]
    bad: list[tuple[str, Any]] = [
        ("runs/log-batch", {"run_id": run_id, "metrics": [1, 2]}),
        ("runs/log-batch", {"run_id": run_id, "params": "p"}),
        ("runs/log-batch", {"run_id": run_id, "tags": [{"key": None, "value": "v"}]}),
        ("runs/log-batch", {"run_id": run_id, "metrics": [{"key": "m", "value": 1, "step": "x"}]}),
        (
            "runs/log-batch",
            {"run_id": run_id, "metrics": [{"key": "m", "value": 1, "step": 2**64}]},
        ),
        ("runs/log-batch", {"run_id": ["x"]}),
        ("runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": "soon"}),
        ("runs/set-tag", {"run_id": run_id, "key": "k", "value": "x" * 8001}),
        ("runs/update", {"run_id": run_id, "status": "DONE"}),
        ("runs/create", {"experiment_id": "no-such-experiment"}),
        ("runs/create", {"tags": [{"key": "mlflow.parentRunId", "value": "nope"}]}),
        ("runs/search", {"max_results": "many"}),
        ("runs/search", {"max_results": 0}),
        ("runs/search", {"page_token": "!!"}),
        ("runs/search", {"experiment_ids": "0"}),
        ("runs/search", {"order_by": ["metrics.x sideways"]}),
        ("runs/log-inputs", {"run_id": run_id, "datasets": [{"dataset": 3}]}),
        ("logged-models", {"experiment_id": "0", "params": [7]}),
        ("experiments/create", {"name": ""}),
        ("experiments/create", {"name": "x" * 501}),
    ]
    for path, body in bad:
        status, data = error(server, "POST", f"{P}/{path}", body=body)
        assert status in (400, 404), (path, body, status, data)
    assert server.request("GET", "/api/v1/head", role="admin").json()["seq"] == head
