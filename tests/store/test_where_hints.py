"""``--where`` mistakes that a newcomer makes get a suggestion, not only a position (issue 18)."""

from __future__ import annotations

import pytest

from pedigree.errors import InvalidQuery
from pedigree.store.where import parse_order_by, parse_where


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("metric.sharpe > 0.79", "did you mean metrics.sharpe?"),
        ("param.window >= 20 and status = 'finished'", "did you mean params.window?"),
        ("tag.stage = 'candidate'", "did you mean tags.stage?"),
        ("Metric.`val loss` < 1", "did you mean metrics.<name>?"),
        ("statu = 'failed'", "did you mean status?"),
        ("metrics.sharpe > 1 and strated_at > '2026-01-01'", "did you mean started_at?"),
    ],
)
def test_a_near_miss_names_what_was_meant(text: str, hint: str) -> None:
    with pytest.raises(InvalidQuery) as err:
        parse_where(text)
    assert hint in str(err.value)


def test_order_by_gets_the_same_hint() -> None:
    with pytest.raises(InvalidQuery, match="did you mean duration"):
        parse_order_by("-durations")


@pytest.mark.parametrize("text", ["foo.bar > 1", "zzz = 2", "metrics.sharpe >> 1"])
def test_no_suggestion_when_nothing_is_close(text: str) -> None:
    with pytest.raises(InvalidQuery) as err:
        parse_where(text)
    assert "did you mean" not in str(err.value)
