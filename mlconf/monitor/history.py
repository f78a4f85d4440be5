"""`monitor_runs`: a row per monitor run in the registry database, for `mlconf monitor history`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlconf import strict_json

if TYPE_CHECKING:
    import sqlalchemy as sa


def table(metadata: sa.MetaData) -> sa.Table:
    import sqlalchemy as sa

    return sa.Table(
        "monitor_runs",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.String(40), nullable=False, index=True),
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


def _bound(engine: sa.Engine) -> sa.Table:
    import sqlalchemy as sa

    metadata = sa.MetaData()
    runs = table(metadata)
    metadata.create_all(engine, checkfirst=True)
    return runs


def record(engine: sa.Engine, row: dict[str, Any]) -> int:
    """Store one monitor run; returns its id."""
    runs = _bound(engine)
    values = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **row,
        "drifted": strict_json.dumps(row.get("drifted", [])),
        "summary": strict_json.dumps(row.get("summary", {})),
    }
    with engine.begin() as conn:
        result = conn.execute(runs.insert().values(**values))
        key = result.inserted_primary_key
    return int(key[0]) if key else 0


def runs(engine: sa.Engine, model_name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Past runs, newest first."""
    import sqlalchemy as sa

    table_ = _bound(engine)
    query = sa.select(table_).order_by(table_.c.id.desc()).limit(limit)
    if model_name:
        query = query.where(table_.c.model_name == model_name)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["drifted"] = json.loads(row["drifted"])
        row["summary"] = json.loads(row["summary"])
    return rows
