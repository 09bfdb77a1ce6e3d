"""The model registry, tags and review filters through a real team server: register, alias and
approve with the four-eyes refusals, `get` of a model, tags and `--where "review = ..."`, every
write recorded as the token's user (issue 14, "through the team server where it exists")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import PYTHON
from tests.server.conftest import USERS, Server

pytestmark = pytest.mark.slow

SCRIPT = """\
import pedigree
pedigree.log_metric("sharpe", 1.25)
with open("model.txt", "w") as f:
    f.write("weights 0.5 0.25\\n")
pedigree.produce("model.txt")
"""


def _ok(res: object) -> object:
    assert res.code == 0, res.err  # type: ignore[attr-defined]
    out = res.out  # type: ignore[attr-defined]
    return json.loads(out) if out.strip().startswith(("{", "[")) else out


@pytest.fixture(scope="module")
def model_run(server: Server) -> str:
    """A run that produced model.txt, recorded through the server by the researcher."""
    (server.client_dir / "train.py").write_text(SCRIPT)
    res = server.cli("researcher", "run", "--tag", "desk=rates", "--", PYTHON, "train.py")
    assert res.code == 0, res.err
    run = _ok(server.cli("researcher", "show", "last", "--json"))
    assert isinstance(run, dict)
    return str(run["id"])


def test_a_model_is_registered_aliased_and_approved_through_the_server(
    server: Server, model_run: str, tmp_path: Path
) -> None:
    reg = _ok(
        server.cli(
            "researcher",
            "model",
            "register",
            "remote-model",
            "--from",
            f"{model_run}:model.txt",
            "--json",
        )
    )
    assert isinstance(reg, dict)
    assert reg["version"] == 1

    # Production is protected: refused until someone other than the author approves.
    res = server.cli("researcher", "model", "alias", "remote-model", "production", "1")
    assert res.code == 4, (res.code, res.err)
    assert res.err.startswith("error: production is a protected alias")
    # The author may not approve their own model (four eyes on the server), and a researcher
    # may not approve at all.
    res = server.cli("researcher", "approve", "model:remote-model/1")
    assert res.code == 9, (res.code, res.err)
    res = server.cli("reviewer", "approve", "model:remote-model/1", "--note", "checked")
    assert res.code == 0, res.err
    res = server.cli("researcher", "model", "alias", "remote-model", "production", "1")
    assert res.code == 0, res.err

    shown = _ok(server.cli("auditor", "model", "show", "remote-model@production", "--json"))
    assert isinstance(shown, dict)
    assert shown["version"] == 1
    assert shown["identity"] == "authenticated"
    assert USERS["reviewer"] in json.dumps(shown)

    # The model comes back byte for byte from the server's object store.
    out = tmp_path / "model.txt"
    res = server.cli("auditor", "get", "remote-model@production", "-o", str(out))
    assert res.code == 0, res.err
    assert out.read_text() == "weights 0.5 0.25\n"

    # Every registry write was the token's user, proven.
    log = _ok(server.cli("auditor", "audit", "log", "--json"))
    assert isinstance(log, list)
    kinds = {e["kind"]: e for e in log if e["kind"].startswith("model.")}
    assert kinds["model.registered"]["actor"] == USERS["researcher"]
    assert kinds["model.registered"]["identity"] == "authenticated"
    assert kinds["model.alias_moved"]["actor"] == USERS["researcher"]


def test_lineage_of_a_model_through_the_server(server: Server, model_run: str) -> None:
    _ok(
        server.cli(
            "researcher", "model", "register", "lineage-model", "--from", f"{model_run}:model.txt"
        )
    )
    graph = _ok(server.cli("auditor", "lineage", "model:lineage-model/1", "--up", "--json"))
    assert model_run in json.dumps(graph)


def test_tags_and_review_filters_through_the_server(server: Server, model_run: str) -> None:
    res = server.cli("researcher", "tag", model_run, "stage=candidate")
    assert res.code == 0, res.err
    shown = _ok(server.cli("auditor", "show", model_run, "--json"))
    assert isinstance(shown, dict)
    assert shown["tags"] == {"desk": "rates", "stage": "candidate"}
    # An auditor writes nothing, tags included.
    res = server.cli("auditor", "tag", model_run, "stage=tampered")
    assert res.code == 9, (res.code, res.err)

    rows = _ok(server.cli("auditor", "runs", "--where", "tags.desk = 'rates'", "--json"))
    assert isinstance(rows, list)
    assert [r["id"] for r in rows] == [model_run]
    before = _ok(server.cli("auditor", "runs", "--where", "review = 'approved'", "--json"))
    assert isinstance(before, list)
    assert model_run not in [r["id"] for r in before]
    res = server.cli("reviewer", "approve", model_run, "--note", "fine")
    assert res.code == 0, res.err
    after = _ok(server.cli("auditor", "runs", "--where", "review = 'approved'", "--json"))
    assert isinstance(after, list)
    assert model_run in [r["id"] for r in after]
