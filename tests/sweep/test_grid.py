"""Expanding a sweep's parameter lists into trials: the grid, one-at-a-time, placeholders."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pedigree.errors import InvalidInput, InvalidParam
from pedigree.sweep.grid import (
    GRID,
    ONE_AT_A_TIME,
    EmptySweep,
    SweepSpec,
    expand,
    fill_placeholders,
    parse_param_list,
    split_values,
)

CMD = ["python", "backtest.py"]


def test_values_are_typed_like_run_params() -> None:
    assert parse_param_list("window=10,20,50") == ("window", [10, 20, 50])
    assert parse_param_list("fee_bps=2") == ("fee_bps", [2])
    assert parse_param_list("lr=0.1,1e-3") == ("lr", [0.1, 0.001])
    assert parse_param_list("flag=true,false") == ("flag", [True, False])
    assert parse_param_list("instrument=AAPL,JPM") == ("instrument", ["AAPL", "JPM"])
    # Quotes keep a comma inside a value, and force a string.
    assert parse_param_list("name=\"a,b\",c,'7'") == ("name", ["a,b", "c", "7"])
    # 1 and 1.0 and true are different values of different types.
    assert parse_param_list("x=1,1.0,true") == ("x", [1, 1.0, True])


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("window=", EmptySweep, "has no values"),
        ("window=  ", EmptySweep, "has no values"),
        ("window=10,,20", EmptySweep, "empty value"),
        ("window=10,20,", EmptySweep, "empty value"),
        ("window=10,20,10", InvalidParam, "lists 10 twice"),
        ("window", InvalidParam, "not key=value"),
        ("9w=1,2", InvalidParam, "not a parameter name"),
        ('name="a,b', InvalidParam, "unbalanced"),
    ],
)
def test_bad_lists(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_param_list(text)


def test_split_values_keeps_quotes_for_parse_value() -> None:
    assert split_values("a,'b,c',\"d\"") == ["a", "'b,c'", '"d"']
    assert split_values("") == [""]


def test_grid_runs_every_combination_in_order() -> None:
    spec = SweepSpec(params={"window": [20, 50], "instrument": ["AAPL", "JPM", "XOM"], "fee": [2]},
                     command=CMD)  # fmt: skip
    trials = expand(spec)
    assert spec.count() == len(trials) == 6
    assert [t.index for t in trials] == list(range(6))
    assert [(t.params["window"], t.params["instrument"]) for t in trials] == [
        (20, "AAPL"), (20, "JPM"), (20, "XOM"), (50, "AAPL"), (50, "JPM"), (50, "XOM"),
    ]  # fmt: skip
    assert all(t.params["fee"] == 2 for t in trials)  # a single value is held fixed
    assert trials[0].name == "window=20 instrument=AAPL"  # only what varies
    assert all(t.argv == CMD for t in trials)
    assert spec.varied == ["window", "instrument"]
    assert spec.fixed == {"fee": 2}


def test_one_at_a_time_varies_one_parameter_from_the_base() -> None:
    spec = SweepSpec(params={"window": [50, 20, 100], "fee": [2.0, 5.0], "instrument": ["AAPL"]},
                     command=CMD, mode=ONE_AT_A_TIME)  # fmt: skip
    trials = expand(spec)
    assert [t.params for t in trials] == [
        {"window": 50, "fee": 2.0, "instrument": "AAPL"},  # the base, once
        {"window": 20, "fee": 2.0, "instrument": "AAPL"},
        {"window": 100, "fee": 2.0, "instrument": "AAPL"},
        {"window": 50, "fee": 5.0, "instrument": "AAPL"},
    ]
    assert spec.count() == 4
    assert [t.name for t in trials] == ["window=50 fee=2.0", "window=20", "window=100", "fee=5.0"]


def test_placeholders_are_filled_and_other_braces_stay() -> None:
    spec = SweepSpec(
        params={"window": [20], "lr": [0.5], "on": [True], "name": ["a b"]},
        command=["run", "--window={window}", "{lr}", "{on}", "{name}", "{other}", "awk {print}"],
    )
    (trial,) = expand(spec)
    assert trial.argv == ["run", "--window=20", "0.5", "true", "a b", "{other}", "awk {print}"]
    assert fill_placeholders(["{x}{x}"], {"x": 1}) == ["11"]


def test_empty_and_oversized_sweeps_are_refused() -> None:
    with pytest.raises(EmptySweep, match="nothing to sweep"):
        expand(SweepSpec(params={}, command=CMD))
    with pytest.raises(EmptySweep, match="has no values"):
        expand(SweepSpec(params={"x": []}, command=CMD))
    with pytest.raises(InvalidInput, match="no command"):
        expand(SweepSpec(params={"x": [1]}, command=[]))
    huge = {f"p{i}": list(range(10)) for i in range(6)}  # a million trials
    with pytest.raises(InvalidInput, match="1,000,000 trials"):
        expand(SweepSpec(params=huge, command=CMD))
    with pytest.raises(InvalidInput, match="unknown sweep mode"):
        SweepSpec(params={"x": [1]}, command=CMD, mode="random")


def test_the_spec_round_trips_through_json_keeping_the_order() -> None:
    import json

    spec = SweepSpec(params={"window": [20, 50], "instrument": ["B", "A"]}, command=CMD,
                     mode=ONE_AT_A_TIME, metric="sharpe", goal="min", columns=["test_sharpe"],
                     experiment="e", executor="ray", jobs=2, seed=7)  # fmt: skip
    # The store keeps canonical (key-sorted) JSON; the order of the parameters must survive.
    stored = json.loads(json.dumps(spec.to_json(), sort_keys=True))
    back = SweepSpec.from_json(stored)
    assert back == spec
    assert list(back.params) == ["window", "instrument"]
    assert stored["trials"] == 3


values = st.lists(st.integers(-5, 5), min_size=1, max_size=4, unique=True)
grids = st.dictionaries(st.sampled_from("abcd"), values, min_size=1, max_size=4)


@given(grids)
def test_grid_is_the_full_product_without_repeats(params: dict[str, list[int]]) -> None:
    trials = expand(SweepSpec(params=params, command=CMD, mode=GRID))
    points = [tuple(t.params[k] for k in params) for t in trials]
    assert len(points) == math.prod(len(v) for v in params.values())
    assert sorted(points) == sorted(itertools.product(*params.values()))


@given(grids)
def test_one_at_a_time_differs_from_the_base_in_at_most_one_parameter(
    params: dict[str, list[int]],
) -> None:
    trials = expand(SweepSpec(params=params, command=CMD, mode=ONE_AT_A_TIME))
    base = {k: v[0] for k, v in params.items()}
    assert trials[0].params == base
    assert len(trials) == 1 + sum(len(v) - 1 for v in params.values())
    seen = set()
    for t in trials[1:]:
        changed = [k for k in params if t.params[k] != base[k]]
        assert len(changed) == 1
        seen.add((changed[0], t.params[changed[0]]))
    assert seen == {(k, v) for k, vs in params.items() for v in vs[1:]}
