"""The migrations create exactly the schema the code declares, on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pedigree.store import open_store
from pedigree.store.migrations import HEAD_REVISION
from pedigree.store.migrations.runner import head_revision
from pedigree.store.schema import metadata


def test_head_revision_constant_matches_the_migrations() -> None:
    assert head_revision() == HEAD_REVISION


def test_migrated_schema_matches_the_declared_tables(store_uri: str) -> None:
    store = open_store(store_uri)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


def test_the_edge_table_is_filled_from_the_existing_rows(store_uri: str) -> None:
    """Migration 0002 adds ``run_edges`` to a store that has lineage rows already, filled with
    the edges those rows make (and goes back down)."""
    from alembic import command
    from tests.lineage.test_queries import random_graph

    from pedigree.store import edges
    from pedigree.store import schema as t
    from pedigree.store.migrations.runner import alembic_config, upgrade

    store = open_store(store_uri)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    with store.engine.connect() as conn:
        assert not sa.inspect(conn).has_table("run_edges")
    g = random_graph(4)
    with store.engine.begin() as conn:
        for table, rows in (
            (t.run_io, g.io),
            (t.tree_entries, g.entries),
            (t.datasets, g.datasets),
            (t.reproductions, g.reproductions),
        ):
            conn.execute(table.insert(), rows)
    with store.engine.begin() as conn:
        upgrade(conn)
    with store.engine.connect() as conn:
        table = {tuple(r) for r in conn.exec_driver_sql("SELECT src, dst FROM run_edges")}
        assert table
        assert table == {tuple(r) for r in conn.exec_driver_sql(edges.full_select())}
        assert store.schema_revision() == HEAD_REVISION
    store.close()
