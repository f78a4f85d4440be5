"""Assessing a trained model on its held-out parts: metrics with bootstrap intervals beside
the dummy baseline, expected costs, the verdict on the success criteria, the test
predictions and the evaluation plots. Both engines hand their predictions to `assess`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.ml.scoring import ROLES, Predicted, score_part

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig
    from mlconf.ml.evaluation import MetricValue
    from mlconf.ml.framing import ThresholdChoice


@dataclass(frozen=True)
class Trained:
    """What the assessment needs of a trained model: the config it was trained under, its
    classes, the threshold chosen for it and its cross-validation, and where to write."""

    conf: TrainConfig
    classes: list[str]
    threshold: ThresholdChoice | None
    cv: dict[str, Any] | None
    run_dir: Path


def assess(
    trained: Trained, predicted: dict[str, Predicted], plot_rows: int | None = None
) -> tuple[dict[str, Any], dict[str, MetricValue]]:
    """metrics.json (returned, with the test scores), predictions.csv and the plots, from
    the parts' predictions.

    `plot_rows` caps the test rows the plots draw (a seeded sample); None plots them all.
    """
    from mlconf.ml.evaluation import success_verdict
    from mlconf.store.atomic import write_json

    conf = trained.conf
    costs = _binary_costs(trained)
    test_scores: dict[str, MetricValue] = {}
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
            scores = score_part(conf, len(trained.classes), y_true, y_pred, y_proba, bootstrap)
            results[part][role] = {name: value.to_dict() for name, value in scores.items()}
            if costs is not None:
                cost = _expected_cost(conf, costs, y_true, y_pred, bootstrap)
                expected_cost.setdefault(part, {})[role] = cost
            if part == "test" and role == "model":
                test_scores = scores
                test = _Scored(scored.rows, y_true, y_pred, y_proba)
    criteria = {
        name: {"min": c.min, "max": c.max} for name, c in conf.problem.success_criteria.items()
    }
    verdict = success_verdict(criteria, test_scores, conf.metrics.confidence) if criteria else []
    threshold = _threshold_record(trained)
    document = {
        "task": conf.problem.task,
        "primary_metric": conf.problem.primary_metric,
        "confidence": conf.metrics.confidence,
        "bootstrap": conf.metrics.bootstrap,
        **results,
        "cv": trained.cv,
        "success_criteria": verdict,
        "passed": all(v["passed"] for v in verdict),
        "threshold": threshold,
        "costs": costs,
        "expected_cost": expected_cost or None,
        "predictions": None,
        "plots": [],
    }
    if test is not None:
        document["predictions"] = _write_predictions(trained, test)
        document["plots"] = _plots(trained, _sampled(test, plot_rows, conf.seed), threshold)
    write_json(trained.run_dir / "metrics.json", document)
    return document, test_scores


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


def _binary_costs(trained: Trained) -> dict[str, float] | None:
    from mlconf.ml.framing import cost_matrix
    from mlconf.ml.thresholds import check_binary

    check_binary(trained.conf.problem, len(trained.classes))
    return cost_matrix(trained.conf.problem)


def _expected_cost(
    conf: TrainConfig, costs: dict[str, float], y_true: Any, y_pred: Any, bootstrap: int | None
) -> dict[str, float | None]:
    """Mean cost per row of the predictions, with a bootstrap interval for the model."""
    from mlconf.ml.evaluation import mean_with_interval
    from mlconf.ml.framing import row_costs

    m = conf.metrics
    return mean_with_interval(
        row_costs(costs, y_true, y_pred),
        bootstrap=m.bootstrap if bootstrap is None else bootstrap,
        confidence=m.confidence,
        max_rows=m.max_bootstrap_rows,
        seed=conf.seed,
    ).to_dict()


def _threshold_record(trained: Trained) -> dict[str, Any] | None:
    """How a binary model turns probabilities into labels; None for other problems."""
    from mlconf.ml.framing import DEFAULT_THRESHOLD, NO_THRESHOLD

    if trained.conf.problem.task != "classification" or len(trained.classes) != 2:
        return None
    choice = trained.threshold
    if choice is not None:
        record: dict[str, Any] = choice.to_dict()
        return record
    return {
        "value": DEFAULT_THRESHOLD,
        "optimize": NO_THRESHOLD,
        "method": "default",
        "note": "the model's own rule: the more probable class",
    }


def _write_predictions(trained: Trained, test: _Scored) -> str:
    """data/predictions.csv: row id, truth, prediction and per-class probabilities."""
    import numpy as np
    import pandas as pd

    from mlconf.store.atomic import write_with

    frame = pd.DataFrame({"row": test.rows})
    if trained.conf.problem.task == "classification":
        classes = np.asarray(trained.classes, dtype=object)
        frame["y_true"] = classes[np.asarray(test.y_true, dtype=int)]
        frame["y_pred"] = classes[np.asarray(test.y_pred, dtype=int)]
        if test.y_proba is not None:
            for k, label in enumerate(classes):
                frame[f"proba_{label}"] = test.y_proba[:, k]
    else:
        frame["y_true"] = test.y_true
        frame["y_pred"] = np.asarray(test.y_pred, dtype=float)
        frame["residual"] = frame["y_true"] - frame["y_pred"]
    path = trained.run_dir / "data" / "predictions.csv"
    write_with(path, lambda tmp: frame.to_csv(tmp, index=False))
    return "data/predictions.csv"


def _plots(trained: Trained, test: _Scored, threshold: dict[str, Any] | None) -> list[Any]:
    from mlconf.report.evaluation_plots import save_evaluation_plots

    chosen = threshold if threshold is not None and threshold.get("curve") else None
    return save_evaluation_plots(
        trained.run_dir,
        task=trained.conf.problem.task,
        y_true=test.y_true,
        y_pred=test.y_pred,
        proba=test.y_proba,
        classes=[str(c) for c in trained.classes],
        threshold=chosen,
    )
