"""Which kernel computes each built-in metric, and a single evaluation through it.

The registered built-in metric functions call `single_value`, and `score` calls the same
kernels on a chunk of bootstrap resamples, so a metric's value and its interval come
from one piece of arithmetic. A user's metric has no kernel: `score` calls it per resample.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlconf.components.metrics import kernels
from mlconf.components.metrics.design import Design, Sums
from mlconf.components.metrics.rows import Rows


@dataclass(frozen=True)
class Fast:
    """A metric's blocks of the design matrix and its value per draw from their sums.

    `of_confusion` is set for metrics of labels: their kernel on confusion margins, which
    also scores decision thresholds.
    """

    blocks: tuple[str, ...]
    compute: Callable[[Sums], np.ndarray]
    of_confusion: Callable[[kernels.Confusion], np.ndarray] | None = None


def _labels(kernel: Callable[[kernels.Confusion], np.ndarray]) -> Fast:
    return Fast(("classes",), lambda s: kernel(s.confusion), kernel)


def _mean_of(block: str, column: int) -> Fast:
    return Fast((block,), lambda s: kernels.mean(s[block][column], s.total))


KERNELS: dict[str, Fast] = {
    "accuracy": _labels(kernels.accuracy),
    "balanced_accuracy": _labels(kernels.balanced_accuracy),
    "precision": _labels(kernels.precision),
    "recall": _labels(kernels.recall),
    "f1": _labels(kernels.f1),
    "mcc": _labels(kernels.mcc),
    "log_loss": _mean_of("log_loss", 0),
    "brier": _mean_of("brier", 0),
    "roc_auc": Fast(("rank",), lambda s: kernels.roc_auc(s.ranked)),
    "pr_auc": Fast(("rank",), lambda s: kernels.pr_auc(s.ranked)),
    "rmse": Fast(("residuals",), lambda s: kernels.rmse(s["residuals"][0], s.total)),
    "mae": _mean_of("residuals", 1),
    "mape": _mean_of("residuals", 2),
    "r2": Fast(
        ("residuals",), lambda s: kernels.r2(s.rows.y, s.counts, s["residuals"][0], s.total)
    ),
    "median_ae": Fast(
        ("abs_order",),
        lambda s: kernels.median_ae(
            s.rows.abs_error[s.rows.abs_error_order], s["abs_order"], s.total
        ),
    ),
}


# The module of the built-in metric functions (this package's __init__).
BUILTIN_METRICS = "mlconf.components.metrics"


def fast_path(factory: Callable[..., Any]) -> Fast | None:
    """The kernel of a registered metric function: only the built-in functions have one."""
    name = getattr(factory, "__name__", "")
    builtin = getattr(factory, "__module__", None) == BUILTIN_METRICS
    return KERNELS.get(name) if builtin else None


def single_value(
    name: str,
    y_true: Any,
    y_pred: Any,
    y_proba: Any,
    *,
    labels: Sequence[Any] | None,
    positive_class: Any,
    task: str,
) -> float:
    """A built-in metric on all rows: one draw of each row through its kernel.

    nan for a metric of probabilities without them, as the metric functions promise.
    """
    fast = KERNELS[name]
    if y_proba is None and fast.blocks[0] in ("log_loss", "brier", "rank"):
        return math.nan
    rows = Rows(
        y_true,
        y_pred,
        y_proba,
        labels=labels,
        positive_class=positive_class,
        task=task,
        binary_by_default=False,
    )
    return float(fast.compute(Design(rows, fast.blocks).all_rows())[0])
