"""The team server's delivered batches: a client's retried batch is recorded once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 22:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_batches",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_batches")),
    )


def downgrade() -> None:
    op.drop_table("server_batches")
