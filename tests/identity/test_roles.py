"""The authorization matrix: every event kind classified, roles as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pedigree.identity import AUTHZ_MATRIX, CAPABILITIES, ROLES, may, may_append
from pedigree.identity.roles import KIND_CAPABILITY
from pedigree.store.events import REGISTRY

DOC = Path(__file__).resolve().parents[2] / "docs" / "server.md"


def test_every_event_kind_needs_a_known_capability() -> None:
    # A new event kind must be classified here before any role may record it.
    unclassified = sorted(set(REGISTRY) - set(KIND_CAPABILITY))
    assert unclassified == []
    assert set(KIND_CAPABILITY.values()) <= set(CAPABILITIES)


def test_an_unknown_kind_or_role_may_nothing() -> None:
    for role in ROLES:
        assert not may_append(role, "run.exploded")
    assert not may("intern", "read")
    assert not may_append("intern", "run.created")


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_who_may_record_each_kind(kind: str) -> None:
    allowed = {role for role in ROLES if may_append(role, kind)}
    if kind == "approval.recorded":
        assert allowed == {"reviewer"}
    elif kind.startswith(("user.", "token.", "policy.")):
        assert allowed == {"admin"}
    else:
        assert allowed == {"researcher", "reviewer"}


def test_the_auditor_writes_nothing_and_everyone_reads() -> None:
    assert not any(may_append("auditor", kind) for kind in REGISTRY)
    assert all(may(role, "read") for role in ROLES)
    assert set(AUTHZ_MATRIX) == set(ROLES)


def test_docs_server_md_renders_the_matrix() -> None:
    text = DOC.read_text()
    header = "| capability | what it allows | " + " | ".join(AUTHZ_MATRIX) + " |"
    assert header in text
    for capability in CAPABILITIES:
        row = re.search(rf"^\| `{capability}` \|.*$", text, re.M)
        assert row is not None, capability
        cells = [c.strip() for c in row.group(0).strip("|").split("|")]
        expected = ["yes" if capability in AUTHZ_MATRIX[r] else "-" for r in AUTHZ_MATRIX]
        assert cells[2:] == expected, capability
