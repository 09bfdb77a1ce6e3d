"""The wire encoding of typed rows (pedigree.store.wire): what the remote reader decodes is what
the SQL reader returned, and a hostile message can make nothing but the store's value types."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pedigree.store.reads.lineage import Edge, Graph, NodeRef
from pedigree.store.reads.runs import RunRow
from pedigree.store.remote import ADMIN_READS, READ_METHODS
from pedigree.store.where import parse_order_by, parse_where
from pedigree.store.wire import WireError, decode, dumps, encode, loads


def _round_trip(value: Any) -> Any:
    return decode(loads(dumps(value)))


def test_values_with_their_types_survive_the_wire() -> None:
    a, b = NodeRef("run", "r1"), NodeRef("artifact", "blake3:" + "0" * 64)
    graph = Graph(
        roots=[a],
        direction="down",
        depth=3,
        distance={a: 0, b: 1},
        edges=[Edge(a, b, "generated", "out.csv")],
        paths={b: {"out.csv", "copy.csv"}},
    )
    value = {
        "graph": graph,
        "tuple": (1, "x", None),
        "set": {1, 2},
        "bytes": b"\x00\xff",
        "floats": [math.inf, -math.inf, 1.5],
        "$dollar": "a key that looks like a tag",
    }
    back = _round_trip(value)
    assert back["graph"] == graph
    assert isinstance(back["graph"].roots[0], NodeRef)
    assert back["tuple"] == (1, "x", None)
    assert back["set"] == {1, 2}
    assert back["bytes"] == b"\x00\xff"
    assert back["floats"] == [math.inf, -math.inf, 1.5]
    assert back["$dollar"] == "a key that looks like a tag"
    assert math.isnan(_round_trip(math.nan))


def test_query_arguments_survive_the_wire() -> None:
    where = parse_where("metrics.sharpe > 1 and (params.window in (10, 20) or not status = 'x')")
    order = parse_order_by("-metrics.sharpe,started_at")
    assert _round_trip(where) == where
    assert _round_trip(order) == order


def test_a_run_row_survives_the_wire() -> None:
    row = RunRow(
        **{
            name: None
            for name in RunRow.__dataclass_fields__
            if name not in ("id", "experiment", "kind", "status", "started_at")
        },
        id="r",
        experiment="e",
        kind="run",
        status="running",
        started_at=1.5,
    )
    assert _round_trip(row) == row


@pytest.mark.parametrize(
    "message",
    [
        {"$c": "os.system", "v": {}},  # only the store's row types, by bare name
        {"$c": "Popen", "v": {"args": ["true"]}},
        {"$c": "NodeRef", "v": {"kind": "run"}},  # a field missing
        {"$c": "NodeRef", "v": {"kind": "run", "key": "k", "extra": 1}},
        {"$c": "NodeRef", "v": {"kind": "run", "key": "k"}, "$t": []},  # two tags
        {"$s": [[1]]},  # an unhashable set member
        {"$b": "not base64!"},
        {"$f": "1e400"},
        {"$x": 1},
        {"$d": [[1]]},
    ],
)
def test_messages_the_encoder_cannot_have_made_are_refused(message: Any) -> None:
    with pytest.raises(WireError):
        decode(message)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    deep: Any = 1
    for _ in range(200):
        deep = [deep]
    with pytest.raises(WireError):
        decode(deep)
    with pytest.raises(WireError):
        loads("[" * 100_000 + "]" * 100_000)


def test_only_known_types_are_encoded() -> None:
    class Secret:
        pass

    with pytest.raises(WireError):
        encode(Secret())
    with pytest.raises(WireError):
        loads("NaN")  # not JSON


def test_the_reads_served_are_the_public_reader_methods() -> None:
    assert {"select_runs", "resolve_run", "run_rows", "walk", "dataset_version"} <= READ_METHODS
    assert not any(name.startswith("_") for name in READ_METHODS)
    assert "conn" not in READ_METHODS
    assert "dialect" not in READ_METHODS
    # Token rows hold the hashes of the tokens' secrets: served to an admin only.
    assert ADMIN_READS <= READ_METHODS
    assert {"token", "tokens"} == ADMIN_READS
    # The web UI's password hashes never leave the server.
    assert "password_hash" not in READ_METHODS
