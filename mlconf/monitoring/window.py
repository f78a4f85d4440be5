"""Current data: a CSV/Parquet file, or the prediction log over a time window or last N rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


@dataclass
class Current:
    """The rows to monitor, where they came from, and any predictions logged with them."""

    frame: pd.DataFrame
    source: str
    labels: Any = None  # logged predicted classes / values
    scores: Any = None  # logged positive-class probabilities (binary) / predicted values
    prediction_ids: list[str] | None = None
    created_at: list[Any] | None = None


def parse_window(text: str) -> timedelta:
    """`7d`, `12h`, `30m`, `90s`, `2w` as a timedelta."""
    match = _WINDOW.match(str(text))
    if not match:
        raise MlconfError(
            f"window '{text}' is not a duration",
            where="monitoring.window",
            fix="write a number and a unit: 30m, 12h, 7d, 2w (s, m, h, d, w)",
        )
    return timedelta(**{UNITS[match.group(2)]: float(match.group(1))})


def read_file(path: Path) -> pd.DataFrame:
    from mlconf.components.sources import csv, parquet

    if not path.is_file():
        raise MlconfError(
            f"current data file '{path}' does not exist (looked relative to {Path.cwd()})",
            where="current=",
            fix="pass a CSV or Parquet file of recent inputs",
        )
    reader = parquet if path.suffix.lower() in (".parquet", ".pq") else csv
    frame = reader(str(path))
    if len(frame) == 0:
        raise MlconfError(
            f"current data file '{path}' has no rows",
            where="current=",
            fix="pass a file with at least one row of recent inputs",
        )
    return frame


def read_log(
    engine: Any,
    model_name: str,
    *,
    window: str | None = None,
    last: int | None = None,
    positive: str | None = None,
    now: datetime | None = None,
) -> Current:
    """Logged inputs (one column per field) and outputs of `model_name`, newest last."""
    import json

    import pandas as pd
    import sqlalchemy as sa

    from mlconf.store.schema import predictions

    query = sa.select(
        predictions.c.id, predictions.c.created_at, predictions.c.inputs, predictions.c.outputs
    ).where(predictions.c.model_name == model_name)
    described = f"the prediction log of '{model_name}'"
    if window is not None:
        since = (now or datetime.now(UTC)) - parse_window(window)
        query = query.where(predictions.c.created_at >= since)
        described += f" over the last {window}"
    query = query.order_by(predictions.c.created_at.desc())
    if last is not None:
        query = query.limit(int(last))
        described += f" (last {last})"
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        # No predictions table yet: "no such table" (SQLite), "does not exist" (PostgreSQL)
        if "no such table" not in str(exc) and "does not exist" not in str(exc):
            raise
        rows = []
    if not rows:
        raise MlconfError(
            f"{described} is empty: nothing to monitor",
            where="window=/last=",
            fix="widen the window (e.g. window=30d), check the model name and registry_url, "
            "check that the service logs predictions (deploy.serve.log_predictions), or pass "
            "current=PATH",
        )
    rows = rows[::-1]
    inputs = [json.loads(r.inputs) for r in rows]
    outputs = [json.loads(r.outputs) for r in rows]
    labels = [o.get("prediction") for o in outputs]
    scores = None
    probabilities = [o.get("probabilities") for o in outputs]
    if all(isinstance(p, dict) and len(p) == 2 for p in probabilities):
        key = positive if positive is not None and positive in probabilities[0] else None
        key = key or list(probabilities[0])[-1]
        scores = [float(p.get(key, float("nan"))) for p in probabilities]
    return Current(
        frame=pd.DataFrame(inputs),
        source=described,
        labels=labels,
        scores=scores,
        prediction_ids=[r.id for r in rows],
        created_at=[r.created_at for r in rows],
    )
