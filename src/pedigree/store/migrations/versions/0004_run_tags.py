"""Run tags: one value per key and run, set and removed by ``run.tagged`` / ``run.untagged``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 22:35:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_tags",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_run_tags")),
    )
    op.create_index(op.f("ix_run_tags_key"), "run_tags", ["key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_run_tags_key"), table_name="run_tags")
    op.drop_table("run_tags")
