"""How one audit event is hashed into the chain.

Each event's digest covers the previous event's digest and every stored field of the event, so
changing, removing, inserting or reordering any event breaks every digest after it.

The hashed bytes are the UTF-8 canonical JSON of
``[prev, seq, repr(float(at)), actor, kind, run_id, payload]`` (``payload`` is itself canonical
JSON text), with the actor's ``identity`` (``authenticated`` or ``self-declared``) appended as an
eighth element when the event records one. Events written before identities were recorded have
none (NULL) and hash as they always did, so their chains still verify; a new event always has
one, and changing it (claiming a self-declared record was authenticated) breaks the digest.
That definition is the contract; :func:`event_digest` builds the same bytes without the generic
encoder because it runs on every write and on every event ``audit verify`` checks.

>>> fields = dict(seq=1, at=0.0, actor="ann", kind="k", run_id=None, payload="{}")
>>> event_digest(prev=GENESIS, **fields) == event_digest(prev=GENESIS, **fields)
True
>>> event_digest(prev=GENESIS, **fields) == reference_digest(prev=GENESIS, **fields)
True
>>> signed = dict(fields, identity="authenticated")
>>> event_digest(prev=GENESIS, **signed) == reference_digest(prev=GENESIS, **signed)
True
>>> event_digest(prev=GENESIS, **signed) == event_digest(prev=GENESIS, **fields)
False
"""

from __future__ import annotations

from json.encoder import encode_basestring

import blake3

from pedigree.jsonutil import canonical_json

__all__ = ["GENESIS", "IDENTITIES", "event_digest", "reference_digest", "row_digest"]

GENESIS = "blake3:" + "0" * 64

_blake3 = blake3.blake3

# What an event may say about its actor: proven by a token (the team server), or taken on trust.
IDENTITIES = ("authenticated", "self-declared")


def event_digest(
    *,
    prev: str,
    seq: int,
    at: float,
    actor: str,
    kind: str,
    run_id: str | None,
    payload: str,
    identity: str | None = None,
) -> str:
    return row_digest(seq, at, actor, kind, run_id, payload, prev, identity)


def row_digest(
    seq: int,
    at: float,
    actor: str,
    kind: str,
    run_id: str | None,
    payload: str,
    prev: str,
    identity: str | None = None,
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
        or (identity is not None and type(identity) is not str)
    ):
        return reference_digest(
            prev=prev,
            seq=seq,
            at=at,
            actor=actor,
            kind=kind,
            run_id=run_id,
            payload=payload,
            identity=identity,
        )
    tail = "]" if identity is None else f",{encode_basestring(identity)}]"
    material = (
        f'[{encode_basestring(prev)},{seq},"{float(at)!r}",{encode_basestring(actor)},'
        f"{encode_basestring(kind)},"
        f"{'null' if run_id is None else encode_basestring(run_id)},{encode_basestring(payload)}"
        f"{tail}"
    )
    return "blake3:" + _blake3(material.encode()).hexdigest()


def reference_digest(
    *,
    prev: str,
    seq: int,
    at: float,
    actor: str,
    kind: str,
    run_id: str | None,
    payload: str,
    identity: str | None = None,
) -> str:
    """The definition of an event's digest, written plainly; :func:`event_digest` equals it."""
    fields: list[object] = [prev, seq, repr(float(at)), actor, kind, run_id, payload]
    if identity is not None:
        fields.append(identity)
    material = canonical_json(fields)
    return "blake3:" + blake3.blake3(material.encode()).hexdigest()
