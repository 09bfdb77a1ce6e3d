"""Metric points packed for the log: exact round trips, one text for equal points, and nothing
accepted that the tables could not hold or that ``pack_points`` could not have made."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pedigree.errors import InvalidInput, InvalidValue
from pedigree.jsonutil import canonical_json
from pedigree.store.codec import Columns, MalformedPoints, columns, pack_points, unpack_points
from pedigree.store.events import event, log_payload

KEYS = st.text(min_size=1, max_size=8)
STEPS = st.integers(-(2**63), 2**63 - 1)
VALUES = st.none() | st.floats() | st.integers(-(2**53), 2**53)
TIMES = st.floats(allow_nan=False, allow_infinity=False)
POINTS = st.lists(st.tuples(KEYS, STEPS, VALUES, TIMES).map(list), max_size=40)


def _as_table(points: list[list[Any]]) -> list[tuple[Any, ...]]:
    """What the tables hold for the points: floats, and None for NaN."""
    out = []
    for key, step, value, ts in points:
        if value is not None:
            value = float(value)
            if math.isnan(value):
                value = None
        out.append((key, step, value, float(ts)))
    return out


@given(POINTS)
def test_points_round_trip_exactly(points: list[list[Any]]) -> None:
    packed = pack_points(points)
    assert list(zip(*unpack_points(packed), strict=True)) == _as_table(points)
    assert list(zip(*columns(points), strict=True)) == _as_table(points)


@given(POINTS)
def test_the_packed_text_is_canonical_and_stable(points: list[list[Any]]) -> None:
    packed = pack_points(points)
    # A function of the points alone: packing them again, or packing what was unpacked, gives
    # the same text, so the payload's canonical JSON (and its digest) cannot differ.
    assert pack_points([list(p) for p in points]) == packed
    again = [list(p) for p in zip(*unpack_points(packed), strict=True)]
    assert pack_points(again) == packed
    assert json.loads(canonical_json(packed)) == packed
    assert packed["keys"] == list(dict.fromkeys(p[0] for p in points))


def test_the_edge_values() -> None:
    points = [
        ["loss", -(2**63), math.inf, 1.5],
        ["loss", 2**63 - 1, -math.inf, -1.5],
        ["naïve ∑ 指標 🚀", -7, None, 0.0],
        ["loss", 0, -0.0, 1e300],
        ["naïve ∑ 指標 🚀", 3, 5e-324, 2.0],
    ]
    keys, steps, values, times = unpack_points(pack_points(points))
    assert keys == ["loss", "loss", "naïve ∑ 指標 🚀", "loss", "naïve ∑ 指標 🚀"]
    assert steps == (-(2**63), 2**63 - 1, -7, 0, 3)
    assert list(values) == [math.inf, -math.inf, None, -0.0, 5e-324]
    assert math.copysign(1, values[3]) == -1  # the sign of zero survives
    assert times == (1.5, -1.5, 0.0, 1e300, 2.0)


def test_every_nan_packs_the_same() -> None:
    negative_nan = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000001))[0]
    assert math.isnan(negative_nan)
    texts = {
        pack_points([["m", 0, value, 1.0]])["data"] for value in (None, math.nan, negative_nan)
    }
    assert len(texts) == 1
    (data,) = texts
    assert base64.b64decode(data)[10:18] == struct.pack("<d", math.nan)  # the one quiet NaN
    assert pack_points([["m", 0, 2, 1]]) == pack_points([["m", 0, 2.0, 1.0]])


def test_the_layout_is_little_endian_columns() -> None:
    packed = pack_points([["a", 1, 0.5, 10.0], ["b", 2, 0.25, 20.0]])
    assert packed["keys"] == ["a", "b"]
    assert base64.b64decode(packed["data"]) == struct.pack(
        "<2H2q2d2d", 0, 1, 1, 2, 0.5, 0.25, 10.0, 20.0
    )
    assert pack_points([]) == {"keys": [], "data": ""}
    assert unpack_points({"keys": [], "data": ""}) == Columns([], (), (), ())


def test_more_names_than_a_uint16_index_holds() -> None:
    points = [[f"m{i}", i, float(i), 1.0] for i in range(70_000)]
    packed = pack_points(points)
    assert len(base64.b64decode(packed["data"])) == 70_000 * 28  # a uint32 index
    keys, steps, _values, _times = unpack_points(packed)
    assert keys[69_999] == "m69999"
    assert steps[69_999] == 69_999


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([["m", 0, 1.0]], r"\[key, step, value, timestamp\]"),
        ([["m", 0, 1.0, 2.0], ["m", 1, 1.0, 2.0, 3]], r"\[key, step, value, timestamp\]"),
        ([[7, 0, 1.0, 2.0]], "a metric name must be a string"),
        ([["m", 1.5, 1.0, 2.0]], "the step of metric 'm' must be an integer"),
        ([["m", 2**64, 1.0, 2.0]], "out of range"),
        ([["m", 0, "1.0", 2.0]], "the value of metric 'm' must be a number"),
        ([["m", 0, 1.0, None]], "the time of metric 'm' must be a number"),
        ([["m", 0, 1.0, math.nan]], "must be a finite number"),
    ],
)
def test_points_the_tables_cannot_hold_are_refused(points: list[Any], message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        pack_points(points)


GOOD = pack_points([["a", 1, 0.5, 10.0], ["b", 2, 0.25, 20.0]])


@pytest.mark.parametrize(
    "packed",
    [
        [["a", 1, 0.5, 10.0]],  # the unpacked form
        {"keys": ["a", "b"]},
        {**GOOD, "extra": 1},
        {"keys": "ab", "data": GOOD["data"]},
        {"keys": ["a", 2], "data": GOOD["data"]},
        {"keys": ["a"], "data": GOOD["data"]},  # an index past the names
        {"keys": ["a", "b"], "data": GOOD["data"][:-4]},  # not whole points
        {"keys": ["a", "b"], "data": "not base64!"},
        {"keys": ["a", "b"], "data": GOOD["data"] + "\n"},
        {"keys": ["a", "b"], "data": 12},
    ],
)
def test_a_packed_object_pack_points_cannot_have_made_is_malformed(packed: Any) -> None:
    with pytest.raises(MalformedPoints):
        unpack_points(packed)


@given(st.text(max_size=40), POINTS)
def test_the_logged_payload_is_the_canonical_json_of_the_packed_event(
    run_id: str, points: list[list[Any]]
) -> None:
    # log_payload writes the common payload by hand, to skip escaping the base64 text.
    expected = canonical_json({"run_id": run_id, "points": pack_points(points)})
    # As columns: the same packing path as a list, without the key checks a list event makes.
    assert log_payload(event("run.metrics", {"run_id": run_id, "points": columns(points)})) == (
        expected
    )
    # A typed event has no other fields: the log can never hold an unchecked one.
    with pytest.raises(InvalidInput, match="unknown fields note"):
        event("run.metrics", {"run_id": run_id, "points": points, "note": "x"})
