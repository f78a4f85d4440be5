"""Built-in metrics. Each is `fn(y_true, y_pred, y_proba, *, labels, positive_class) -> float`.

Users register their own metrics with the same signature. The built-ins compute through
the kernels of mlconf.components.metrics.kernels (tested against sklearn.metrics), the same code
that scores bootstrap resamples, thresholds and fairness groups, so a value never
depends on which of them asked. A metric that is undefined on a sample (e.g. roc_auc
with one class present) returns nan rather than raising, so that one unlucky bootstrap
resample does not stop an evaluation. Importing this module must stay cheap: numpy is
imported inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlconf.core.component_registry import register

if TYPE_CHECKING:
    import numpy as np

CLASSIFICATION = ("classification",)
REGRESSION = ("regression",)


def _kernel(
    name: str,
    task: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    labels: Sequence[Any] | None,
    positive_class: Any,
) -> float:
    """The metric on all rows through its kernel: binary metrics score the positive class,
    multiclass ones average over classes (macro; one-vs-rest for rankings)."""
    from mlconf.components.metrics.fast import single_value

    return single_value(
        name, y_true, y_pred, y_proba, labels=labels, positive_class=positive_class, task=task
    )


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
    return _kernel("accuracy", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel(
        "balanced_accuracy", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class
    )


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
    return _kernel("f1", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("precision", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("recall", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("roc_auc", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("pr_auc", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("log_loss", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("brier", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("mcc", CLASSIFICATION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("rmse", REGRESSION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("mae", REGRESSION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("r2", REGRESSION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("mape", REGRESSION[0], y_true, y_pred, y_proba, labels, positive_class)


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
    return _kernel("median_ae", REGRESSION[0], y_true, y_pred, y_proba, labels, positive_class)
