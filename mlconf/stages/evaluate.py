"""Evaluate: metrics with bootstrap confidence intervals on validation and test, beside
the dummy baseline, and the verdict on the problem's success criteria."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.core.component_registry import require
from mlconf.ml import scoring
from mlconf.ml.assessment import Trained, assess
from mlconf.ml.training import target_of

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig
    from mlconf.ml.scoring import Predicted
    from mlconf.run_state import RunState


def evaluate(ctx: RunState) -> None:
    parts: dict[str, pd.DataFrame] = ctx.parts
    predicted = {p: predict_part(ctx, parts[p]) for p in ("validation", "test") if len(parts[p])}
    from mlconf.report.evaluation_plots import drawn_by

    # metrics.json lists the plots; the background drawing process draws them.
    with drawn_by(lambda job, *args: ctx.draw("evaluate", job, *args)):
        record(ctx, predicted)


def predict_part(ctx: RunState, frame: pd.DataFrame) -> Predicted:
    """The model's and the baseline's predictions on one part (rows of unseen classes left out)."""
    training = ctx.training
    models = {"model": ctx.pipeline, "baseline": ctx.baseline}
    target = target_of(ctx.conf, training)
    return scoring.predict_part(target, training.columns, models, frame, ctx.warn)


def record(ctx: RunState, predicted: dict[str, Predicted], plot_rows: int | None = None) -> None:
    """Assess the predictions and keep the result in the run state and record."""
    trained = Trained(ctx.conf, ctx.training.classes, ctx.threshold, ctx.cv, ctx.run_dir)
    ctx.metrics, ctx.test_scores = assess(trained, predicted, plot_rows)
    ctx.predicted = predicted
    ctx.record.counts["passed_success_criteria"] = ctx.metrics["passed"]


def check(conf: TrainConfig) -> None:
    """Every metric is registered, and the problem's framing (criteria, costs, threshold)
    holds together."""
    from mlconf.ml.framing import check_problem

    task = conf.problem.task
    for metric in getattr(conf.metrics, task, []):
        require("metric", metric, f"metrics.{task}")
    require("metric", conf.problem.primary_metric, "problem.primary_metric")
    check_problem(conf.problem)
