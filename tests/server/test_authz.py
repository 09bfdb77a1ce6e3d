"""The authorization matrix, walked: every route of the server with every role's token, against
what ``pedigree.identity.may`` says the role may do."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from tests.server.conftest import ROLES, Server

from pedigree.digest import hash_bytes

pytestmark = pytest.mark.slow

DIGEST = str(hash_bytes(b"matrix"))


def _body(method: str, path: str) -> tuple[str, Any, bytes | None]:
    """A concrete path and a well-formed body for a route of the table."""
    concrete = path.replace("{method}", "resolve_run").replace("{digest}", DIGEST)
    if path == "/api/v1/read/{method}":
        return concrete, {"args": ["last"]}, None
    if path == "/api/v1/events":
        return concrete, {"batch": uuid.uuid4().hex, "events": []}, None
    if path == "/api/v1/heartbeat":
        return concrete, {"run_id": str(uuid.uuid4()), "host": "h", "pid": 1}, None
    if path == "/api/v1/audit/log":
        return concrete, {"limit": 1}, None
    if path == "/api/v1/audit/verify":
        return concrete, {"tables": False}, None
    if method == "PUT":
        return concrete, None, b"matrix"
    if method == "POST":
        return concrete, {}, None
    return concrete, None, None


def test_every_route_is_in_the_matrix(tmp_path: Any) -> None:
    from pedigree.config import init_project
    from pedigree.server import ROUTES, create_app

    project, _ = init_project(tmp_path)
    app = create_app(project)
    # The team server's own API (the MLflow-compatible routes and the web UI have their tests).
    served = {
        (method, route.path)  # type: ignore[attr-defined]
        for route in app.routes
        for method in getattr(route, "methods", ()) or ()
        if (
            route.path.startswith("/api/v1/")  # type: ignore[attr-defined]
            and not route.path.startswith("/api/v1/ui")
        )  # type: ignore[attr-defined]
        or route.path == "/healthz"  # type: ignore[attr-defined]
    }
    assert served == set(ROUTES)


def test_every_route_with_every_role(server: Server) -> None:
    from pedigree.server import ROUTES, may_any

    seen: dict[str, list[str]] = {}
    for (method, path), permission in ROUTES.items():
        concrete, body, raw = _body(method, path)
        for role in ROLES:
            answer = server.request(method, concrete, role=role, body=body, raw=raw)
            allowed = permission is None or may_any(role, permission)
            where = f"{role} {method} {concrete}: {answer.status} {answer.body[:200]!r}"
            assert answer.status < 500, where
            if allowed:
                assert answer.status not in (401, 403), where
                seen.setdefault(f"{method} {path}", []).append(role)
            else:
                assert answer.status == 403, where
                if method != "HEAD":
                    error = json.loads(answer.body)["error"]
                    assert error["code"] == "forbidden", where
        # Without a token: 401 (but /healthz, which needs none).
        answer = server.request(method, concrete, body=body, raw=raw)
        assert answer.status == (200 if permission is None else 401), (method, path)
    # Every role can do something, and the admin is not the only one who can read.
    assert {r for roles in seen.values() for r in roles} == set(ROLES)
    assert set(seen["GET /api/v1/whoami"]) == set(ROLES)


def test_recording_is_checked_event_by_event(server: Server) -> None:
    """A role that may record runs may still not slip an approval into a batch."""
    from pedigree.identity import may_append
    from pedigree.store.events import ApprovalRecorded, prepare

    approval = ApprovalRecorded(
        id=str(uuid.uuid4()), target_type="run", target="r", decision="approved"
    )
    body = {
        "batch": uuid.uuid4().hex,
        "events": [{"kind": approval.KIND, "payload": prepare(approval)[0]}],
    }
    refused = [role for role in ROLES if not may_append(role, approval.KIND)]
    assert "researcher" in refused
    for role in refused:
        answer = server.request("POST", "/api/v1/events", role=role, body=body)
        assert answer.status == 403, (role, answer.body)
