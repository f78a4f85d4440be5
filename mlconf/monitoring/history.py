"""`monitor_runs`: a row per monitor run in the registry database, for `mlconf monitor history`.

The engine must come from mlconf.store.db.open_engine (the registry's), which made the table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlconf.core import strict_json
from mlconf.store.db import as_text

if TYPE_CHECKING:
    import sqlalchemy as sa


def _table() -> sa.Table:
    from mlconf.store.schema import monitor_runs

    return monitor_runs


def record(engine: sa.Engine, row: dict[str, Any]) -> int:
    """Store one monitor run; returns its id."""
    runs = _table()
    values = {
        "created_at": datetime.now(UTC),
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

    table_ = _table()
    query = sa.select(table_).order_by(table_.c.id.desc()).limit(limit)
    if model_name:
        query = query.where(table_.c.model_name == model_name)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["created_at"] = as_text(row["created_at"], timespec="seconds")
        row["drifted"] = json.loads(row["drifted"])
        row["summary"] = json.loads(row["summary"])
    return rows
