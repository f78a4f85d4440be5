"""Scoring a part: predictions of the model and the baseline, and the configured metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlconf.config import TrainConfig
    from mlconf.ml.evaluation import MetricValue
    from mlconf.ml.target import Target

ROLES = ("model", "baseline")


def metric_names(conf: TrainConfig) -> list[str]:
    """The task's metric set plus any metric the problem's criteria or primary metric name."""
    names = list(getattr(conf.metrics, conf.problem.task))
    for extra in (conf.problem.primary_metric, *conf.problem.success_criteria):
        if extra not in names:
            names.append(extra)
    return names


def predictions(model: Any, x: pd.DataFrame, task: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels and probabilities, running a pipeline's feature steps once for both."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and len(model.steps) > 1:
        x = model[:-1].transform(x)
        model = model[-1]
    y_pred = model.predict(x)
    y_proba = None
    if task == "classification" and hasattr(model, "predict_proba"):
        try:
            y_proba = model.predict_proba(x)
        except AttributeError:
            y_proba = None
    return y_pred, y_proba


def score_part(
    conf: TrainConfig,
    n_classes: int,
    y_true: Any,
    y_pred: Any,
    y_proba: Any,
    bootstrap: int | None = None,
    metrics: list[str] | None = None,
) -> dict[str, MetricValue]:
    """Every configured metric, or just `metrics` (tuning needs only the primary one)."""
    from mlconf.ml.evaluation import score

    labels = list(range(n_classes))
    return score(
        metric_names(conf) if metrics is None else metrics,
        y_true,
        y_pred,
        y_proba,
        labels=labels,
        positive_class=labels[-1] if labels else None,
        task=conf.problem.task,
        bootstrap=conf.metrics.bootstrap if bootstrap is None else bootstrap,
        confidence=conf.metrics.confidence,
        max_rows=conf.metrics.max_bootstrap_rows,
        seed=conf.seed,
    )


@dataclass
class Predicted:
    """One part's scored rows: row ids, encoded truth, and (labels, probabilities) per role."""

    rows: pd.Index
    y_true: Any
    by_role: dict[str, tuple[Any, Any]]


def predict_part(
    target: Target,
    columns: list[str],
    models: dict[str, Any],
    frame: pd.DataFrame,
    warn: Callable[[str], None],
) -> Predicted:
    """The model's and the baseline's predictions on one part (rows of unseen classes left out)."""
    rows, y_true = target.labelled(frame)
    if len(rows) < len(frame):
        warn(f"{len(frame) - len(rows)} row(s) have a class unseen in training; not scored")
    x = rows[columns]
    by_role = {role: predictions(models[role], x, target.task) for role in ROLES}
    return Predicted(x.index, y_true, by_role)
