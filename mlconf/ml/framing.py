"""Problem framing: how the model is used, what each error costs, and the decision threshold.

The threshold of a binary classifier is chosen on the validation part (never on test)
and then becomes part of the fitted pipeline: its last step is wrapped in scikit-learn's
FixedThresholdClassifier, so every caller of `predict` (evaluation, batch scoring,
serving, `mlconf.load_model`) applies the same threshold (docs/architecture.md: one pipeline).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlconf.core import component_registry as registry
from mlconf.core.errors import MlconfError, did_you_mean

if TYPE_CHECKING:
    import numpy as np

    from mlconf.config import ProblemConfig

USAGES = ("real_time", "batch", "decision_support")
COST_KEYS = ("tp", "fp", "fn", "tn")
NO_THRESHOLD = "none"
BY_COST = "cost"
DEFAULT_THRESHOLD = 0.5
# Candidate thresholds tried: midpoints between distinct validation scores, at most this many.
MAX_CANDIDATES = 1000
# Points of the threshold curve kept in metrics.json and the manifest.
CURVE_POINTS = 101
THRESHOLD_KEY = "problem.threshold.optimize"


# --- static checks, before any data is read ----------------------------------------------------


CLASS_WEIGHTS = ("none", "balanced")


def check_problem(problem: ProblemConfig) -> None:
    """Usage, costs and threshold settings that are wrong whatever the data."""
    if problem.usage is not None and problem.usage not in USAGES:
        raise MlconfError(
            f"unknown usage '{problem.usage}'.{did_you_mean(str(problem.usage), USAGES)}",
            where="problem.usage",
            fix=f"use one of: {', '.join(USAGES)} (or null if not decided)",
        )
    if problem.class_weight not in CLASS_WEIGHTS:
        raise MlconfError(
            f"unknown class weighting '{problem.class_weight}'."
            f"{did_you_mean(str(problem.class_weight), CLASS_WEIGHTS)}",
            where="problem.class_weight",
            fix=f"use one of: {', '.join(CLASS_WEIGHTS)}",
        )
    if problem.task == "regression" and problem.class_weight != "none":
        raise MlconfError(
            "class weighting applies to classification only, but problem.task is regression",
            where="problem.class_weight",
            fix="set problem.class_weight=none",
        )
    costs = cost_matrix(problem)
    optimize = problem.threshold.optimize
    if problem.task == "regression":
        if costs is not None:
            raise MlconfError(
                "a cost matrix applies to classification only, but problem.task is regression",
                where="problem.costs",
                fix="remove problem.costs (or set it to {})",
            )
        if optimize != NO_THRESHOLD:
            raise MlconfError(
                f"a decision threshold applies to binary classification only, but "
                f"problem.task is regression (optimize is '{optimize}')",
                where=THRESHOLD_KEY,
                fix="set problem.threshold.optimize=none",
            )
        return
    if optimize == BY_COST and costs is None:
        raise MlconfError(
            "the threshold is to minimise cost, but no cost matrix is given",
            where=THRESHOLD_KEY,
            fix="add problem.costs, e.g. {tp: 0, fp: 1, fn: 5, tn: 0}, or optimise a metric "
            "such as f1",
        )
    if optimize not in (NO_THRESHOLD, BY_COST):
        threshold_metric(optimize)


def cost_matrix(problem: ProblemConfig) -> dict[str, float] | None:
    """The validated cost of each outcome (tp, fp, fn, tn); unset outcomes cost 0."""
    if problem.costs is None or (isinstance(problem.costs, Mapping) and not problem.costs):
        return None
    if not isinstance(problem.costs, Mapping):
        raise MlconfError(
            f"costs must be a mapping of outcome to cost, got {problem.costs!r}",
            where="problem.costs",
            fix="write e.g. {tp: 0, fp: 1, fn: 5, tn: 0}",
        )
    costs = dict.fromkeys(COST_KEYS, 0.0)
    for key, value in problem.costs.items():
        name = str(key)
        if name not in COST_KEYS:
            raise MlconfError(
                f"unknown outcome '{name}'.{did_you_mean(name.lower(), COST_KEYS)}",
                where=f"problem.costs.{name}",
                fix="use tp (true positive), fp (false positive), fn (false negative), "
                "tn (true negative)",
            )
        number = _number(value)
        if number is None or number < 0:
            raise MlconfError(
                f"the cost of {name} must be a finite number >= 0, got {value!r}",
                where=f"problem.costs.{name}",
                fix="give a cost per row in one unit (e.g. money or hours); express a "
                "benefit as the cost of missing it",
            )
        costs[name] = number
    if not any(costs.values()):
        raise MlconfError(
            "every cost is 0, so all thresholds are equally good",
            where="problem.costs",
            fix="give the errors (fp, fn) their costs, or remove problem.costs",
        )
    return costs


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def threshold_metric(name: str) -> registry.Component:
    """The label metric a threshold may optimise: registered, for classification, on labels."""
    label_metrics = [
        n
        for n in registry.REGISTRY.names("metric")
        if _is_label_metric(registry.get("metric", n), "classification")
    ]
    choices = [NO_THRESHOLD, BY_COST, *label_metrics]
    try:
        component = registry.get("metric", name)
    except MlconfError:
        component = None
    if component is None or not _applies(component, "classification"):
        raise MlconfError(
            f"'{name}' is not a way to choose a threshold.{did_you_mean(name, choices)}",
            where=THRESHOLD_KEY,
            fix=f"use one of: {', '.join(choices)}",
        )
    if component.meta.get("needs") == "proba":
        raise MlconfError(
            f"metric '{name}' scores probabilities, so it does not change with the threshold",
            where=THRESHOLD_KEY,
            fix=f"optimise a metric of labels: {', '.join(label_metrics)}, or cost",
        )
    return component


def _applies(component: registry.Component, task: str) -> bool:
    tasks = component.meta.get("tasks")
    return tasks is None or task in tasks


def _is_label_metric(component: registry.Component, task: str) -> bool:
    return _applies(component, task) and component.meta.get("needs") != "proba"


# --- choosing the threshold ---------------------------------------------------------------------


@dataclass
class ThresholdChoice:
    """The threshold on the positive class's probability, how and on what it was chosen."""

    threshold: float
    optimize: str
    method: str  # "cost", "metric" or "fallback" (the default 0.5, with the reason in note)
    value: float | None = None  # cost per row or metric at the threshold, on validation
    greater_is_better: bool = False
    rows: int = 0
    note: str = ""
    curve: list[tuple[float, float]] = field(default_factory=list)

    def to_dict(self, points: int = CURVE_POINTS) -> dict[str, Any]:
        """JSON-safe, with the curve thinned to at most `points` (the choice always kept)."""
        return {
            "value": self.threshold,
            "optimize": self.optimize,
            "method": self.method,
            "chosen_on": "validation",
            "rows": self.rows,
            "score": _finite(self.value),
            "score_name": "cost per row" if self.optimize == BY_COST else self.optimize,
            "greater_is_better": self.greater_is_better,
            "note": self.note,
            "curve": [
                {"threshold": t, "score": _finite(v)} for t, v in _thin(self.curve, points, self)
            ],
        }


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _thin(
    curve: list[tuple[float, float]], points: int, choice: ThresholdChoice
) -> list[tuple[float, float]]:
    if len(curve) <= points:
        return curve
    step = (len(curve) - 1) / (points - 1)
    kept = {round(i * step) for i in range(points)}
    return [p for i, p in enumerate(curve) if i in kept or p[0] == choice.threshold]


def candidates(scores: np.ndarray) -> np.ndarray:
    """Thresholds that give every distinct labelling: midpoints between distinct scores.

    0 (everything positive) and 1 bracket the scores, so the extremes are candidates too.
    Above MAX_CANDIDATES distinct scores, quantiles of them stand in for all.
    """
    import numpy as np

    distinct = np.unique(np.concatenate([[0.0, 1.0], scores]))
    if len(distinct) > MAX_CANDIDATES:
        distinct = np.unique(np.quantile(distinct, np.linspace(0, 1, MAX_CANDIDATES)))
    middles = (distinct[1:] + distinct[:-1]) / 2
    return np.unique(np.concatenate([[0.0], middles]))


def expected_costs(costs: Mapping[str, float], tp: Any, fp: Any, fn: Any, tn: Any) -> np.ndarray:
    """Mean cost per row of the outcome counts."""
    import numpy as np

    from mlconf.components.metrics.kernels import divide

    tp, fp, fn, tn = (np.asarray(a, dtype=float) for a in (tp, fp, fn, tn))
    total = costs["tp"] * tp + costs["fp"] * fp + costs["fn"] * fn + costs["tn"] * tn
    return divide(total, tp + fp + fn + tn, 0.0)


def row_costs(costs: Mapping[str, float], y_true: Any, y_pred: Any) -> np.ndarray:
    """The cost of each row's outcome (codes: 1 is the positive class)."""
    import numpy as np

    truth, pred = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
    return np.select(
        [truth & pred, ~truth & pred, truth & ~pred],
        [costs["tp"], costs["fp"], costs["fn"]],
        default=costs["tn"],
    ).astype(float)


def choose_threshold(
    y_true: Any,
    scores: Any,
    optimize: str,
    costs: Mapping[str, float] | None = None,
) -> ThresholdChoice:
    """The threshold on validation scores that minimises cost or maximises the metric.

    `y_true` holds class codes (1 = positive), `scores` the positive class's probability.
    Among equally good thresholds the one closest to 0.5 wins. With a single class in
    `y_true` nothing can be learned: the default 0.5 is kept and the note says why.
    """
    import numpy as np

    from mlconf.ml.evaluation.thresholds import confusion_counts, score_thresholds

    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise MlconfError(f"labels and scores must be 1-D of equal length: {y.shape}, {s.shape}")
    present = np.unique(y)
    if len(present) < 2:
        which = "positive" if len(present) and present[0] == 1 else "negative"
        note = (
            f"the validation part has {len(y)} row(s), all {which}: a threshold cannot be "
            f"chosen, so the default {DEFAULT_THRESHOLD} is kept"
        )
        return ThresholdChoice(DEFAULT_THRESHOLD, optimize, "fallback", rows=len(y), note=note)
    if optimize == BY_COST:
        if costs is None:
            raise MlconfError("choosing a threshold by cost needs costs", where="problem.costs")
        thresholds = candidates(s)
        values = expected_costs(costs, *confusion_counts(y, s, thresholds))
        return _best(thresholds, values, optimize, "cost", greater=False, rows=len(y))
    component = threshold_metric(optimize)
    greater = bool(component.meta.get("greater_is_better", True))
    thresholds, values = score_thresholds(component, y, s, candidates(s))
    return _best(thresholds, values, optimize, "metric", greater=greater, rows=len(y))


def _best(
    thresholds: np.ndarray,
    values: np.ndarray,
    optimize: str,
    method: str,
    *,
    greater: bool,
    rows: int,
) -> ThresholdChoice:
    import numpy as np

    finite = np.isfinite(values)
    if not finite.any():
        note = f"'{optimize}' is undefined at every threshold on validation; 0.5 is kept"
        return ThresholdChoice(DEFAULT_THRESHOLD, optimize, "fallback", rows=rows, note=note)
    signed = np.where(finite, values if greater else -values, -np.inf)
    best = signed.max()
    tied = np.flatnonzero(signed >= best - 1e-12 * max(1.0, abs(best)))
    pick = tied[np.argmin(np.abs(thresholds[tied] - DEFAULT_THRESHOLD))]
    curve = [(float(t), float(v)) for t, v in zip(thresholds, values, strict=True)]
    return ThresholdChoice(
        threshold=float(thresholds[pick]),
        optimize=optimize,
        method=method,
        value=float(values[pick]),
        greater_is_better=greater,
        rows=rows,
        curve=curve,
    )


# --- the threshold inside the pipeline ----------------------------------------------------------


def with_threshold(pipeline: Any, threshold: float) -> Any:
    """The fitted pipeline whose final model predicts the positive class (code 1) when its
    probability is >= threshold. The model stays fitted: nothing is refit."""
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.pipeline import Pipeline

    def wrap(model: Any) -> Any:
        wrapper = FixedThresholdClassifier(
            model, threshold=threshold, pos_label=1, response_method="predict_proba"
        )
        # What fit() would set, without refitting a clone: the model is already fitted.
        wrapper.estimator_ = model
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(model, name):
                setattr(wrapper, name, getattr(model, name))
        return wrapper

    if isinstance(pipeline, Pipeline):
        name, model = pipeline.steps[-1]
        pipeline.steps[-1] = (name, wrap(final_estimator(model)))
        return pipeline
    return wrap(final_estimator(pipeline))


def final_estimator(model: Any) -> Any:
    """The fitted model itself: a pipeline's last step, without a threshold wrapper."""
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        model = model.steps[-1][1]
    if isinstance(model, FixedThresholdClassifier):
        model = model.estimator
    return model


def threshold_of(model: Any) -> float | None:
    """The decision threshold a fitted pipeline applies, or None for the model's own rule."""
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.pipeline import Pipeline

    last = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if isinstance(last, FixedThresholdClassifier) and last.threshold != "auto":
        return float(last.threshold)
    return None
