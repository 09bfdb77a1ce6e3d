"""Alembic environment: always given a live connection by ``runner.upgrade``."""

from __future__ import annotations

from alembic import context

from pedigree.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run Pedigree's migrations through pedigree.store.migrations.runner")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
