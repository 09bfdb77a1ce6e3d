"""Huge or deeply nested `--where` expressions are usage errors, not internal errors (issue 19)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Project

from pedigree.errors import InvalidQuery
from pedigree.store.where import MAX_COMPARISONS, MAX_DEPTH, parse_where

DEEP = "(" * 2000 + "metrics.a > 1" + ")" * 2000
NOTS = "not " * 5000 + "metrics.a > 1"
WIDE = " or ".join(f"params.k = {i}" for i in range(3000))


@pytest.mark.parametrize(
    ("text", "message"), [(DEEP, "nests deeper"), (NOTS, "nests deeper"), (WIDE, "comparisons")]
)
def test_the_parser_refuses_them_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        parse_where(text)


def test_the_limits_themselves_are_accepted() -> None:
    parse_where("(" * MAX_DEPTH + "metrics.a > 1" + ")" * MAX_DEPTH)
    parse_where(" or ".join(f"params.k = {i}" for i in range(MAX_COMPARISONS)))


@pytest.mark.parametrize("text", [DEEP, WIDE])
def test_the_cli_exits_2_with_one_line(project: Project, cli: Any, text: str) -> None:
    res = cli("runs", "--where", text)
    assert res.code == 2
    assert res.err.startswith("error: the --where expression")
    assert "internal error" not in res.err


def test_the_widest_accepted_expression_runs(any_project: Project, cli: Any) -> None:
    text = " or ".join(f"params.k = {i}" for i in range(MAX_COMPARISONS))
    res = cli("runs", "--where", text, "--json")
    assert res.code == 0, res.err
