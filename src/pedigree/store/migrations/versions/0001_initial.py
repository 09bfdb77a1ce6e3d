"""Initial schema: runs, data, lineage, reproductions, approvals, sweeps and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 18:39:41.649411
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

GENESIS = "blake3:" + "0" * 64


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    op.create_index(op.f("ix_approvals_target"), "approvals", ["target"], unique=False)
    op.create_table(
        "audit_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev", sa.String(length=80), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    op.create_index(
        op.f("ix_audit_events_actor_seq"), "audit_events", ["actor", "seq"], unique=False
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False)
    op.create_index(op.f("ix_audit_events_run_id"), "audit_events", ["run_id"], unique=False)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "datasets",
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("user", sa.String(length=250), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_datasets")),
    )
    op.create_index(op.f("ix_datasets_digest"), "datasets", ["digest"], unique=False)
    op.create_index(
        op.f("ix_datasets_run_id"),
        "datasets",
        ["run_id"],
        unique=False,
        sqlite_where=sa.text("run_id IS NOT NULL"),
        postgresql_where=sa.text("run_id IS NOT NULL"),
    )
    op.create_table(
        "environments",
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("python", sa.String(length=64), nullable=True),
        sa.Column("platform", sa.Text(), nullable=True),
        sa.Column("packages_digest", sa.String(length=80), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_environments")),
    )
    op.create_table(
        "latest_metrics",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_latest_metrics")),
    )
    op.create_index(
        op.f("ix_latest_metrics_key_value"), "latest_metrics", ["key", "value"], unique=False
    )
    op.create_table(
        "metrics",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
    )
    op.create_index(
        op.f("ix_metrics_run_id_key_step"), "metrics", ["run_id", "key", "step"], unique=False
    )
    op.create_table(
        "params",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("num", sa.Double(), nullable=True),
        sa.Column("str", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_params")),
    )
    op.create_index(op.f("ix_params_key_num"), "params", ["key", "num"], unique=False)
    op.create_table(
        "reproductions",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("original_id", sa.String(length=36), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_reproductions")),
    )
    op.create_index(
        op.f("ix_reproductions_original_id"), "reproductions", ["original_id"], unique=False
    )
    op.create_table(
        "run_io",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.Column("modified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "role", "path", name=op.f("pk_run_io")),
    )
    op.create_index(op.f("ix_run_io_path"), "run_io", ["path"], unique=False)
    op.create_index(
        op.f("ix_run_io_digest_role_run_id_path"),
        "run_io",
        ["digest", "role", "run_id", "path"],
        unique=False,
    )
    op.create_table(
        "run_liveness",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=250), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("heartbeat_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_liveness")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("experiment", sa.String(length=250), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("cwd", sa.Text(), nullable=True),
        sa.Column("user", sa.String(length=250), nullable=True),
        sa.Column("host", sa.String(length=250), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("code_commit", sa.String(length=64), nullable=True),
        sa.Column("code_branch", sa.Text(), nullable=True),
        sa.Column("code_remote", sa.Text(), nullable=True),
        sa.Column("code_dirty", sa.Boolean(), nullable=True),
        sa.Column("code_patch_digest", sa.String(length=80), nullable=True),
        sa.Column("code_extra", sa.Text(), nullable=True),
        sa.Column("environment_digest", sa.String(length=80), nullable=True),
        sa.Column("invocation", sa.Text(), nullable=True),
        sa.Column("stdout_digest", sa.String(length=80), nullable=True),
        sa.Column("stderr_digest", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_experiment_id"), "runs", ["experiment", "id"], unique=False)
    op.create_index(op.f("ix_runs_parent_id"), "runs", ["parent_id"], unique=False)
    op.create_index(op.f("ix_runs_status"), "runs", ["status"], unique=False)
    op.create_table(
        "sweeps",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_sweeps")),
    )
    op.create_table(
        "tree_entries",
        sa.Column("tree_digest", sa.String(length=80), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tree_digest", "path", name=op.f("pk_tree_entries")),
    )
    op.create_index(op.f("ix_tree_entries_digest"), "tree_entries", ["digest"], unique=False)
    op.create_index(
        op.f("ix_tree_entries_digest_tree_digest_path"),
        "tree_entries",
        ["digest", "tree_digest", "path"],
        unique=False,
    )
    # The single row every writer locks; the chain starts from the genesis digest.
    op.bulk_insert(
        sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("digest")),
        [{"id": 1, "seq": 0, "digest": GENESIS}],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tree_entries_digest_tree_digest_path"), table_name="tree_entries")
    op.drop_index(op.f("ix_tree_entries_digest"), table_name="tree_entries")
    op.drop_table("tree_entries")
    op.drop_table("sweeps")
    op.drop_index(op.f("ix_runs_status"), table_name="runs")
    op.drop_index(op.f("ix_runs_parent_id"), table_name="runs")
    op.drop_index(op.f("ix_runs_experiment_id"), table_name="runs")
    op.drop_table("runs")
    op.drop_table("run_liveness")
    op.drop_index(op.f("ix_run_io_digest_role_run_id_path"), table_name="run_io")
    op.drop_index(op.f("ix_run_io_path"), table_name="run_io")
    op.drop_table("run_io")
    op.drop_index(op.f("ix_reproductions_original_id"), table_name="reproductions")
    op.drop_table("reproductions")
    op.drop_index(op.f("ix_params_key_num"), table_name="params")
    op.drop_table("params")
    op.drop_index(op.f("ix_metrics_run_id_key_step"), table_name="metrics")
    op.drop_table("metrics")
    op.drop_index(op.f("ix_latest_metrics_key_value"), table_name="latest_metrics")
    op.drop_table("latest_metrics")
    op.drop_table("environments")
    op.drop_index(op.f("ix_datasets_run_id"), table_name="datasets")
    op.drop_index(op.f("ix_datasets_digest"), table_name="datasets")
    op.drop_table("datasets")
    op.drop_table("audit_head")
    op.drop_index(op.f("ix_audit_events_run_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_actor_seq"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index(op.f("ix_approvals_target"), table_name="approvals")
    op.drop_table("approvals")
