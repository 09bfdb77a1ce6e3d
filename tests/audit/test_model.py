"""The verifier's model of the tables agrees with the projectors, event kind by event kind.

``audit verify`` restates every projector as a fold over dicts (``pedigree.audit.model``). These
tests hold the two together: the same kinds and tables, and, for random histories (with
refused writes, repeated values, NaN and infinities, overwrites and duplicates), tables written
by the real projectors that the model's fold verifies, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import TEMPLATE_DB

from pedigree.audit.model import (
    FOLDS,
    GLOBAL_KINDS,
    PARTITION_COLUMN,
    RUN_KINDS,
    TABLES,
    CollectSink,
    Model,
    canonical,
    scalar_json,
)
from pedigree.audit.verify import DERIVED, UNVERIFIED, verify
from pedigree.errors import PedigreeError
from pedigree.jsonutil import canonical_json
from pedigree.store import open_store
from pedigree.store import schema as t
from pedigree.store.events import REGISTRY, Event, event
from pedigree.store.projections import PROJECTORS
from pedigree.testing.postgres import TemporaryPostgres


def test_every_event_kind_has_a_projector_and_a_fold() -> None:
    # A new event kind needs a projector (store/projections.py) to reach the tables, and a fold
    # in pedigree/audit/model.py (and a place in RUN_KINDS or GLOBAL_KINDS) before
    # `audit verify` can check what it writes.
    kinds = set(REGISTRY.values())
    assert set(PROJECTORS) == kinds
    assert set(FOLDS) == kinds
    assert set(Model(CollectSink()).folds) == set(REGISTRY) == RUN_KINDS | GLOBAL_KINDS
    assert not RUN_KINDS & GLOBAL_KINDS


def test_every_table_is_verified_or_deliberately_left_out() -> None:
    tables = set(t.metadata.tables)
    assert set(TABLES) | DERIVED | (UNVERIFIED - {"alembic_version"}) == tables
    for name, (keys, cols) in TABLES.items():
        table = t.metadata.tables[name]
        assert [c.name for c in table.columns] == sorted(
            [*keys, *cols], key=[c.name for c in table.columns].index
        )
        assert {c.name for c in table.columns} == {*keys, *cols}
        assert tuple(c.name for c in table.primary_key.columns) == keys
        if name in PARTITION_COLUMN:
            assert PARTITION_COLUMN[name] in keys or PARTITION_COLUMN[name] in cols


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=6,
    )
)
def test_scalar_json_is_canonical_json(value: Any) -> None:
    assert scalar_json(value) == canonical_json(value)
    assert canonical(value) == canonical_json(value)  # the model's prebuilt encoder


# -- random histories -----------------------------------------------------------------------------

KEYS = ["window", "fee", "sym", 'é "q"']
VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5)
    | st.lists(st.integers(0, 3), max_size=2)
    | st.dictionaries(st.sampled_from(["b", "a"]), st.integers(0, 3), max_size=2)
)
METRIC_VALUES = st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5)
DIGESTS = [f"blake3:{c * 64}" for c in "abc"]


def _event(data: st.DataObject, runs: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """A kind and a payload, drawn (which may not make a valid event: see _random_history)."""
    kind = data.draw(
        st.sampled_from(
            ["run.created"] * 3 + sorted(REGISTRY)
            if runs
            else ["run.created", "environment.recorded"]
        )
    )
    run = data.draw(st.sampled_from(runs)) if runs else ""
    if kind == "run.created":
        rid = str(uuid.uuid4())
        runs.append(rid)
        payload: dict[str, Any] = {
            "id": rid,
            "experiment": data.draw(st.sampled_from(["e1", "e2"])),
            "started_at": data.draw(st.floats(0, 2e9)),
        }
        for key, strategy in (
            ("name", st.none() | st.text(max_size=4)),
            ("kind", st.sampled_from(["run", "sweep", "reproduction"])),
            ("parent_id", st.none() | st.sampled_from(runs)),
            ("command", st.none() | st.lists(st.text(max_size=4), max_size=2)),
            ("seed", st.none() | st.integers(0, 2**62)),
            ("pid", st.integers(1, 2**31 - 1)),
        ):
            if data.draw(st.booleans()):
                payload[key] = data.draw(strategy)
        return [(kind, payload)]
    if kind == "run.updated":
        fields = data.draw(
            st.dictionaries(
                st.sampled_from(["experiment", "name", "seed"]),
                st.text(min_size=1, max_size=3),
                max_size=2,
            )
        )
        return [(kind, {"run_id": run, **fields})]
    if kind == "run.params":
        params = data.draw(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3))
        return [(kind, {"run_id": run, "params": params})]
    if kind == "run.metrics":
        points = data.draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["pnl", "loss"]),
                    st.integers(0, 4),
                    METRIC_VALUES,
                    st.floats(0, 2e9),
                ).map(list),
                max_size=6,
            )
        )
        return [(kind, {"run_id": run, "points": points})]
    if kind == "run.captured":
        code = data.draw(
            st.none()
            | st.fixed_dictionaries(
                {},
                optional={
                    "commit": st.text(max_size=4),
                    "dirty": st.none() | st.booleans(),
                    "extra": st.none() | st.dictionaries(st.sampled_from(["x"]), st.integers()),
                },
            )
        )
        invocation = data.draw(
            st.none() | st.dictionaries(st.sampled_from(["argv"]), st.integers())
        )
        env = data.draw(st.none() | st.sampled_from(DIGESTS))
        payload = {"run_id": run, "code": code, "environment_digest": env, "invocation": invocation}
        return [(kind, payload)]
    if kind in ("run.io", "run.attached"):
        items = [
            {
                "role": data.draw(st.sampled_from(["input", "output"])),
                "path": data.draw(st.sampled_from(["a.csv", "b/c.csv"])),
                "digest": data.draw(st.sampled_from(DIGESTS)),
                "size": data.draw(st.integers(0, 2**40)),
                "kind": "file",
                **data.draw(
                    st.fixed_dictionaries(
                        {}, optional={"declared": st.booleans(), "modified": st.booleans()}
                    )
                ),
            }
            # (run.attached with no items trips a SQLAlchemy deprecation in its projector)
            for _ in range(data.draw(st.integers(1 if kind == "run.attached" else 0, 2)))
        ]
        return [(kind, {"run_id": run, "items": items})]
    if kind == "run.ended":
        status = data.draw(st.sampled_from(["finished", "failed", "killed", "crashed"]))
        payload = {"run_id": run, "status": status, "ended_at": data.draw(st.floats(0, 2e9))}
        if data.draw(st.booleans()):
            payload["exit_code"] = data.draw(st.integers(-9, 255))
        return [(kind, payload)]
    if kind == "environment.recorded":
        digest = data.draw(st.sampled_from(DIGESTS))
        data_ = {"python": data.draw(st.sampled_from(["3.11", "3.12"])), "n": [1, 2]}
        return [(kind, {"digest": digest, "python": data_["python"], "data": data_})]
    if kind == "tree.recorded":
        paths = data.draw(st.lists(st.sampled_from(["x", "y/z"]), unique=True, max_size=2))
        entries = [[p, data.draw(st.sampled_from(DIGESTS)), 3] for p in paths]
        return [(kind, {"digest": data.draw(st.sampled_from(DIGESTS)), "entries": entries})]
    if kind == "dataset.versioned":
        payload = {
            "name": data.draw(st.sampled_from(["prices", "fx"])),
            "version": data.draw(st.integers(1, 3)),
            "digest": data.draw(st.sampled_from(DIGESTS)),
            "kind": "dir",
            "size": 10,
            "file_count": 2,
            "created_at": 1.5,
            "run_id": data.draw(st.none() | st.sampled_from(runs)),
        }
        return [(kind, payload)]
    if kind == "reproduction.recorded":
        payload = {
            "run_id": run,
            "original_id": data.draw(st.sampled_from(runs)),
            "verdict": data.draw(st.sampled_from(["identical", "diverged"])),
            "details": {"differences": data.draw(st.lists(st.text(max_size=3), max_size=2))},
        }
        return [(kind, payload)]
    if kind == "approval.recorded":
        payload = {
            "id": str(uuid.uuid4()),
            "target_type": "run",
            "target": run,
            "decision": data.draw(st.sampled_from(["approved", "rejected"])),
            "note": data.draw(st.none() | st.text(max_size=5)),
            "actor": "rev",
            "at": 3.0,
        }
        return [(kind, payload)]
    if kind == "model.registered":
        payload = {
            "name": data.draw(st.sampled_from(["m", "n"])),
            "version": data.draw(st.integers(1, 3)),
            "digest": data.draw(st.sampled_from(DIGESTS)),
            "kind": "file",
            "size": 3,
            "run_id": data.draw(st.none() | st.sampled_from(runs)),
            "actor": "me",
            "at": 2.0,
        }
        if data.draw(st.booleans()):
            payload["selection"] = {"trials": 2}
        return [(kind, payload)]
    if kind == "model.alias_moved":
        payload = {
            "name": "m",
            "alias": data.draw(st.sampled_from(["production", "champion"])),
            "number": data.draw(st.integers(1, 3)),
            "version": data.draw(st.integers(1, 3)),
            "previous": data.draw(st.none() | st.integers(1, 3)),
            "actor": "me",
            "at": 2.5,
        }
        return [(kind, payload)]
    if kind in ("run.tagged", "run.untagged"):
        payload = {
            "run_id": run,
            "key": data.draw(st.sampled_from(["stage", "desk"])),
            "number": data.draw(st.integers(1, 3)),
            "actor": "me",
            "at": 4.0,
        }
        if kind == "run.tagged":
            payload["value"] = data.draw(st.text(max_size=4))
        return [(kind, payload)]
    if kind == "import.recorded":
        payload = {
            "source": f"mlflow:{data.draw(st.sampled_from(['a1', 'b2', 'c3']))}",
            "target_type": "run",
            "target": run,
            "actor": "me",
            "at": 5.0,
        }
        if data.draw(st.booleans()):
            payload["details"] = {"tags": {"team": data.draw(st.text(max_size=3))}}
        return [(kind, payload)]
    if kind in ("user.added", "user.role_changed", "user.disabled"):
        payload = {"name": data.draw(st.sampled_from(["u1", "u2"])), "actor": "root", "at": 6.0}
        if kind != "user.disabled":
            payload["role"] = data.draw(st.sampled_from(["researcher", "reviewer", "admin"]))
        return [(kind, payload)]
    if kind in ("token.created", "token.revoked"):
        payload = {"id": data.draw(st.sampled_from(["0a0a0a0a", "1b1b1b1b"])), "at": 7.0}
        if kind == "token.created":
            payload["user"] = data.draw(st.sampled_from(["u1", "u2"]))
            payload["hash"] = "sha256:" + "ab" * 32
            payload["expires_at"] = data.draw(st.none() | st.floats(0, 2e9))
        return [(kind, payload)]
    if kind == "user.password_set":
        name = data.draw(st.sampled_from(["u1", "u2"]))
        digest = "$argon2id$v=19$m=65536,t=3,p=4$" + data.draw(st.sampled_from(["a", "b"])) * 22
        return [(kind, {"name": name, "hash": digest, "actor": "root", "at": 6.5})]
    if kind == "policy.changed":
        policy = {"allow_self": data.draw(st.booleans()), "required": data.draw(st.integers(1, 3))}
        return [(kind, {"number": data.draw(st.integers(1, 3)), "policy": policy, "at": 8.0})]
    assert kind == "sweep.created", kind
    return [(kind, {"run_id": run, "spec": {"grid": {"w": [1, 2]}}})]


def _random_history(store: Any, data: st.DataObject) -> int:
    runs: list[str] = []
    written = 0
    for _ in range(data.draw(st.integers(1, 30))):
        drawn = _event(data, runs)
        if data.draw(st.booleans()):
            drawn += _event(data, runs)  # two events in one write
        try:
            # An event that refuses its values when built is a write refused as a whole too.
            events: list[Event] = [event(kind, payload) for kind, payload in drawn]
            store.append(events, actor=data.draw(st.sampled_from(["ann", "bob"])))
            written += len(events)
        except (PedigreeError, KeyError, TypeError, ValueError):
            pass  # refused as a whole: nothing of it may appear in the log or the tables
    return written


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_random_histories_verify_on_sqlite(data: st.DataObject) -> None:
    store = open_store("sqlite://")
    try:
        written = _random_history(store, data)
        for shares in (1, 3):
            report = verify(store, processes=shares, in_process=True)
            assert report.ok, [str(p) for p in report.problems]
            assert report.events == written
    finally:
        store.close()


@pytest.mark.postgres
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_random_histories_verify_on_postgresql(
    pg_server: TemporaryPostgres, data: st.DataObject
) -> None:
    name = f"h_{uuid.uuid4().hex[:12]}"
    store = open_store(pg_server.create_database(name, template=TEMPLATE_DB))
    try:
        written = _random_history(store, data)
        for shares in (1, 3):
            report = verify(store, processes=shares, in_process=True)
            assert report.ok, [str(p) for p in report.problems]
            assert report.events == written
    finally:
        store.close()
        pg_server.drop_database(name)
