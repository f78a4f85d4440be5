"""Evaluate: metrics with bootstrap confidence intervals on validation and test, beside
the dummy baseline, and the verdict on the problem's success criteria."""

from __future__ import annotations

from dataclasses import dataclass
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
    ctx: RunContext,
    y_true: Any,
    y_pred: Any,
    y_proba: Any,
    bootstrap: int | None = None,
    metrics: list[str] | None = None,
) -> dict[str, MetricValue]:
    """Every configured metric, or just `metrics` (tuning needs only the primary one)."""
    from mlconf.evaluation import score

    conf = ctx.conf
    classes = ctx["classes"]
    labels = list(range(len(classes)))
    return score(
        metric_names(ctx) if metrics is None else metrics,
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


ROLES = ("model", "baseline")


@dataclass
class Predicted:
    """One part's scored rows: row ids, encoded truth, and (labels, probabilities) per role."""

    rows: pd.Index
    y_true: Any
    by_role: dict[str, tuple[Any, Any]]


def predict_part(ctx: RunContext, frame: pd.DataFrame) -> Predicted:
    """The model's and the baseline's predictions on one part (rows of unseen classes left out)."""
    y_true, known = _truth(ctx, frame)
    x = frame[ctx["columns"]]
    if known is not None:
        x = x[known]
    by_role = {
        role: predictions(
            ctx["pipeline" if role == "model" else "baseline"], x, ctx.conf.problem.task
        )
        for role in ROLES
    }
    return Predicted(x.index, y_true, by_role)


def evaluate(ctx: RunContext) -> None:
    parts: dict[str, pd.DataFrame] = ctx["parts"]
    evaluate_predicted(
        ctx,
        {p: predict_part(ctx, parts[p]) for p in ("validation", "test") if len(parts[p])},
    )


def evaluate_predicted(
    ctx: RunContext, predicted: dict[str, Predicted], plot_rows: int | None = None
) -> None:
    """Metrics, costs, predictions.csv and plots from the parts' predictions.

    `plot_rows` caps the test rows the plots draw (a seeded sample); None plots them all.
    """
    from mlconf.evaluation import success_verdict
    from mlconf.store.atomic import write_json

    conf = ctx.conf
    costs = _binary_costs(ctx)
    results: dict[str, Any] = {}
    expected_cost: dict[str, Any] = {}
    test: _Scored | None = None
    for part, scored in predicted.items():
        y_true = scored.y_true
        results[part] = {}
        for role in ROLES:
            y_pred, y_proba = scored.by_role[role]
            # The baseline is a reference point: no interval, which halves the bootstrap.
            bootstrap = None if role == "model" else 0
            scores = score_part(ctx, y_true, y_pred, y_proba, bootstrap)
            results[part][role] = {name: value.to_dict() for name, value in scores.items()}
            if costs is not None:
                cost = _expected_cost(ctx, costs, y_true, y_pred, bootstrap)
                expected_cost.setdefault(part, {})[role] = cost
            if part == "test" and role == "model":
                ctx["test_scores"] = scores
                test = _Scored(scored.rows, y_true, y_pred, y_proba)
    criteria = {
        name: {"min": c.min, "max": c.max} for name, c in conf.problem.success_criteria.items()
    }
    verdict = (
        success_verdict(criteria, ctx["test_scores"], conf.metrics.confidence) if criteria else []
    )
    threshold = _threshold_record(ctx)
    document = {
        "task": conf.problem.task,
        "primary_metric": conf.problem.primary_metric,
        "confidence": conf.metrics.confidence,
        "bootstrap": conf.metrics.bootstrap,
        **results,
        "cv": ctx.items.get("cv"),
        "success_criteria": verdict,
        "passed": all(v["passed"] for v in verdict),
        "threshold": threshold,
        "costs": costs,
        "expected_cost": expected_cost or None,
        "predictions": None,
        "plots": [],
    }
    if test is not None:
        document["predictions"] = _write_predictions(ctx, test)
        document["plots"] = _plots(ctx, _sampled(test, plot_rows, conf.seed), threshold)
    write_json(ctx.artifact("metrics.json"), document)
    ctx["metrics"] = document
    ctx.record.counts["passed_success_criteria"] = document["passed"]


@dataclass
class _Scored:
    """The scored test rows: their row ids (as in data/split.csv), truth and predictions."""

    rows: pd.Index
    y_true: Any
    y_pred: Any
    y_proba: Any


def _sampled(test: _Scored, rows: int | None, seed: int) -> _Scored:
    """At most `rows` of the scored test rows, a seeded sample in row order."""
    import numpy as np

    n = len(test.rows)
    if rows is None or n <= rows:
        return test
    keep = np.sort(np.random.default_rng(seed).choice(n, size=rows, replace=False))
    proba = None if test.y_proba is None else test.y_proba[keep]
    return _Scored(test.rows[keep], test.y_true[keep], test.y_pred[keep], proba)


def _binary_costs(ctx: RunContext) -> dict[str, float] | None:
    from mlconf.framing import cost_matrix
    from mlconf.stages.threshold import check_binary

    check_binary(ctx)
    return cost_matrix(ctx.conf.problem)


def _expected_cost(
    ctx: RunContext, costs: dict[str, float], y_true: Any, y_pred: Any, bootstrap: int | None
) -> dict[str, float | None]:
    """Mean cost per row of the predictions, with a bootstrap interval for the model."""
    from mlconf.evaluation import mean_with_interval
    from mlconf.framing import row_costs

    m = ctx.conf.metrics
    return mean_with_interval(
        row_costs(costs, y_true, y_pred),
        bootstrap=m.bootstrap if bootstrap is None else bootstrap,
        confidence=m.confidence,
        max_rows=m.max_bootstrap_rows,
        seed=ctx.conf.seed,
    ).to_dict()


def _threshold_record(ctx: RunContext) -> dict[str, Any] | None:
    """How a binary model turns probabilities into labels; None for other problems."""
    from mlconf.framing import DEFAULT_THRESHOLD, NO_THRESHOLD

    if ctx.conf.problem.task != "classification" or len(ctx["classes"]) != 2:
        return None
    choice = ctx.items.get("threshold")
    if choice is not None:
        record: dict[str, Any] = choice.to_dict()
        return record
    return {
        "value": DEFAULT_THRESHOLD,
        "optimize": NO_THRESHOLD,
        "method": "default",
        "note": "the model's own rule: the more probable class",
    }


def _write_predictions(ctx: RunContext, test: _Scored) -> str:
    """data/predictions.csv: row id, truth, prediction and per-class probabilities."""
    import numpy as np
    import pandas as pd

    from mlconf.store.atomic import write_with

    frame = pd.DataFrame({"row": test.rows})
    if ctx.conf.problem.task == "classification":
        classes = np.asarray(ctx["classes"], dtype=object)
        frame["y_true"] = classes[np.asarray(test.y_true, dtype=int)]
        frame["y_pred"] = classes[np.asarray(test.y_pred, dtype=int)]
        if test.y_proba is not None:
            for k, label in enumerate(classes):
                frame[f"proba_{label}"] = test.y_proba[:, k]
    else:
        frame["y_true"] = test.y_true
        frame["y_pred"] = np.asarray(test.y_pred, dtype=float)
        frame["residual"] = frame["y_true"] - frame["y_pred"]
    path = ctx.artifact("data", "predictions.csv")
    write_with(path, lambda tmp: frame.to_csv(tmp, index=False))
    return "data/predictions.csv"


def _plots(ctx: RunContext, test: _Scored, threshold: dict[str, Any] | None) -> list[Any]:
    from mlconf.report.evaluation_plots import save_evaluation_plots

    chosen = threshold if threshold is not None and threshold.get("curve") else None
    return save_evaluation_plots(
        ctx.run_dir,
        task=ctx.conf.problem.task,
        y_true=test.y_true,
        y_pred=test.y_pred,
        proba=test.y_proba,
        classes=[str(c) for c in ctx.items.get("classes", [])],
        threshold=chosen,
    )
