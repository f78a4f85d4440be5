"""Performance from feedback: logged predictions joined with their true outcomes.

Outcomes come from the `prediction_feedback` table (what `/feedback` writes) or from a
labels file (CSV or parquet with `prediction_id` and `outcome` columns). Feedback for a
prediction id the log does not know is counted, not fatal. A label that is not one of the
model's classes (or not a number, for regression) stops with the label and the classes.

Metrics are the model's own (the registered `metric` components through
`mlconf.evaluation.score`), per time window and over all feedback, compared with the
validation score and its confidence interval from the model's metrics.json: a window whose
score is worse than the interval's far end by more than `tolerance` raises an alert.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.errors import MlconfError
from mlconf.monitor.loop_settings import PerformanceSettings

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


def read_predictions(
    engine: sa.Engine, model_name: str, since: Any = None, until: Any = None
) -> pd.DataFrame:
    """The logged predictions of one model (every version), oldest first."""
    import pandas as pd
    import sqlalchemy as sa

    from mlconf.store.prediction_log import tables

    predictions, _ = tables(sa.MetaData())
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
    from mlconf.store.prediction_log import tables

    _, feedback = tables(sa.MetaData())
    feedback.create(engine, checkfirst=True)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(feedback).order_by(feedback.c.id)).all()
    frame = pd.DataFrame(
        {
            "prediction_id": [r.prediction_id for r in rows],
            "outcome": [json.loads(r.outcome) for r in rows],
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
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
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
    outputs = [json.loads(o) for o in joined["outputs"]]
    frame = pd.DataFrame(
        {
            "prediction_id": joined["id"].astype(str),
            "created_at": joined["created_at"],
            "model_version": joined["model_version"].astype(str),
            "prediction": [o.get("prediction") for o in outputs],
            "proba": [o.get("probabilities") for o in outputs],
            "inputs": [json.loads(i) for i in joined["inputs"]],
            "outcome": _checked_outcomes(joined["outcome"].tolist(), task, classes, source),
            "feedback_at": joined["feedback_at"],
        }
    )
    notes = []
    if unknown:
        notes.append(f"{unknown} feedback row(s) name a prediction id that is not in the log")
    if duplicates:
        notes.append(f"{duplicates} prediction(s) got feedback more than once; the latest counts")
    return Labelled(frame, feedback_rows, unknown, duplicates, source, notes)


def _logged(engine: sa.Engine, ids: list[str], chunk: int = 500) -> int:
    """How many of `ids` are in the predictions table (any model, any time)."""
    import sqlalchemy as sa

    from mlconf.store.prediction_log import tables

    table, _ = tables(sa.MetaData())
    found = 0
    with engine.connect() as conn:
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            query = sa.select(sa.func.count()).where(table.c.id.in_(part))
            found += int(conn.execute(query).scalar() or 0)
    return found


def _checked_outcomes(values: list[Any], task: str, classes: list[Any], source: str) -> list[Any]:
    """Outcomes in the classes' own type; a wrong label stops with the label and the classes."""
    if task == "regression":
        out = []
        for value in values:
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            if not math.isfinite(number):
                raise MlconfError(
                    f"the outcome {value!r} is not a number, but the model is a regression",
                    where=source,
                    fix="send numeric outcomes for this model's target",
                )
            out.append(number)
        return out
    by_text = {str(c): c for c in classes}
    out = []
    for value in values:
        text = str(value)
        if isinstance(value, float) and value.is_integer():
            text = str(int(value)) if str(int(value)) in by_text else text
        if text not in by_text:
            bad = sum(1 for v in values if str(v) not in by_text)
            raise MlconfError(
                f"the outcome {value!r} ({type(value).__name__}) is not one of the model's "
                f"classes {classes} ({bad} of {len(values)} outcome(s) are not)",
                where=source,
                fix="send each outcome as one of the classes the model was trained on",
            )
        out.append(by_text[text])
    return out


# -- metrics over time -------------------------------------------------------------------------


def baseline(run_dir: Path, metric: str) -> dict[str, Any] | None:
    """The validation score of `metric` with its interval, from the run's metrics.json."""
    try:
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    for part in ("validation", "test"):
        found = metrics.get(part, {}).get("model", {}).get(metric)
        if isinstance(found, dict) and found.get("value") is not None:
            return {"part": part, **{k: found.get(k) for k in ("value", "low", "high")}}
    return None


def greater_is_better(metric: str) -> bool:
    from mlconf.registry import get

    return bool(get("metric", metric).meta.get("greater_is_better", True))


def score_rows(
    frame: pd.DataFrame,
    metric: str,
    *,
    task: str,
    classes: list[Any],
    positive_class: Any = None,
    bootstrap: int = 0,
) -> dict[str, float | None]:
    """The metric on labelled rows: {value, low, high}."""
    import numpy as np

    from mlconf.evaluation import score

    y_true = np.asarray(frame["outcome"].tolist(), dtype=object if task != "regression" else float)
    if task == "regression":
        y_pred: Any = np.asarray(frame["prediction"].tolist(), dtype=float)
        proba = None
    else:
        by_text = {str(c): c for c in classes}
        y_pred = np.asarray([by_text.get(str(p), p) for p in frame["prediction"]], dtype=object)
        rows = frame["proba"].tolist()
        proba = (
            np.asarray([[float(r[str(c)]) for c in classes] for r in rows])
            if rows and all(isinstance(r, dict) and len(r) == len(classes) for r in rows)
            else None
        )
    found = score(
        [metric],
        y_true,
        y_pred,
        proba,
        labels=classes if task != "regression" else None,
        positive_class=positive_class,
        task=task,
        bootstrap=bootstrap,
    )[metric]
    return {"value": _num(found.value), "low": _num(found.low), "high": _num(found.high)}


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def performance(
    labelled_rows: Labelled,
    *,
    metric: str,
    task: str,
    classes: list[Any],
    positive_class: Any,
    base: dict[str, Any] | None,
    settings: dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Per-window and overall scores against the baseline; (section, alerts as dicts)."""
    import pandas as pd

    conf = {**DEFAULTS, **settings}
    width = seconds(conf["window"], "monitoring.performance.window")
    higher = greater_is_better(metric)
    frame = labelled_rows.frame
    out: dict[str, Any] = {
        "metric": metric,
        "greater_is_better": higher,
        "baseline": base,
        "tolerance": conf["tolerance"],
        "labelled_rows": len(frame),
        "feedback_rows": labelled_rows.feedback_rows,
        "unknown_prediction_ids": labelled_rows.unknown_ids,
        "duplicate_feedback": labelled_rows.duplicates,
        "source": labelled_rows.source,
        "notes": list(labelled_rows.notes),
        "windows": [],
        "overall": None,
    }
    alerts: list[dict[str, Any]] = []
    if len(frame) == 0:
        out["notes"].append("no labelled predictions yet: send feedback to measure performance")
        return out, alerts
    kw = {"task": task, "classes": classes, "positive_class": positive_class}
    out["overall"] = score_rows(frame, metric, bootstrap=int(conf["bootstrap"]), **kw)
    start = frame["created_at"].min().floor("s")
    bucket = ((frame["created_at"] - start).dt.total_seconds() // width).astype(int)
    for key, rows in frame.groupby(bucket, sort=True):
        begins = start + pd.Timedelta(seconds=int(key) * width)
        window = {
            "start": begins.isoformat(),
            "end": (begins + pd.Timedelta(seconds=width)).isoformat(),
            "rows": len(rows),
            **score_rows(rows, metric, **kw),
        }
        window["dropped"] = _dropped(window, base, higher, conf, "value")
        out["windows"].append(window)
    judged = [w for w in out["windows"] if w["rows"] >= int(conf["min_rows"])]
    latest = judged[-1] if judged else None
    if latest is None:
        out["notes"].append(
            f"no window has {conf['min_rows']} labelled rows (monitoring.performance.min_rows): "
            "shown, not judged"
        )
    elif latest["dropped"]:
        limit = _limit(base, higher, float(conf["tolerance"]))
        alerts.append(
            {
                "kind": "performance",
                "level": "alert",
                "message": f"{metric} fell to {latest['value']:.4g} on {latest['rows']} labelled "
                f"rows of the window from {latest['start']} (validation "
                f"{base['value'] if base else float('nan'):.4g}, alert "
                f"{'below' if higher else 'above'} {limit:.4g})",
                "numbers": {
                    "metric": metric,
                    "value": latest["value"],
                    "rows": latest["rows"],
                    "baseline": base,
                    "limit": limit,
                    "window_start": latest["start"],
                },
            }
        )
    if labelled_rows.unknown_ids:
        alerts.append(
            {
                "kind": "performance",
                "level": "warn",
                "message": f"{labelled_rows.unknown_ids} feedback row(s) name unknown prediction "
                "ids (ignored)",
                "numbers": {"unknown_prediction_ids": labelled_rows.unknown_ids},
            }
        )
    out["dropped"] = bool(latest and latest["dropped"])
    return out, alerts


def _limit(base: dict[str, Any] | None, higher: bool, tolerance: float) -> float:
    """The score beyond which a window counts as a drop: the interval's far end +- tolerance."""
    if base is None:
        raise RuntimeError("internal error: expected base is not None")
    edge: Any = base.get("low" if higher else "high")
    edge = float(base["value"] if edge is None else edge)
    return edge - tolerance if higher else edge + tolerance


def _dropped(
    window: dict[str, Any],
    base: dict[str, Any] | None,
    higher: bool,
    conf: dict[str, Any],
    key: str,
) -> bool:
    value = window.get(key)
    if base is None or base.get("value") is None or value is None:
        return False
    limit = _limit(base, higher, float(conf["tolerance"]))
    return bool(value < limit if higher else value > limit)
