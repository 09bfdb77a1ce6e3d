"""Imports: where a record brought in from another tool came from (``pedigree import mlflow``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 22:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=250), nullable=True),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_imports")),
    )
    op.create_index(op.f("ix_imports_target"), "imports", ["target"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_imports_target"), table_name="imports")
    op.drop_table("imports")
