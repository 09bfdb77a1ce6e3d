"""The team server on a team's stores: PostgreSQL for the metadata, S3 (moto's server, over
real HTTP) for the objects; the clients see no difference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import PYTHON
from tests.objects.s3server import moto_endpoint  # noqa: F401 - a fixture
from tests.server.conftest import USERS, start_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SCRIPT = """\
import pedigree
pedigree.params(alpha=0.5)
with open("prices.csv") as f:
    n = len(f.read().splitlines())
with open("weights.csv", "w") as f:
    f.write(f"w\\n{n * 0.5}\\n")
pedigree.log_metric("sharpe", 1.7)
"""


def test_a_server_on_postgresql_and_s3(
    tmp_path: Path,
    pg_uri: str,
    moto_endpoint: str,  # noqa: F811
) -> None:
    import uuid

    import boto3

    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    bucket = f"pedigree-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=bucket)
    server = start_server(
        tmp_path,
        extra_env={
            **aws,
            "PEDIGREE_URI": pg_uri,
            "PEDIGREE_OBJECTS": f"s3://{bucket}/objects",
            "PEDIGREE_S3_ENDPOINT": moto_endpoint,
        },
    )
    try:
        root = server.client_dir
        (root / "prices.csv").write_text("close\n1\n2\n3\n")
        (root / "strategy.py").write_text(SCRIPT)
        res = server.cli("researcher", "data", "add", "prices.csv", "--name", "prices")
        assert res.code == 0, res.err
        res = server.cli("researcher", "run", "--", PYTHON, "strategy.py")
        assert res.code == 0, res.err
        run = json.loads(server.cli("auditor", "show", "last", "--json").out)
        assert run["user"] == USERS["researcher"]
        assert run["metrics"] == {"sharpe": 1.7}
        res = server.cli("reviewer", "approve", str(run["id"]), "--note", "ok")
        assert res.code == 0, res.err
        # The objects went to the bucket, through the server.
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert keys
        res = server.cli("researcher", "get", "prices@v1", "-o", str(tmp_path / "back.csv"))
        assert res.code == 0, res.err
        assert (tmp_path / "back.csv").read_text() == "close\n1\n2\n3\n"
        res = server.cli("auditor", "audit", "verify")
        assert res.code == 0, res.err
        res = server.local("audit", "verify")  # on the server's machine, PostgreSQL directly
        assert res.code == 0, res.err
    finally:
        server.stop()
