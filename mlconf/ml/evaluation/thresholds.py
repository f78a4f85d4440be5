"""A label metric at each candidate decision threshold of a binary classifier.

Sorting the scores once gives the confusion counts at every threshold, and the metric
kernels score them all at once, so a thousand candidates cost about one evaluation. A
metric without a kernel (a user's) is called on the labels at each of fewer candidates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlconf.components.metrics.fast import fast_path
from mlconf.components.metrics.kernels import Confusion
from mlconf.core import component_registry as registry

# Metrics without a kernel are called once per candidate: fewer of them.
MAX_SLOW_CANDIDATES = 200


def confusion_counts(
    y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """tp, fp, fn, tn at each threshold, a row being positive when its score >= threshold."""
    positive = y_true == 1
    pos_scores, neg_scores = np.sort(scores[positive]), np.sort(scores[~positive])
    tp = len(pos_scores) - np.searchsorted(pos_scores, thresholds, side="left")
    fp = len(neg_scores) - np.searchsorted(neg_scores, thresholds, side="left")
    return tp, fp, len(pos_scores) - tp, len(neg_scores) - fp


def score_thresholds(
    component: registry.Component, y_true: Any, scores: Any, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds scored, the metric at each) for class codes `y_true` (1 = positive) and
    the positive class's `scores`; without a kernel, at most MAX_SLOW_CANDIDATES of them."""
    y, s = np.asarray(y_true), np.asarray(scores, dtype=float)
    fast = fast_path(component.factory)
    if fast is not None and fast.of_confusion is not None:
        confusion = Confusion.of_outcomes(*confusion_counts(y, s, thresholds))
        return thresholds, fast.of_confusion(confusion)
    if len(thresholds) > MAX_SLOW_CANDIDATES:
        thresholds = np.unique(np.quantile(thresholds, np.linspace(0, 1, MAX_SLOW_CANDIDATES)))
    return thresholds, np.array([_call(component, y, (s >= t).astype(int)) for t in thresholds])


def _call(component: registry.Component, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    try:
        return float(component.factory(y_true, y_pred, None, labels=[0, 1], positive_class=1))
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return math.nan
