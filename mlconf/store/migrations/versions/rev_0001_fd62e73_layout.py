"""The layout mlconf wrote before its schema was versioned (as of commit fd62e73).

Each store created its own tables on first use, so an unversioned database may hold only
some of them: upgrading creates the missing ones and leaves the others as they are.
Timestamps of the registry and the monitor are ISO 8601 text here; the prediction log's
are DateTime already. Registries older still lack audit.details (revision 0002 adds it).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables(metadata: sa.MetaData) -> list[sa.Table]:
    """A frozen copy of the tables as that code defined them; never import the live schema."""
    return [*_registry_tables(metadata), *_log_and_monitor_tables(metadata)]


def _registry_tables(metadata: sa.MetaData) -> list[sa.Table]:
    text_time = sa.String(40)
    return [
        sa.Table(
            "models",
            metadata,
            sa.Column("name", sa.String(200), primary_key=True),
            sa.Column("created_at", text_time, nullable=False),
        ),
        sa.Table(
            "model_versions",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("name", sa.String(200), sa.ForeignKey("models.name"), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("run_dir", sa.Text, nullable=False),
            sa.Column("model_dir", sa.Text, nullable=False),
            sa.Column("sha256", sa.String(64), nullable=False),
            sa.Column("metrics", sa.Text, nullable=False),
            sa.Column("schema", sa.Text, nullable=False),
            sa.Column("fingerprints", sa.Text, nullable=False),
            sa.Column("parent_version", sa.Integer, nullable=True),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("forced", sa.Boolean, nullable=False),
            sa.Column("criteria_passed", sa.Boolean, nullable=True),
            sa.Column("created_at", text_time, nullable=False),
            sa.UniqueConstraint("name", "version", name="uq_model_version"),
        ),
        sa.Table(
            "aliases",
            metadata,
            sa.Column("name", sa.String(200), sa.ForeignKey("models.name"), primary_key=True),
            sa.Column("alias", sa.String(200), primary_key=True),
            sa.Column("version", sa.Integer, nullable=False),
        ),
        sa.Table(
            "audit",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", text_time, nullable=False),
            sa.Column("who", sa.String(200), nullable=False),
            sa.Column("action", sa.String(20), nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("alias", sa.String(200), nullable=True),
            sa.Column("from_version", sa.Integer, nullable=True),
            sa.Column("to_version", sa.Integer, nullable=True),
            sa.Column("details", sa.Text, nullable=True),
        ),
    ]


def _log_and_monitor_tables(metadata: sa.MetaData) -> list[sa.Table]:
    text_time = sa.String(40)
    return [
        sa.Table(
            "predictions",
            metadata,
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
            sa.Column("model_name", sa.String(200), nullable=False, index=True),
            sa.Column("model_version", sa.String(64), nullable=False),
            sa.Column("inputs", sa.Text, nullable=False),
            sa.Column("outputs", sa.Text, nullable=False),
            sa.Column("latency_ms", sa.Float, nullable=False),
        ),
        sa.Table(
            "prediction_feedback",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("prediction_id", sa.String(36), nullable=False, index=True),
            sa.Column("outcome", sa.Text, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        ),
        sa.Table(
            "monitor_runs",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("created_at", text_time, nullable=False, index=True),
            sa.Column("model_name", sa.String(200), nullable=False, index=True),
            sa.Column("model_version", sa.String(64), nullable=True),
            sa.Column("source", sa.Text, nullable=False),
            sa.Column("rows", sa.Integer, nullable=False),
            sa.Column("share_drifted", sa.Float, nullable=False),
            sa.Column("drifted", sa.Text, nullable=False),
            sa.Column("alerts", sa.Integer, nullable=False),
            sa.Column("warnings", sa.Integer, nullable=False),
            sa.Column("status", sa.String(10), nullable=False),
            sa.Column("out_dir", sa.Text, nullable=False),
            sa.Column("summary", sa.Text, nullable=False),
        ),
        sa.Table(
            "monitor_rule_state",
            metadata,
            sa.Column("model_name", sa.String(200), primary_key=True),
            sa.Column("rule", sa.String(200), primary_key=True),
            sa.Column("fired_at", text_time, nullable=False),
        ),
    ]


# Columns an unversioned table must have to be adopted as this revision (mlconf.store.migrate).
OPTIONAL = {"audit": {"details"}}
LAYOUT = {
    table.name: {column.name for column in table.columns} - OPTIONAL.get(table.name, set())
    for table in _tables(sa.MetaData())
}


def upgrade() -> None:
    metadata = sa.MetaData()
    _tables(metadata)
    metadata.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    metadata = sa.MetaData()
    _tables(metadata)
    metadata.drop_all(op.get_bind(), checkfirst=True)
