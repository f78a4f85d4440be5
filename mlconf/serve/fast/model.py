"""The last step of a compiled scorer: the model's own fast path to probabilities (or
values), then the rule that turns probabilities into a class position.

A classifier's answer is a position in its probability columns; the label is
`model.classes[position]`, the same list the full path and `/predict` read labels from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlconf.serve.fast.steps import CannotCompileError, kind_of

Predict = Callable[[np.ndarray], np.ndarray]
XGB_CLASSIFIER = "xgboost.sklearn.XGBClassifier"
XGB_REGRESSOR = "xgboost.sklearn.XGBRegressor"


@dataclass(frozen=True)
class FinalStep:
    """Probabilities (classification) or values (regression) of a feature matrix, and the
    rule from probabilities to class positions (None for a regression)."""

    predict: Predict
    decide: Callable[[np.ndarray], np.ndarray] | None
    name: str


def argmax(proba: np.ndarray) -> np.ndarray:
    return np.argmax(proba, axis=1)


# From this many rows on, a batch may be scored on several threads: its one parallel
# region is long enough to pay for them (1,000 rows of a 600-tree model: 3-4.8 ms on two
# threads, 5-8.7 ms on one, idle 2-core machine). Such requests are scored on a worker
# thread, off the event loop (mlconf.serve.scoring.INLINE_RECORDS).
MANY_ROWS = 512


def _xgboost(final: Any) -> Predict:
    if not final._can_use_inplace_predict():
        raise CannotCompileError("an xgboost model that cannot use inplace_predict")
    few = single_threaded_booster(final)
    many = many_rows_booster(final, few)
    iterations = final._get_iteration_range(None)
    missing = final.missing

    def values(x: np.ndarray) -> np.ndarray:
        booster = many if len(x) >= MANY_ROWS else few
        return np.asarray(
            booster.inplace_predict(
                x, iteration_range=iterations, missing=missing, validate_features=False
            )
        )

    return values


def single_threaded_booster(final: Any) -> Any:
    """A copy of the xgboost model's booster that predicts on one thread.

    A request's rows are few, and OpenMP threads that wait for a core held by the event
    loop, the prediction log's writer or another process made single-record p99 40-270 ms
    against 5-13 ms on one thread (2 busy cores); throughput comes from concurrent requests
    and `workers`. A copy, so the loaded model keeps its own setting."""
    booster = final.get_booster().copy()
    booster.set_param({"nthread": 1})
    return booster


def many_rows_booster(final: Any, few: Any) -> Any:
    """The booster for batches of MANY_ROWS or more: the model's own threads, but one core
    fewer than the machine has, capped so. The event loop and the prediction log's writer
    need a core of their own while a big batch is scored: on 2 cores, two xgboost threads
    beside them served 37-40 1,000-record requests/s against 39-46 on one thread."""
    from mlconf.core.background import usable_cores

    cores = usable_cores()
    own = final.n_jobs if final.n_jobs is not None and final.n_jobs > 0 else cores
    threads = min(own, cores - 1)
    if threads <= 1:
        return few
    booster = final.get_booster().copy()
    booster.set_param({"nthread": threads})
    return booster


def _xgb_classifier(final: Any, n_classes: int) -> Predict:
    if final.objective == "multi:softmax" or final.n_classes_ != n_classes:
        raise CannotCompileError(f"an xgboost classifier with objective {final.objective}")
    values = _xgboost(final)

    def proba(x: np.ndarray) -> np.ndarray:
        p = values(x)
        if p.ndim == 1:  # binary: the positive class's probability, as predict_proba
            return np.vstack((1.0 - p, p)).T
        return p

    return proba


def _threshold(final: Any, n_classes: int) -> FinalStep:
    """FixedThresholdClassifier: the positive class where its probability >= threshold."""
    threshold = 0.5 if final.threshold == "auto" else final.threshold
    if final.response_method not in ("predict_proba", "auto") or n_classes != 2:
        raise CannotCompileError("a decision threshold on something other than probabilities")
    if not isinstance(threshold, int | float):
        raise CannotCompileError(f"a decision threshold of {threshold!r}")
    inner = final_step(final.estimator_, "classification", n_classes)
    classes = np.asarray(final.classes_)
    pos_label = classes[1] if final.pos_label is None else final.pos_label
    pos = int(np.flatnonzero(classes == pos_label)[0])
    neg = 1 - pos

    def decide(proba: np.ndarray) -> np.ndarray:
        return np.where(proba[:, pos] >= threshold, pos, neg)

    return FinalStep(inner.predict, decide, f"{inner.name} + threshold {threshold:g}")


def plugin_final(final: Any, task: str) -> FinalStep | None:
    """A fast path a plugin registered for this model (component meta `fast_path`)."""
    from mlconf.serve.fast.plugins import plugin_fast_path

    found = plugin_fast_path(final)
    if found is None:
        return None
    decide = argmax if task == "classification" else None
    return FinalStep(found, decide, f"plugin fast path for {kind_of(final)}")


def final_step(final: Any, task: str, n_classes: int) -> FinalStep:
    """The compiled last step, or CannotCompileError naming the model it does not know."""
    kind = kind_of(final)
    if kind == "sklearn.model_selection._classification_threshold.FixedThresholdClassifier":
        return _threshold(final, n_classes)
    if task == "classification" and kind == XGB_CLASSIFIER:
        return FinalStep(_xgb_classifier(final, n_classes), argmax, "xgboost inplace_predict")
    if task != "classification" and kind == XGB_REGRESSOR:
        return FinalStep(_xgboost(final), None, "xgboost inplace_predict")
    found = plugin_final(final, task)
    if found is not None:
        return found
    raise CannotCompileError(f"no fast path for the model {kind}")
