"""The --where / --order-by language."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pedigree.errors import InvalidQuery
from pedigree.store.where import (
    And,
    Compare,
    Field,
    Not,
    Or,
    OrderKey,
    parse_order_by,
    parse_where,
)

M = Field("metrics", "sharpe")
P = Field("params", "window")


def test_precedence_and_binds_tighter_than_or() -> None:
    e = parse_where("metrics.sharpe > 1 or params.window = 2 and status = 'x'")
    assert isinstance(e, Or)
    assert isinstance(e.items[1], And)


def test_values_are_typed() -> None:
    assert parse_where("params.window = 20") == Compare(P, "=", 20)
    assert parse_where("params.window = 2.5e1") == Compare(P, "=", 25.0)
    assert parse_where("params.window == -3") == Compare(P, "=", -3)
    assert parse_where("params.window != 'x'") == Compare(P, "!=", "x")
    assert parse_where('params.window <> "it\\"s"') == Compare(P, "!=", 'it"s')
    assert parse_where("params.window = TRUE") == Compare(P, "=", True)


def test_keys_with_dots_dashes_and_backquotes() -> None:
    assert parse_where("metrics.val.loss < 1") == Compare(Field("metrics", "val.loss"), "<", 1)
    assert parse_where("metrics.`val loss` < 1") == Compare(Field("metrics", "val loss"), "<", 1)
    assert parse_where("params.lr-decay >= 0.1") == Compare(Field("params", "lr-decay"), ">=", 0.1)


def test_in_not_in_is_null_not_and_parentheses() -> None:
    assert parse_where("params.window in (1, 2)") == Compare(P, "in", (1, 2))
    assert parse_where("params.window not in ('a')") == Compare(P, "notin", ("a",))
    assert parse_where("metrics.sharpe is null") == Compare(M, "is", None)
    assert parse_where("metrics.sharpe IS NOT NULL") == Compare(M, "isnot", None)
    assert parse_where("not (metrics.sharpe > 1)") == Not(Compare(M, ">", 1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("metrics.sharpe >", "ends too early"),
        ("sharpe > 1", "unknown field 'sharpe'"),
        ("metrics.sharpe ! 1", "cannot read"),
        ("metrics.sharpe > 1)", r"unexpected '\)'"),
        ("(metrics.sharpe > 1", "ends too early"),
        ("metrics.sharpe > 1 and", "ends too early"),
        ("metrics.sharpe 1", "expected an operator"),
        ("metrics.sharpe > and", "expected a value"),
        ("params.x like 3", "quoted pattern"),
    ],
)
def test_malformed_queries_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        parse_where(text)


def test_order_by() -> None:
    assert parse_order_by("-metrics.sharpe, +params.window, started_at") == (
        OrderKey(M, True),
        OrderKey(P, False),
        OrderKey(Field("attr", "started_at"), False),
    )
    with pytest.raises(InvalidQuery):
        parse_order_by("-metrics.sharpe,")
    with pytest.raises(InvalidQuery):
        parse_order_by("bogus")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["metrics.a", "params.b", "status", "exit_code"]),
            st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
            st.one_of(st.integers(-1000, 1000), st.text("abc xyz", max_size=8)),
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([" and ", " or "]),
)
def test_generated_conjunctions_parse_to_their_parts(parts, joiner) -> None:  # type: ignore[no-untyped-def]
    text = joiner.join(
        f"{f} {op} {v!r}" if isinstance(v, str) else f"{f} {op} {v}" for f, op, v in parts
    )
    expr = parse_where(text)
    items = expr.items if isinstance(expr, And | Or) else (expr,)
    assert len(items) == len(parts)
    for item, (_, op, value) in zip(items, parts, strict=True):
        assert isinstance(item, Compare)
        assert item.op == op
        assert item.value == value
