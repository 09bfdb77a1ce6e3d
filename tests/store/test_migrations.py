"""The migrations create exactly the schema the code declares, on both backends."""

from __future__ import annotations

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
