"""How one audit event is hashed into the chain.

Each event's digest covers the previous event's digest and every stored field of the event, so
changing, removing, inserting or reordering any event breaks every digest after it.

The hashed bytes are the UTF-8 canonical JSON of
``[prev, seq, repr(float(at)), actor, kind, run_id, payload]`` (``payload`` is itself canonical
JSON text). That definition is the contract; :func:`event_digest` builds the same bytes without
the generic encoder because it runs on every write and on every event ``audit verify`` checks.

>>> fields = dict(seq=1, at=0.0, actor="ann", kind="k", run_id=None, payload="{}")
>>> event_digest(prev=GENESIS, **fields) == event_digest(prev=GENESIS, **fields)
True
>>> event_digest(prev=GENESIS, **fields) == reference_digest(prev=GENESIS, **fields)
True
"""

from __future__ import annotations

from json.encoder import encode_basestring

import blake3

from pedigree.jsonutil import canonical_json

__all__ = ["GENESIS", "event_digest", "reference_digest", "row_digest"]

GENESIS = "blake3:" + "0" * 64

_blake3 = blake3.blake3


def event_digest(
    *, prev: str, seq: int, at: float, actor: str, kind: str, run_id: str | None, payload: str
) -> str:
    return row_digest(seq, at, actor, kind, run_id, payload, prev)


def row_digest(
    seq: int, at: float, actor: str, kind: str, run_id: str | None, payload: str, prev: str
) -> str:
    """:func:`event_digest` with positional arguments in ``audit_events`` column order."""
    # Only the types the store hands back take the fast path; anything else (a value edited
    # to another type behind Pedigree's back) goes through the reference definition.
    if (
        type(seq) is not int
        or type(prev) is not str
        or type(actor) is not str
        or type(kind) is not str
        or type(payload) is not str
        or (run_id is not None and type(run_id) is not str)
    ):
        return reference_digest(
            prev=prev, seq=seq, at=at, actor=actor, kind=kind, run_id=run_id, payload=payload
        )
    material = (
        f'[{encode_basestring(prev)},{seq},"{float(at)!r}",{encode_basestring(actor)},'
        f"{encode_basestring(kind)},"
        f"{'null' if run_id is None else encode_basestring(run_id)},{encode_basestring(payload)}]"
    )
    return "blake3:" + _blake3(material.encode()).hexdigest()


def reference_digest(
    *, prev: str, seq: int, at: float, actor: str, kind: str, run_id: str | None, payload: str
) -> str:
    """The definition of an event's digest, written plainly; :func:`event_digest` equals it."""
    material = canonical_json([prev, seq, repr(float(at)), actor, kind, run_id, payload])
    return "blake3:" + blake3.blake3(material.encode()).hexdigest()
