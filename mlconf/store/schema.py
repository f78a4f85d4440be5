"""Every table mlconf keeps in its database, in one MetaData, at the newest schema revision.

The model registry (models, versions, aliases, audit), the prediction log (predictions,
feedback) and the monitor (runs, rule state) share one database, so they share one
definition: `open_engine` creates it at this layout, and the migrations in
`mlconf/store/migrations/versions` carry older databases to it. Change a table here only
together with a new migration (and `REVISION`).

Every timestamp is a `UtcDateTime`: timezone-aware on the way in and on the way out, on
SQLite (which stores no zone) as on PostgreSQL, so readers compare and print them alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

# The newest migration; open_engine compares the database's revision with it before
# loading alembic at all, so opening a current database stays one query.
REVISION = "0002"
# Not alembic's default name: Optuna keeps its own `alembic_version` in a shared database.
VERSION_TABLE = "mlconf_schema_version"


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A point in time, stored in UTC, read back aware (SQLite would hand back naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # naive times are UTC throughout mlconf
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

models = sa.Table(
    "models",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

model_versions = sa.Table(
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
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_model_version"),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("name", sa.String(200), sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("alias", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("who", sa.String(200), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("alias", sa.String(200), nullable=True),
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=True),
    # JSON: the numbers behind a decision (retrain, promote by a monitor); optional
    sa.Column("details", sa.Text, nullable=True),
)

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False, index=True),
    sa.Column("model_name", sa.String(200), nullable=False, index=True),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("outputs", sa.Text, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
)

prediction_feedback = sa.Table(
    "prediction_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("prediction_id", sa.String(36), nullable=False, index=True),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

monitor_runs = sa.Table(
    "monitor_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", UtcDateTime, nullable=False, index=True),
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
)

monitor_rule_state = sa.Table(
    "monitor_rule_state",
    metadata,
    sa.Column("model_name", sa.String(200), primary_key=True),
    sa.Column("rule", sa.String(200), primary_key=True),
    sa.Column("fired_at", UtcDateTime, nullable=False),
)
