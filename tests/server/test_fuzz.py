"""Fuzz: schemathesis generates requests for every route of the server's OpenAPI description,
with an admin's token and with a researcher's: no response is a 5xx, and every response matches
the description (status code, content type, schema)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.server.conftest import Server, start_server

pytestmark = pytest.mark.slow

FUZZ = settings(
    max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # schemathesis also checks that bad credentials are refused: many failed authentications
    # from one address, which the default limit would answer 429.
    srv = start_server(
        tmp_path_factory.mktemp("fuzz"), args=("--auth-failures-per-minute", "1000000")
    )
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize("role", ["admin", "researcher"])
def test_no_route_fails_or_strays_from_its_description(fuzzed: Server, role: str) -> None:
    server = fuzzed
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {server.tokens[role]}"}
    # The team server's own API (the MLflow-compatible routes and the web UI have their tests).
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if op.path.startswith("/api/v1/") or op.path == "/healthz"
    ]
    assert len(operations) >= 14
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            case.headers = {**(case.headers or {}), **headers}
            # Every check but "schema-valid data is accepted": a well-formed request can still be
            # refused for what it says (bytes that do not hash to their digest, an event of an
            # unknown kind, a read of a run that is not there), with a documented 4xx.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        fuzz()
