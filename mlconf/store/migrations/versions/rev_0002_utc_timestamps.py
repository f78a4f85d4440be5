"""One timestamp type everywhere, and audit.details in every registry.

The registry's and the monitor's times were ISO 8601 text while the prediction log's were
DateTime; now all are timezone-aware DateTime (TIMESTAMP WITH TIME ZONE on PostgreSQL, on
SQLite SQLAlchemy's own text format, in UTC). audit.details replaces the ALTER TABLE the
registry used to run on every open.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> its timestamp column that was text
TEXT_TIMES = {
    "models": "created_at",
    "model_versions": "created_at",
    "audit": "at",
    "monitor_runs": "created_at",
    "monitor_rule_state": "fired_at",
}
# how SQLAlchemy's SQLite DateTime stores a time (it keeps no zone: always UTC here)
SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _sqlite_time(text: str) -> str:
    found = datetime.fromisoformat(text)
    found = found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
    return found.strftime(SQLITE_FORMAT)


def _iso_time(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat(timespec="microseconds")


def _rewrite(table: str, column: str, convert: object) -> None:
    """Each distinct stored value -> its new spelling (SQLite keeps any text in any column)."""
    bind = op.get_bind()
    values = bind.execute(sa.text(f'SELECT DISTINCT "{column}" FROM "{table}"')).scalars()  # noqa: S608
    pairs = [{"old": v, "new": convert(v)} for v in values if v is not None]  # type: ignore[operator]
    if pairs:
        update = f'UPDATE "{table}" SET "{column}" = :new WHERE "{column}" = :old'  # noqa: S608
        bind.execute(sa.text(update), pairs)


def _retype(table: str, column: str, type_: sa.types.TypeEngine, using: str) -> None:
    """Change the column's declared type, keeping every value as it is stored.

    SQLite cannot alter a column: alembic copies the table, and its alter_column would CAST
    the values, which turns text times into numbers under SQLite's DATETIME affinity; so the
    copy is made from the reflected table with the new type and no cast.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column(table, column, type_=type_, postgresql_using=using)
        return
    reflected = sa.Table(table, sa.MetaData(), autoload_with=bind)
    reflected.c[column].type = type_
    with op.batch_alter_table(table, recreate="always", copy_from=reflected):
        pass


def upgrade() -> None:
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("audit")}
    if "details" not in columns:
        op.add_column("audit", sa.Column("details", sa.Text, nullable=True))
    for table, column in TEXT_TIMES.items():
        if bind.dialect.name == "sqlite":
            _rewrite(table, column, _sqlite_time)
        _retype(table, column, sa.DateTime(timezone=True), f'"{column}"::timestamptz')


def downgrade() -> None:
    bind = op.get_bind()
    for table, column in TEXT_TIMES.items():
        utc = f"\"{column}\" AT TIME ZONE 'UTC'"
        iso = f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"
        _retype(table, column, sa.String(40), iso)
        if bind.dialect.name == "sqlite":
            _rewrite(table, column, _iso_time)
