"""Typed parameters: command-line parsing, coercion to the script's defaults, attribute access."""

from __future__ import annotations

import pytest

from pedigree.client.params import Params, coerce_like, parse_assignment, parse_value
from pedigree.errors import InvalidParam


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("50", 50),
        ("-3", -3),
        ("2.5", 2.5),
        ("1e-3", 0.001),
        ("true", True),
        ("False", False),
        ("AAPL", "AAPL"),
        ("'50'", "50"),
        ('"true"', "true"),
        ("", ""),
        ("a=b", "a=b"),
        ("nan", "nan"),
    ],
)
def test_values_are_typed(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_assignment_splits_on_the_first_equals_sign() -> None:
    assert parse_assignment("query=a=b") == ("query", "a=b")
    assert parse_assignment("lr=0.1") == ("lr", 0.1)


@pytest.mark.parametrize("bad", ["window", "=5", "1x=5", "a b=1", "w!=2"])
def test_bad_assignments_are_refused(bad: str) -> None:
    with pytest.raises(InvalidParam):
        parse_assignment(bad)


def test_injected_values_take_the_type_of_the_default() -> None:
    assert coerce_like(1.5, 2) == 2.0
    assert isinstance(coerce_like(1.5, 2), float)
    assert coerce_like(50, 20.0) == 20
    assert isinstance(coerce_like(50, 20.0), int)
    assert coerce_like(50, 20.5) == 20.5
    assert coerce_like("AAPL", 123) == "123"
    assert coerce_like(True, 0) is False
    assert coerce_like(None, 5) == 5


def test_params_read_as_attributes_and_are_read_only() -> None:
    p = Params({"window": 50})
    assert p.window == 50
    assert p["window"] == 50
    with pytest.raises(AttributeError, match="no parameter 'x'"):
        _ = p.x
    with pytest.raises(AttributeError):
        p.window = 3
