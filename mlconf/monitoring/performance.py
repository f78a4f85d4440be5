"""Performance from feedback: the rows `labels.labelled` reads, scored over time.

Metrics are the model's own (the registered `metric` components through
`mlconf.ml.evaluation.score`), per time window and over all feedback, compared with the
validation score and its confidence interval from the model's metrics.json: a window whose
score is worse than the interval's far end by more than `tolerance` raises an alert.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.monitoring.labels import (
    DEFAULTS,
    Labelled,
    Skipped,
    labelled,
    read_feedback,
    read_predictions,
    seconds,
    skipped_text,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Labelled",
    "baseline",
    "greater_is_better",
    "labelled",
    "performance",
    "read_feedback",
    "read_predictions",
    "score_rows",
    "seconds",
]


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
    from mlconf.core.component_registry import get

    return bool(get("metric", metric).meta.get("greater_is_better", True))


# How each built-in regression metric changes when outcomes and predictions are multiplied
# by c: rmse, mae and median_ae by c, r2 and mape not at all. Huge values are scored scaled
# down by a power of two (exact) and the result scaled back, so squares cannot overflow.
SCALE_POWER = {"rmse": 1, "mae": 1, "median_ae": 1, "r2": 0, "mape": 0}
_SCALE_ABOVE = 2.0**300


def score_rows(
    frame: pd.DataFrame,
    metric: str,
    *,
    task: str,
    classes: list[Any],
    positive_class: Any = None,
    bootstrap: int = 0,
) -> dict[str, Any]:
    """The metric on labelled rows: {value, low, high}, and `reason` when it cannot be
    computed (then value is None): a score is always a finite number or says why not."""
    import numpy as np

    from mlconf.ml.evaluation import score

    y_true = np.asarray(frame["outcome"].tolist(), dtype=object if task != "regression" else float)
    scale = 1.0
    if task == "regression":
        y_pred: Any = np.asarray(frame["prediction"].tolist(), dtype=float)
        proba = None
        largest = float(np.max(np.abs(np.concatenate([y_true, y_pred])), initial=0.0))
        if largest > _SCALE_ABOVE and metric in SCALE_POWER:
            scale = 2.0 ** math.ceil(math.log2(largest))
            y_true, y_pred = y_true / scale, y_pred / scale
    else:
        by_text = {str(c): c for c in classes}
        y_pred = np.asarray([by_text.get(str(p), p) for p in frame["prediction"]], dtype=object)
        proba = _probabilities(frame["proba"].tolist(), classes)
    try:
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
    except MlconfError as exc:
        return {"value": None, "low": None, "high": None, "reason": exc.what}
    factor = scale ** SCALE_POWER.get(metric, 0)
    out: dict[str, Any] = {
        key: _num(None if x is None else x * factor)
        for key, x in (("value", found.value), ("low", found.low), ("high", found.high))
    }
    if out["value"] is None:
        out["reason"] = (
            f"{metric} is {found.value} on these {len(frame)} row(s): not a finite number "
            f"({_why_undefined(metric, task, proba)})"
        )
    return out


def _probabilities(rows: list[Any], classes: list[Any]) -> Any:
    """The logged class probabilities as an array in the classes' order, or None unless
    every row has a finite one for exactly these classes (e.g. rows of another version)."""
    import numpy as np

    keys = {str(c) for c in classes}
    if not rows or not all(isinstance(r, dict) and set(map(str, r)) == keys for r in rows):
        return None
    try:
        found = np.asarray([[float(r[str(c)]) for c in classes] for r in rows], dtype=float)
    except (TypeError, ValueError):
        return None
    return found if np.isfinite(found).all() else None


def _why_undefined(metric: str, task: str, proba: Any) -> str:
    from mlconf.core.component_registry import get

    if get("metric", metric).meta.get("needs") == "proba" and proba is None:
        return "it needs the class probabilities, which not every labelled row has"
    if task == "regression":
        return "the errors are too large to compute it, or it is undefined on these rows"
    return "undefined on these rows, e.g. only one class among the outcomes"


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
    conf = {**DEFAULTS, **settings}
    width = seconds(conf["window"], "monitoring.performance.window")
    higher = greater_is_better(metric)
    frame = labelled_rows.frame
    out = _section(labelled_rows, metric, higher, base, conf)
    alerts = _skipped_alerts(labelled_rows.skipped)
    if len(frame) == 0:
        out["notes"].append("no labelled predictions yet: send feedback to measure performance")
        return out, alerts
    kw = {"task": task, "classes": classes, "positive_class": positive_class}
    out["overall"] = score_rows(frame, metric, bootstrap=int(conf["bootstrap"]), **kw)
    out["windows"] = _windows(frame, metric, width, kw, base, higher, conf)
    judged = [w for w in out["windows"] if w["rows"] >= int(conf["min_rows"])]
    latest = judged[-1] if judged else None
    if latest is None:
        out["notes"].append(
            f"no window has {conf['min_rows']} labelled rows (monitoring.performance.min_rows): "
            "shown, not judged"
        )
    else:
        alerts.extend(_latest_alerts(latest, metric, base, higher, conf))
    if labelled_rows.unknown_ids:
        alerts.append(
            _alert(
                "warn",
                f"{labelled_rows.unknown_ids} feedback row(s) name unknown prediction "
                "ids (ignored)",
                {"unknown_prediction_ids": labelled_rows.unknown_ids},
            )
        )
    out["dropped"] = bool(latest and latest["dropped"])
    return out, alerts


def _section(
    labelled_rows: Labelled,
    metric: str,
    higher: bool,
    base: dict[str, Any] | None,
    conf: dict[str, Any],
) -> dict[str, Any]:
    """The performance section before scoring: what was read and how much of it fits."""
    return {
        "metric": metric,
        "greater_is_better": higher,
        "baseline": base,
        "tolerance": conf["tolerance"],
        "labelled_rows": len(labelled_rows.frame),
        "feedback_rows": labelled_rows.feedback_rows,
        "unknown_prediction_ids": labelled_rows.unknown_ids,
        "duplicate_feedback": labelled_rows.duplicates,
        "skipped_feedback": labelled_rows.skipped.total,
        "skipped_reasons": dict(labelled_rows.skipped.reasons),
        "skipped_examples": list(labelled_rows.skipped.examples),
        "source": labelled_rows.source,
        "notes": list(labelled_rows.notes),
        "windows": [],
        "overall": None,
    }


def _alert(level: str, message: str, numbers: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "performance", "level": level, "message": message, "numbers": numbers}


def _skipped_alerts(skipped: Skipped) -> list[dict[str, Any]]:
    """A warning when feedback rows did not fit the model (so it is never dropped quietly)."""
    if not skipped.total:
        return []
    return [
        _alert(
            "warn",
            f"{skipped.total} labelled row(s) do not fit the model and were "
            f"skipped: {skipped_text(skipped)}; e.g. {skipped.examples[0]['reason']}",
            {"skipped_feedback": skipped.total, "reasons": dict(skipped.reasons)},
        )
    ]


def _windows(
    frame: pd.DataFrame,
    metric: str,
    width: float,
    kw: dict[str, Any],
    base: dict[str, Any] | None,
    higher: bool,
    conf: dict[str, Any],
) -> list[dict[str, Any]]:
    """The score of each `width`-second window from the first labelled row on."""
    import pandas as pd

    windows = []
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
        windows.append(window)
    return windows


def _latest_alerts(
    latest: dict[str, Any],
    metric: str,
    base: dict[str, Any] | None,
    higher: bool,
    conf: dict[str, Any],
) -> list[dict[str, Any]]:
    """What the latest judged window says: a warning when its score cannot be computed,
    an alert when it dropped beyond the validation interval."""
    if latest["value"] is None:
        return [
            _alert(
                "warn",
                f"{metric} could not be computed on the {latest['rows']} labelled "
                f"rows of the window from {latest['start']}: {latest.get('reason')}",
                {"metric": metric, "rows": latest["rows"], "value": None},
            )
        ]
    if not latest["dropped"]:
        return []
    limit = _limit(base, higher, float(conf["tolerance"]))
    return [
        _alert(
            "alert",
            f"{metric} {'fell' if higher else 'rose'} to {latest['value']:.4g} on "
            f"{latest['rows']} labelled "
            f"rows of the window from {latest['start']} (validation "
            f"{base['value'] if base else float('nan'):.4g}, alert "
            f"{'below' if higher else 'above'} {limit:.4g})",
            {
                "metric": metric,
                "value": latest["value"],
                "rows": latest["rows"],
                "baseline": base,
                "limit": limit,
                "window_start": latest["start"],
            },
        )
    ]


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
