"""Evaluate: metrics with bootstrap confidence intervals on validation and test, beside
the dummy baseline, and the verdict on the problem's success criteria."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.stages.train import encode

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlconf.evaluation import MetricValue
    from mlconf.stages.context import RunContext


def metric_names(ctx: RunContext) -> list[str]:
    """The task's metric set plus any metric the problem's criteria or primary metric name."""
    conf = ctx.conf
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
    ctx: RunContext, y_true: Any, y_pred: Any, y_proba: Any, bootstrap: int | None = None
) -> dict[str, MetricValue]:
    from mlconf.evaluation import score

    conf = ctx.conf
    classes = ctx["classes"]
    labels = list(range(len(classes)))
    return score(
        metric_names(ctx),
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


def _truth(ctx: RunContext, frame: pd.DataFrame) -> Any:
    target = frame[ctx.conf.problem.target]
    if ctx.conf.problem.task == "classification":
        classes = ctx["classes"]
        known = target.astype(str).isin(classes)
        if not known.all():
            ctx.warn(f"{int((~known).sum())} row(s) have a class unseen in training; not scored")
        return encode(target[known], classes), known.to_numpy()
    return target.to_numpy(dtype=float), None


def evaluate(ctx: RunContext) -> None:
    from mlconf.evaluation import success_verdict
    from mlconf.store.atomic import write_json

    conf = ctx.conf
    parts: dict[str, pd.DataFrame] = ctx["parts"]
    results: dict[str, Any] = {}
    for part in ("validation", "test"):
        frame = parts[part]
        if len(frame) == 0:
            continue
        y_true, known = _truth(ctx, frame)
        x = frame[ctx["columns"]]
        if known is not None:
            x = x[known]
        results[part] = {}
        for role in ("model", "baseline"):
            fitted = ctx["pipeline" if role == "model" else "baseline"]
            y_pred, y_proba = predictions(fitted, x, conf.problem.task)
            # The baseline is a reference point: no interval, which halves the bootstrap.
            scores = score_part(ctx, y_true, y_pred, y_proba, None if role == "model" else 0)
            results[part][role] = {name: value.to_dict() for name, value in scores.items()}
            if part == "test" and role == "model":
                ctx["test_scores"] = scores
    criteria = {
        name: {"min": c.min, "max": c.max} for name, c in conf.problem.success_criteria.items()
    }
    verdict = success_verdict(criteria, ctx["test_scores"]) if criteria else []
    document = {
        "task": conf.problem.task,
        "primary_metric": conf.problem.primary_metric,
        "confidence": conf.metrics.confidence,
        "bootstrap": conf.metrics.bootstrap,
        **results,
        "cv": ctx.items.get("cv"),
        "success_criteria": verdict,
        "passed": all(v["passed"] for v in verdict),
    }
    write_json(ctx.artifact("metrics.json"), document)
    ctx["metrics"] = document
    ctx.record.counts["passed_success_criteria"] = document["passed"]
