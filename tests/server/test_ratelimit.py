"""Failed authentications are rate limited per client address, and logged without the token."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.server.conftest import start_server

from pedigree.server import FAILED_AUTH_LIMIT

pytestmark = pytest.mark.slow


def test_guessing_tokens_is_rate_limited_and_never_logged(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        guesses = [f"pdg_{i:016x}_{'guess' * 8}" for i in range(FAILED_AUTH_LIMIT + 2)]
        statuses = [
            server.request("GET", "/api/v1/whoami", token=guess).status for guess in guesses
        ]
        assert statuses[:FAILED_AUTH_LIMIT] == [401] * FAILED_AUTH_LIMIT
        assert statuses[FAILED_AUTH_LIMIT:] == [429, 429]
        # While the address is blocked, even a good token waits: guessing cannot go on.
        answer = server.request("GET", "/api/v1/whoami", role="admin")
        assert answer.status == 429
        assert answer.json()["error"]["code"] == "rate_limited"
        res = server.cli("admin", "runs")
        assert res.code == 10
        assert res.err.startswith("error: too many failed authentications")
        # No token at all is not a guess: answered 401, not counted (and /healthz stays open).
        assert server.request("GET", "/healthz").status == 200
    finally:
        server.stop()
    log = (server.log or tmp_path / "none").read_text()
    assert "authentication failed from 127.0.0.1" in log
    assert not any(guess in log for guess in guesses)
    assert server.tokens["admin"] not in log
