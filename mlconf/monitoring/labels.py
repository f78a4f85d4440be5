"""Labelled rows for monitoring: logged predictions joined with their true outcomes.

Outcomes come from the `prediction_feedback` table (what `/feedback` writes) or from a
labels file (CSV or parquet with `prediction_id` and `outcome` columns). Feedback for a
prediction id the log does not know is counted, not fatal. A stored row that does not fit
the monitored model (an outcome that is not one of its classes, not a finite number for
a regression, not JSON at all; a logged prediction of another version's classes) is
skipped, counted per reason and shown with examples: one bad row written by an older
server must never stop monitoring. `performance.py` scores what this module reads.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mlconf.config.monitor_loop import PerformanceSettings
from mlconf.core.errors import MlconfError
from mlconf.store.tables.parquet_engine import read_frame

if TYPE_CHECKING:
    import pandas as pd
    import sqlalchemy as sa

DEFAULTS: dict[str, Any] = asdict(PerformanceSettings())
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(text: str | float | int, where: str) -> float:
    """'30m', '24h', '7d', '1w' or a number of seconds -> seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text).strip().lower().removeprefix("every").strip()
        unit = raw[-1:] if raw[-1:] in UNITS else "s"
        number = raw[:-1] if raw[-1:] in UNITS else raw
        try:
            value = float(number) * UNITS[unit]
        except ValueError:
            value = math.nan
    if not value > 0:
        raise MlconfError(
            f"'{text}' is not a duration",
            where=where,
            fix="write a positive number with a unit: 30m, 24h, 7d, 1w (or seconds)",
        )
    return value


@dataclass
class Labelled:
    """Logged predictions that have an outcome, oldest first, and what could not be joined."""

    frame: pd.DataFrame  # prediction_id, created_at, model_version, prediction, proba, inputs,
    # outcome, feedback_at
    feedback_rows: int
    unknown_ids: int
    duplicates: int
    source: str
    notes: list[str] = field(default_factory=list)
    skipped: Skipped = field(default_factory=lambda: Skipped())


@dataclass
class Skipped:
    """Joined feedback rows left out because they do not fit the model: counts per reason
    and the first few examples (values shortened), for the report."""

    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)
    max_examples: int = 10

    def add(self, prediction_id: str, version: str, value: Any, reason: str, detail: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if len(self.examples) < self.max_examples:
            self.examples.append(
                {
                    "prediction_id": prediction_id,
                    "model_version": version,
                    "value": shorten(value),
                    "reason": detail,
                }
            )

    @property
    def total(self) -> int:
        return sum(self.reasons.values())


class Unreadable:
    """A stored JSON text that does not parse (kept as text to show it)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"unreadable JSON {shorten(self.text)}"


def loads(text: Any) -> Any:
    """A stored JSON value, or Unreadable(text) when it is not JSON."""
    if not isinstance(text, (str, bytes)):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return Unreadable(str(text))


def shorten(value: Any, limit: int = 80) -> str:
    """repr() of a value cut to `limit` characters, saying how long it was."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def read_predictions(
    engine: sa.Engine, model_name: str, since: Any = None, until: Any = None
) -> pd.DataFrame:
    """The logged predictions of one model (every version), oldest first."""
    import pandas as pd
    import sqlalchemy as sa

    from mlconf.store.schema import predictions

    predictions.create(engine, checkfirst=True)
    query = sa.select(predictions).where(predictions.c.model_name == model_name)
    if since is not None:
        query = query.where(predictions.c.created_at >= since)
    if until is not None:
        query = query.where(predictions.c.created_at < until)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query.order_by(predictions.c.created_at))]
    columns = ["id", "created_at", "model_name", "model_version", "inputs", "outputs"]
    frame = pd.DataFrame(rows, columns=[*columns, "latency_ms"])
    frame["created_at"] = _utc(frame["created_at"])
    return frame


def _utc(values: Any) -> pd.Series:
    import pandas as pd

    out = pd.to_datetime(pd.Series(values), utc=True)
    return out.astype("datetime64[us, UTC]")


def read_feedback(engine: sa.Engine, labels_file: str | Path | None = None) -> pd.DataFrame:
    """prediction_id, outcome (decoded), feedback_at: from the table or from a labels file."""
    import pandas as pd
    import sqlalchemy as sa

    if labels_file is not None:
        return _labels_file(Path(labels_file))
    from mlconf.store.schema import prediction_feedback as feedback

    feedback.create(engine, checkfirst=True)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(feedback).order_by(feedback.c.id)).all()
    frame = pd.DataFrame(
        {
            "prediction_id": [r.prediction_id for r in rows],
            "outcome": [loads(r.outcome) for r in rows],
            "feedback_at": [r.created_at for r in rows],
        }
    )
    frame["feedback_at"] = _utc(frame["feedback_at"])
    return frame


def _labels_file(path: Path) -> pd.DataFrame:
    import pandas as pd

    where = f"labels file {path}"
    if not path.is_file():
        raise MlconfError(
            f"labels file {path} does not exist",
            where="config key monitoring.performance.labels_file",
            fix="point it at a CSV or parquet file with prediction_id and outcome columns",
        )
    frame = read_frame(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in ("prediction_id", "outcome") if c not in frame.columns]
    if missing:
        raise MlconfError(
            f"the labels file lacks the column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns))}",
            where=where,
            fix="name the columns prediction_id and outcome",
        )
    at = (
        frame["feedback_at"]
        if "feedback_at" in frame.columns
        else [path.stat().st_mtime] * len(frame)
    )
    out = pd.DataFrame(
        {
            "prediction_id": frame["prediction_id"].astype(str),
            "outcome": frame["outcome"].tolist(),
            "feedback_at": pd.to_datetime(pd.Series(at), utc=True, unit="s")
            if "feedback_at" not in frame.columns
            else pd.to_datetime(pd.Series(at), utc=True),
        }
    )
    out["feedback_at"] = out["feedback_at"].astype("datetime64[us, UTC]")
    return out


def labelled(
    engine: sa.Engine,
    model_name: str,
    *,
    task: str,
    classes: list[Any],
    labels_file: str | Path | None = None,
    since: Any = None,
) -> Labelled:
    """Join feedback with the predictions of `model_name`; the latest outcome per id wins."""
    import pandas as pd

    predictions = read_predictions(engine, model_name, since=since)
    feedback = read_feedback(engine, labels_file)
    source = f"labels file {labels_file}" if labels_file else "prediction_feedback table"
    feedback_rows = len(feedback)
    latest = feedback.drop_duplicates("prediction_id", keep="last")
    duplicates = feedback_rows - len(latest)
    predictions["id"] = predictions["id"].astype(str)
    latest = latest.assign(prediction_id=latest["prediction_id"].astype(str))
    # Ids outside this model's window may be older predictions or another model's: only ids
    # that no logged prediction has are unknown.
    outside = latest.loc[~latest["prediction_id"].isin(predictions["id"]), "prediction_id"]
    unknown = len(outside) - _logged(engine, outside.tolist())
    joined = predictions.merge(latest, left_on="id", right_on="prediction_id", how="inner")
    fits = _Fit(task, classes)
    skipped = Skipped()
    ids = joined["id"].astype(str).tolist()
    versions = joined["model_version"].astype(str).tolist()
    keep: list[int] = []
    cleaned: dict[str, list[Any]] = {"outcome": [], "prediction": [], "proba": [], "inputs": []}
    stored = zip(
        joined["outcome"].tolist(),
        joined["outputs"].tolist(),
        joined["inputs"].tolist(),
        strict=True,
    )
    for i, (outcome, outputs, inputs) in enumerate(stored):
        found = fits.row(versions[i], outcome, outputs, inputs)
        if isinstance(found, _Skip):
            skipped.add(ids[i], versions[i], found.value, found.reason, found.detail)
            continue
        keep.append(i)
        for column, value in zip(cleaned, found, strict=True):
            cleaned[column].append(value)
    rows = joined.iloc[keep].reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "prediction_id": [ids[i] for i in keep],
            "created_at": rows["created_at"],
            "model_version": [versions[i] for i in keep],
            "prediction": cleaned["prediction"],
            "proba": cleaned["proba"],
            "inputs": cleaned["inputs"],
            "outcome": cleaned["outcome"],
            "feedback_at": rows["feedback_at"],
        }
    )
    notes = []
    if unknown:
        notes.append(f"{unknown} feedback row(s) name a prediction id that is not in the log")
    if duplicates:
        notes.append(f"{duplicates} prediction(s) got feedback more than once; the latest counts")
    if skipped.total:
        notes.append(f"{skipped.total} labelled row(s) skipped: {skipped_text(skipped)}")
    return Labelled(frame, feedback_rows, unknown, duplicates, source, notes, skipped)


def skipped_text(skipped: Skipped) -> str:
    """'3 outcome is not one of the classes, 1 ...' (most frequent reason first)."""
    ordered = sorted(skipped.reasons.items(), key=lambda item: -item[1])
    return ", ".join(f"{count} {reason}" for reason, count in ordered)


def _logged(engine: sa.Engine, ids: list[str], chunk: int = 500) -> int:
    """How many of `ids` are in the predictions table (any model, any time)."""
    import sqlalchemy as sa

    from mlconf.store.schema import predictions as table

    found = 0
    with engine.connect() as conn:
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            query = sa.select(sa.func.count()).where(table.c.id.in_(part))
            found += int(conn.execute(query).scalar() or 0)
    return found


class _Skip(NamedTuple):
    """Why a joined row was left out: a short reason to count, the value, the details."""

    reason: str
    value: Any
    detail: str


class _Fit:
    """Does a joined row fit the model? Its cleaned values, or a _Skip saying why not."""

    def __init__(self, task: str, classes: list[Any]) -> None:
        self.task = task
        self.classes = classes
        self.by_text = {str(c): c for c in classes}
        self.by_folded = {str(c).casefold(): c for c in classes}

    def row(self, version: str, outcome: Any, outputs: Any, inputs: Any) -> tuple[Any, ...]:
        """(outcome, prediction, probabilities, inputs) of a row that fits, else a _Skip."""
        of_version = f" (the prediction of version {version})"
        outputs, inputs = loads(outputs), loads(inputs)
        if not isinstance(outputs, dict) or not isinstance(inputs, dict):
            bad = outputs if not isinstance(outputs, dict) else inputs
            return _Skip("logged prediction is not readable", bad, f"the logged row {shorten(bad)}")
        checked = self.outcome(_plain(outcome))
        if isinstance(checked, tuple):
            reason, detail = checked
            return _Skip(reason, outcome, f"the outcome {shorten(outcome)} {detail}{of_version}")
        value = outputs.get("prediction")
        prediction = self.prediction(_plain(value))
        if isinstance(prediction, tuple):
            reason, detail = prediction
            return _Skip(
                reason, value, f"the logged prediction {shorten(value)} {detail}{of_version}"
            )
        return checked, prediction, outputs.get("probabilities"), inputs

    def outcome(self, value: Any) -> Any:
        """The outcome in the classes' own type (a float for regression), or (reason, detail)."""
        if self.task == "regression":
            return _number(value, "outcome")
        return self.label(value, "outcome")

    def prediction(self, value: Any) -> Any:
        if self.task == "regression":
            return _number(value, "logged prediction")
        return self.label(value, "logged prediction")

    def label(self, value: Any, what: str) -> Any:
        reason = f"{what} is not one of the classes"
        classes = f"the model's classes {shorten(self.classes, 200)}"
        detail = f"is not one of {classes}"
        if isinstance(value, Unreadable):
            return f"{what} is not JSON", "is not valid JSON"
        if value is None or isinstance(value, (dict, list)):
            return reason, f"is {_json_kind(value)}, not a class label"
        if isinstance(value, float) and not math.isfinite(value):
            return reason, f"({value}) is not a class label"
        text = str(value)
        if isinstance(value, float) and value.is_integer() and str(int(value)) in self.by_text:
            text = str(int(value))
        if isinstance(value, bool) and text not in self.by_text:
            return reason, f"is a JSON boolean, not one of {classes}"
        if text in self.by_text:
            return self.by_text[text]
        close = self.by_folded.get(text.casefold()) if isinstance(value, str) else None
        if close is not None:
            return reason, f"{detail}; did you mean {close!r}? (classes are case-sensitive)"
        return reason, detail


def _plain(value: Any) -> Any:
    """numpy and pandas scalars (from a labels file) as Python values; NaN as missing."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return value
    return value


def _json_kind(value: Any) -> str:
    if value is None:
        return "missing (null)"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    return f"a {type(value).__name__}"


def _number(value: Any, what: str) -> float | tuple[str, str]:
    """A finite float, or (reason, detail): text, booleans, NaN and infinity are not outcomes."""
    if isinstance(value, Unreadable):
        return f"{what} is not JSON", "is not valid JSON"
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        kind = "a JSON boolean" if isinstance(value, bool) else _json_kind(value)
        return f"{what} is not a number", f"is {kind}, but the model is a regression"
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return f"{what} is not a number", "is not a number, but the model is a regression"
    if not math.isfinite(number):
        return f"{what} is not a finite number", f"is {number}: not a finite number"
    return number
