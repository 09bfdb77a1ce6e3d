"""The completeness of a run's file capture as a column: runs.capture_files (issue 15).

The mark (``complete``, ``partial``, ``off``) is recorded in the run's invocation (``run.captured``)
and verified there by the audit; this column, set by the same projection, lets ``impact`` count
the runs with partial capture through an index instead of reading every invocation.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:35:00.000000
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("capture_files", sa.String(length=16), nullable=True))
    op.create_index(op.f("ix_runs_capture_files"), "runs", ["capture_files"], unique=False)
    # Runs recorded with the mark before this column existed.
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, invocation FROM runs WHERE invocation LIKE :p"),
        {"p": '%"capture":{"files":%'},
    ).fetchall()
    for run_id, invocation in rows:
        mark = (json.loads(invocation).get("capture") or {}).get("files")
        if isinstance(mark, str):
            conn.execute(
                sa.text("UPDATE runs SET capture_files = :m WHERE id = :id"),
                {"m": mark[:16], "id": run_id},
            )


def downgrade() -> None:
    op.drop_index(op.f("ix_runs_capture_files"), table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("capture_files")
