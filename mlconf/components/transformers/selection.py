"""Feature selection with repeatable scores and a k that may exceed the features."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.feature_selection import (
    SelectKBest,
    mutual_info_classif,
    mutual_info_regression,
)

from mlconf.components.transformers.base import dense_with_nan
from mlconf.components.transformers.values import filled


def seeded_mutual_info_classif(X: Any, y: Any) -> np.ndarray:
    """mutual_info_classif with a fixed seed: its noise would otherwise change each run."""
    return np.asarray(mutual_info_classif(X, y, random_state=0))


def seeded_mutual_info_regression(X: Any, y: Any) -> np.ndarray:
    """mutual_info_regression with a fixed seed: its noise would otherwise change each run.

    Its 3 nearest neighbours need more than 3 rows; fewer neighbours keep tiny data working.
    """
    neighbours = max(1, min(3, len(y) - 1))
    return np.asarray(mutual_info_regression(X, y, n_neighbors=neighbours, random_state=0))


class KBestSelector(SelectKBest):
    """SelectKBest that keeps every feature, quietly, when k exceeds their number.

    The number of features reaching the selector depends on the data (one-hot columns),
    so a config's k cannot always be known to fit. Missing values are accepted: columns
    are scored with them set to the column median, and passed through unchanged.
    """

    def fit(self, X: Any, y: Any = None) -> KBestSelector:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"k=\d+ is greater than n_features")
            super().fit(filled(X, medians=True), y)
        return self

    def __sklearn_tags__(self) -> Any:
        return dense_with_nan(super().__sklearn_tags__())
