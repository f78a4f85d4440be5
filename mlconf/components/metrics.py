"""Built-in metrics. Each is `fn(y_true, y_pred, y_proba, *, labels, positive_class) -> float`.

They are the reference definitions (mostly thin sklearn calls); `mlconf.evaluation` has
vectorised paths for them that must agree, and calls these for anything else. A metric
that is undefined on a sample (e.g. roc_auc with one class present) returns nan rather
than raising, so that one unlucky bootstrap resample does not stop an evaluation.
Importing this module must stay cheap: sklearn and numpy are imported inside functions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mlconf.registry import register

if TYPE_CHECKING:
    import numpy as np

CLASSIFICATION = ("classification",)
REGRESSION = ("regression",)


def positive_label(labels: Sequence[Any], positive_class: Any) -> Any:
    """The positive class of a binary problem: the configured one, else the last label."""
    return labels[-1] if positive_class is None else positive_class


def is_binary(labels: Sequence[Any] | None) -> bool:
    """Two classes: label metrics score the positive class instead of a macro average."""
    return labels is not None and len(labels) == 2


def _prf(
    score_fn: Callable[..., Any],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Precision, recall or F1: of the positive class if binary, else macro over classes seen.

    A zero denominator scores 0 (sklearn's convention), without sklearn's warning.
    """
    if is_binary(labels):
        pos = positive_label(labels, positive_class)
        return float(score_fn(y_true, y_pred, pos_label=pos, average="binary", zero_division=0.0))
    return float(score_fn(y_true, y_pred, average="macro", zero_division=0.0))


def _sorted_columns(labels: Sequence[Any], y_proba: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Sorted labels and y_proba's columns to match: sklearn's log_loss and multiclass Brier
    assume sorted labels, whatever order `labels` is given in."""
    order = sorted(range(len(labels)), key=lambda i: labels[i])
    return [labels[i] for i in order], y_proba[:, order]


def _one_vs_rest(
    score_fn: Callable[..., Any],
    y_true: np.ndarray,
    y_proba: np.ndarray | None,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """A binary ranking score of the positive class, or its macro mean over all classes.

    nan when a scored class has no positive or no negative row, where ranking is undefined.
    """
    import numpy as np

    if y_proba is None:
        return math.nan
    labels = list(labels)
    scored = [positive_label(labels, positive_class)] if is_binary(labels) else labels
    values = []
    for label in scored:
        truth = np.asarray(y_true) == label
        if truth.all() or not truth.any():
            return math.nan
        values.append(float(score_fn(truth, y_proba[:, labels.index(label)])))
    return float(np.mean(values))


@register("metric", "accuracy", greater_is_better=True, needs="label", tasks=CLASSIFICATION)
def accuracy(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Share of rows predicted right; misleading when classes are imbalanced."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y_true, y_pred))


@register(
    "metric", "balanced_accuracy", greater_is_better=True, needs="label", tasks=CLASSIFICATION
)
def balanced_accuracy(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Mean recall over the classes present in y_true; robust to class imbalance."""
    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        return float(balanced_accuracy_score(y_true, y_pred))


@register("metric", "f1", greater_is_better=True, needs="label", tasks=CLASSIFICATION)
def f1(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """F1 of the positive class (binary) or macro F1 over classes seen (multiclass)."""
    from sklearn.metrics import f1_score

    return _prf(f1_score, y_true, y_pred, labels, positive_class)


@register("metric", "precision", greater_is_better=True, needs="label", tasks=CLASSIFICATION)
def precision(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Precision of the positive class (binary) or macro precision (multiclass)."""
    from sklearn.metrics import precision_score

    return _prf(precision_score, y_true, y_pred, labels, positive_class)


@register("metric", "recall", greater_is_better=True, needs="label", tasks=CLASSIFICATION)
def recall(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Recall of the positive class (binary) or macro recall (multiclass)."""
    from sklearn.metrics import recall_score

    return _prf(recall_score, y_true, y_pred, labels, positive_class)


@register("metric", "roc_auc", greater_is_better=True, needs="proba", tasks=CLASSIFICATION)
def roc_auc(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Area under the ROC curve: positive-class (binary) or one-vs-rest macro (multiclass)."""
    from sklearn.metrics import roc_auc_score

    return _one_vs_rest(roc_auc_score, y_true, y_proba, labels, positive_class)


@register("metric", "pr_auc", greater_is_better=True, needs="proba", tasks=CLASSIFICATION)
def pr_auc(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Average precision: positive-class (binary) or one-vs-rest macro (multiclass)."""
    from sklearn.metrics import average_precision_score

    return _one_vs_rest(average_precision_score, y_true, y_proba, labels, positive_class)


@register("metric", "log_loss", greater_is_better=False, needs="proba", tasks=CLASSIFICATION)
def log_loss(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Mean negative log-likelihood of the true class; punishes confident mistakes hard."""
    from sklearn.metrics import log_loss as sk_log_loss

    if y_proba is None:
        return math.nan
    ordered, proba = _sorted_columns(labels, y_proba)
    return float(sk_log_loss(y_true, proba, labels=ordered))


@register("metric", "brier", greater_is_better=False, needs="proba", tasks=CLASSIFICATION)
def brier(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Brier score of the positive class (binary); multiclass: mean one-vs-rest Brier.

    The multiclass value is sklearn's multiclass Brier score (the mean over rows of the
    sum over classes) divided by the number of classes, so it stays in [0, 1] and equals
    the binary definition when there are two classes.
    """
    import numpy as np
    from sklearn.metrics import brier_score_loss

    if y_proba is None:
        return math.nan
    labels = list(labels)
    if is_binary(labels):
        pos = positive_label(labels, positive_class)
        truth = np.asarray(y_true) == pos
        return float(brier_score_loss(truth, y_proba[:, labels.index(pos)], pos_label=True))
    ordered, proba = _sorted_columns(labels, y_proba)
    total = brier_score_loss(y_true, proba, labels=ordered, scale_by_half=False)
    return float(total) / len(labels)


@register("metric", "mcc", greater_is_better=True, needs="label", tasks=CLASSIFICATION)
def mcc(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any],
    positive_class: Any,
) -> float:
    """Matthews correlation: one number using the whole confusion matrix, 0 = chance."""
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(y_true, y_pred))


@register("metric", "rmse", greater_is_better=False, needs="label", tasks=REGRESSION)
def rmse(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any] | None,
    positive_class: Any,
) -> float:
    """Root mean squared error, in the target's unit; large errors weigh more."""
    from sklearn.metrics import root_mean_squared_error

    return float(root_mean_squared_error(y_true, y_pred))


@register("metric", "mae", greater_is_better=False, needs="label", tasks=REGRESSION)
def mae(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any] | None,
    positive_class: Any,
) -> float:
    """Mean absolute error, in the target's unit."""
    from sklearn.metrics import mean_absolute_error

    return float(mean_absolute_error(y_true, y_pred))


@register("metric", "r2", greater_is_better=True, needs="label", tasks=REGRESSION)
def r2(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any] | None,
    positive_class: Any,
) -> float:
    """Share of the target's variance explained; 0 = predicting the mean."""
    import numpy as np
    from sklearn.metrics import r2_score

    y_true = np.asarray(y_true, dtype=float)
    if len(y_true) > 1 and np.ptp(y_true) == 0:  # sklearn would divide by a rounding error
        return float(np.sum((y_true - np.asarray(y_pred, dtype=float)) ** 2) == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not well-defined with less than two samples"
        return float(r2_score(y_true, y_pred))


@register("metric", "mape", greater_is_better=False, needs="label", tasks=REGRESSION)
def mape(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any] | None,
    positive_class: Any,
) -> float:
    """Mean absolute percentage error as a fraction; explodes when targets are near 0."""
    from sklearn.metrics import mean_absolute_percentage_error

    return float(mean_absolute_percentage_error(y_true, y_pred))


@register("metric", "median_ae", greater_is_better=False, needs="label", tasks=REGRESSION)
def median_ae(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    *,
    labels: Sequence[Any] | None,
    positive_class: Any,
) -> float:
    """Median absolute error: the typical error, insensitive to outliers."""
    from sklearn.metrics import median_absolute_error

    return float(median_absolute_error(y_true, y_pred))
