"""How one audit event is hashed into the chain.

Each event's digest covers the previous event's digest and every stored field of the event, so
changing, removing, inserting or reordering any event breaks every digest after it.

>>> fields = dict(seq=1, at=0.0, actor="ann", kind="k", run_id=None, payload="{}")
>>> event_digest(prev=GENESIS, **fields) == event_digest(prev=GENESIS, **fields)
True
"""

from __future__ import annotations

import blake3

from pedigree.jsonutil import canonical_json

__all__ = ["GENESIS", "event_digest"]

GENESIS = "blake3:" + "0" * 64


def event_digest(
    *, prev: str, seq: int, at: float, actor: str, kind: str, run_id: str | None, payload: str
) -> str:
    material = canonical_json([prev, seq, repr(float(at)), actor, kind, run_id, payload])
    return "blake3:" + blake3.blake3(material.encode()).hexdigest()
