"""The digest of an audit event: its definition is frozen, and the fast path equals it."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pedigree.store.chain import GENESIS, event_digest, reference_digest

RUN = "0193a5c2-0000-7000-8000-000000000001"


def test_the_definition_does_not_change() -> None:
    # Changing what is hashed would make every existing log fail verification.
    assert (
        event_digest(
            prev=GENESIS,
            seq=1,
            at=1767225600.25,
            actor="ann",
            kind="run.created",
            run_id=RUN,
            payload=f'{{"experiment":"ma","id":"{RUN}"}}',
        )
        == "blake3:7bb9df99afdc5935acb6f5ca8d557eadf81f5ddf3495aa561943e1a15e45f55c"
    )


TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]))


@given(
    prev=TEXT,
    seq=st.integers(),
    at=st.floats() | st.integers(-(2**53), 2**53),
    actor=TEXT,
    kind=TEXT,
    run_id=st.none() | TEXT,
    payload=TEXT,
)
def test_the_fast_path_equals_the_definition(**fields: Any) -> None:
    assert event_digest(**fields) == reference_digest(**fields)


@given(
    field=st.sampled_from(["prev", "seq", "at", "actor", "kind", "run_id", "payload"]),
    value=st.one_of(st.integers(), st.text(), st.none(), st.floats(allow_nan=False)),
)
def test_every_field_is_covered(field: str, value: Any) -> None:
    fields: dict[str, Any] = {
        "prev": GENESIS,
        "seq": 7,
        "at": 2.5,
        "actor": "ann",
        "kind": "run.ended",
        "run_id": RUN,
        "payload": "{}",
    }
    before = event_digest(**fields)
    if fields[field] == value or (
        field == "at" and isinstance(value, int | float) and float(value) == fields["at"]
    ):
        return
    fields[field] = value
    try:
        after = event_digest(**fields)
    except (TypeError, ValueError):
        return  # a value of a type the store cannot hold
    assert after != before
