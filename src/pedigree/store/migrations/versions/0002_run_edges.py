"""Run-to-run edges for the impact closure, filled from the lineage tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pedigree.store import edges

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_edges",
        sa.Column("src", sa.String(length=36), nullable=False),
        sa.Column("dst", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("src", "dst", name=op.f("pk_run_edges")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_run_edges_dst"), "run_edges", ["dst"], unique=False)
    # The edges the store's existing rows make, as the projectors would have added them.
    edges.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f("ix_run_edges_dst"), table_name="run_edges")
    op.drop_table("run_edges")
