"""The relational schema: tables are projections of the audit log's events.

Every table except ``run_liveness`` and ``audit_head`` is derived from ``audit_events``: a write
appends an event and applies it to the tables in the same transaction (see ``store.projections``).
Migrations under ``store/migrations`` create exactly this schema; a test compares the two.

Times are seconds since the Unix epoch (UTC) as double precision, which both SQLite and
PostgreSQL index and compare the same way. JSON documents are stored as canonical text.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata"]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = sa.String(36)
_DIGEST = sa.String(80)
_NAME = sa.String(250)
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("experiment", _NAME, nullable=False),
    sa.Column("name", _NAME),
    sa.Column("kind", sa.String(16), nullable=False),  # run | sweep | reproduction
    sa.Column("parent_id", _ID),  # the sweep a trial belongs to
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("command", sa.Text),  # JSON argv
    sa.Column("cwd", sa.Text),
    sa.Column("user", _NAME),
    sa.Column("host", _NAME),
    sa.Column("pid", sa.Integer),
    sa.Column("seed", sa.BigInteger),
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("ended_at", sa.Double),
    sa.Column("exit_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("code_commit", sa.String(64)),
    sa.Column("code_branch", sa.Text),
    sa.Column("code_remote", sa.Text),
    sa.Column("code_dirty", sa.Boolean),
    sa.Column("code_patch_digest", _DIGEST),
    sa.Column("code_extra", sa.Text),  # JSON: repo root, untracked files, notes
    sa.Column("environment_digest", _DIGEST),
    sa.Column("invocation", sa.Text),  # JSON: argv, cwd, recorded environment variables
    sa.Column("stdout_digest", _DIGEST),
    sa.Column("stderr_digest", _DIGEST),
    # complete | partial | off: the file-capture mark of the invocation, for impact's count
    sa.Column("capture_files", sa.String(16)),
    sa.Index(None, "experiment", "id"),
    sa.Index(None, "status"),
    sa.Index(None, "parent_id"),
    sa.Index(None, "capture_files"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column("key", _NAME, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),  # canonical JSON
    sa.Column("num", sa.Double),  # numbers and booleans, for comparisons
    sa.Column("str", sa.Text),  # strings, for comparisons
    sa.Index(None, "key", "num"),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("run_id", _ID, nullable=False),
    sa.Column("key", _NAME, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double),  # NULL is NaN
    sa.Column("ts", sa.Double, nullable=False),
    sa.Index(None, "run_id", "key", "step"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column("key", _NAME, primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Index(None, "key", "value"),
)

environments = sa.Table(
    "environments",
    metadata,
    sa.Column("digest", _DIGEST, primary_key=True),
    sa.Column("python", sa.String(64)),
    sa.Column("platform", sa.Text),
    sa.Column("packages_digest", _DIGEST),
    sa.Column("data", sa.Text, nullable=False),  # JSON, the full description
)

# Files and folders a run read (role "input") or wrote (role "output").
run_io = sa.Table(
    "run_io",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column("role", sa.String(8), primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),  # relative to the project root, / separated
    sa.Column("digest", _DIGEST, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # file | dir
    sa.Column("declared", sa.Boolean, nullable=False),  # explicit (--input, run.use) or captured
    sa.Column("modified", sa.Boolean, nullable=False),  # an input that changed during the run
    sa.Index(None, "path"),
    # Lineage walks look up the readers and writers of a digest, and the paths they used, without
    # touching the table (and any lookup by digest alone uses it too).
    sa.Index(None, "digest", "role", "run_id", "path"),
)

# The files of every folder manifest (Merkle tree), so lineage can join a file to its folders.
tree_entries = sa.Table(
    "tree_entries",
    metadata,
    sa.Column("tree_digest", _DIGEST, primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("digest", _DIGEST, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Index(None, "digest"),
    # Lineage: the folders holding a file, and where, from the index alone.
    sa.Index(None, "digest", "tree_digest", "path"),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("name", _NAME, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("digest", _DIGEST, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("path", sa.Text),  # where it was added from, relative to the project root
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("user", _NAME),
    sa.Column("run_id", _ID),  # the run that produced it, if any
    sa.Index(None, "digest"),
    # Lineage: the dataset versions a run produced. Most have no run: leaving them out keeps the
    # planners' estimate for a run id at "a few rows" (else they scan the table instead).
    sa.Index(
        None,
        "run_id",
        sqlite_where=sa.text("run_id IS NOT NULL"),
        postgresql_where=sa.text("run_id IS NOT NULL"),
    ),
)

# A reproduction is a run (kind "reproduction"); this row links it to the original and holds
# the verdict.
reproductions = sa.Table(
    "reproductions",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column("original_id", _ID, nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # JSON: what was compared, what differed
    sa.Index(None, "original_id"),
)

# Run-to-run edges, kept by the projections (see ``store.edges``): run ``dst`` read something
# run ``src`` made. The impact closure walks them by ``src`` (the primary key); ``dst`` finds the
# edges of a run whose inputs are recorded again. On SQLite the table is its primary key.
run_edges = sa.Table(
    "run_edges",
    metadata,
    sa.Column("src", _ID, primary_key=True),
    sa.Column("dst", _ID, primary_key=True),
    sa.Index(None, "dst"),
    sqlite_with_rowid=False,
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("target_type", sa.String(16), nullable=False),  # run | dataset | artifact
    sa.Column("target", sa.Text, nullable=False),  # run id, NAME@vN or digest
    sa.Column("decision", sa.String(16), nullable=False),  # approved | rejected
    sa.Column("note", sa.Text),
    sa.Column("actor", _NAME, nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Index(None, "target"),
)

sweeps = sa.Table(
    "sweeps",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),  # JSON: grid, mode, metric, direction, command
)

# Tags of a run (``pedigree tag``): every set and removal, numbered per run and key; the last
# row of a key is its current value, a NULL value a removal. Kept whole so that the record says
# who tagged what when, as ``model_aliases`` keeps every move.
run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column("key", _NAME, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("actor", _NAME),
    sa.Column("at", sa.Double, nullable=False),
)

# The model registry: a version is stored content under a name, numbered per name; an alias
# points at the version its latest move names (moves are kept, numbered per alias).
model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", _NAME, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("digest", _DIGEST, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("run_id", _ID),  # the run that produced it, if any
    sa.Column("path", sa.Text),  # where that run wrote it
    sa.Column("note", sa.Text),
    sa.Column("actor", _NAME),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("selection", sa.Text),  # JSON: how a sweep trial was selected
    sa.Index(None, "digest"),
    sa.Index(None, "run_id"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("name", _NAME, primary_key=True),
    sa.Column("alias", _NAME, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("previous", sa.Integer),
    sa.Column("actor", _NAME),
    sa.Column("at", sa.Double, nullable=False),
)

# Records brought in from another tool (``pedigree import mlflow``): where each came from
# (``source``, such as ``mlflow:<run id>``, which a second import finds and skips) and what it
# became (``target_type`` run or model, ``target`` the run id or NAME/N).
imports = sa.Table(
    "imports",
    metadata,
    sa.Column("source", sa.String(1000), primary_key=True),
    sa.Column("target_type", sa.String(16), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("details", sa.Text),  # JSON: what the source said that has no column here
    sa.Column("actor", _NAME),
    sa.Column("at", sa.Double, nullable=False),
    sa.Index(None, "target"),
)

# Identities (the team server): users with a role, and API tokens stored only as a hash of their
# secret. ``policies`` holds every recorded approvals policy, numbered; the last one is in force.
users = sa.Table(
    "users",
    metadata,
    sa.Column("name", _NAME, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("created_by", _NAME),
    sa.Column("updated_at", sa.Double, nullable=False),
    # argon2 hash of the web UI's password (user.password_set); NULL: no login by password
    sa.Column("password_hash", sa.String(250)),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("user", _NAME, nullable=False),
    sa.Column("hash", _DIGEST, nullable=False),  # sha256:<hex> of the secret, never the secret
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("created_by", _NAME),
    sa.Column("expires_at", sa.Double),
    sa.Column("revoked_at", sa.Double),
    sa.Column("revoked_by", _NAME),
    sa.Column("note", sa.Text),
    sa.Index(None, "user"),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("policy", sa.Text, nullable=False),  # canonical JSON
    sa.Column("actor", _NAME),
    sa.Column("at", sa.Double, nullable=False),
)

# The append-only, hash-chained log every table above is derived from.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", _BIGINT, primary_key=True, autoincrement=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("actor", _NAME, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("run_id", _ID),
    sa.Column("payload", sa.Text, nullable=False),  # canonical JSON
    sa.Column("prev", _DIGEST, nullable=False),
    sa.Column("digest", _DIGEST, nullable=False),
    # "authenticated" (the team server proved who acted) or "self-declared"; NULL on events
    # written before identities were recorded, whose digests do not cover it (store.chain).
    sa.Column("identity", sa.String(16)),
    sa.Index(None, "run_id"),
    sa.Index(None, "actor", "seq"),
    sa.Index(None, "at"),
)

# One row; writers lock it, which serialises appends and keeps the chain linear.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", _BIGINT, nullable=False),
    sa.Column("digest", _DIGEST, nullable=False),
)

# Operational state, not part of the record: who is alive, for crash detection.
run_liveness = sa.Table(
    "run_liveness",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column("host", _NAME),
    sa.Column("pid", sa.Integer),
    sa.Column("heartbeat_at", sa.Double, nullable=False),
)

# Operational state of the team server: the batch ids of the event batches it has appended, with
# the sequence number of each batch's last event, so that a client retrying a batch whose answer
# it lost gets that answer instead of recording the events twice. Not a projection of the log.
server_batches = sa.Table(
    "server_batches",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("seq", _BIGINT, nullable=False),
    sa.Column("actor", _NAME, nullable=False),
    sa.Column("at", sa.Double, nullable=False),
)
