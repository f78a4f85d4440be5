"""The scored rows, checked once and reduced to integer class codes or float residuals.

Every metric kernel reads these codes, so labels are hashed once per evaluation rather
than once per metric and resample.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from mlconf.components.metrics.labels import is_binary, positive_label
from mlconf.core import component_registry as registry
from mlconf.core.errors import MlconfError


class Rows:
    """y_true, y_pred and y_proba as validated arrays, with class codes or residuals.

    `binary_by_default`: with `labels` unset, whether two classes seen make a binary
    problem (as `score` has it) or are macro-averaged (as a metric function called
    without labels has always done).
    """

    def __init__(
        self,
        y_true: Any,
        y_pred: Any,
        y_proba: Any,
        *,
        labels: Sequence[Any] | None,
        positive_class: Any,
        task: str,
        binary_by_default: bool = True,
    ) -> None:
        self.y_true = np.asarray(y_true)
        self.y_pred = np.asarray(y_pred)
        self.n = len(self.y_true)
        if self.y_true.ndim != 1 or self.y_pred.shape != self.y_true.shape:
            raise MlconfError(
                f"y_true and y_pred must be 1-D and of equal length, got shapes "
                f"{self.y_true.shape} and {self.y_pred.shape}"
            )
        if self.n == 0:
            raise MlconfError("there are no rows to score", fix="check the test split")
        self.proba = None if y_proba is None else np.asarray(y_proba, dtype=np.float64)
        self.labels: list[Any] | None = None
        self.positive_class: Any = None
        self.positive = -1
        if task == "classification":
            self._encode_classes(labels, positive_class, labels is not None or binary_by_default)
        else:
            self._check_regression()

    def _encode_classes(
        self, labels: Sequence[Any] | None, positive_class: Any, may_be_binary: bool
    ) -> None:
        import pandas as pd

        if labels is None:
            labels = np.unique(np.concatenate([self.y_true, self.y_pred])).tolist()
        index = pd.Index(list(labels))
        if not index.is_unique:
            raise MlconfError(f"the class labels {list(labels)} contain duplicates")
        self.labels = index.tolist()
        self.n_classes = len(index)
        self.true = self._codes(index, self.y_true, "y_true")
        self.pred = self._codes(index, self.y_pred, "y_pred")
        if may_be_binary and is_binary(self.labels):
            wanted = positive_label(self.labels, positive_class)
            self.positive = int(index.get_indexer([wanted])[0])
            if self.positive < 0:
                raise MlconfError(
                    f"positive_class {wanted!r} is not one of the classes {self.labels}",
                    where="problem.positive_class",
                    fix="set it to one of the classes, or leave it unset for the last one",
                )
            self.positive_class = self.labels[self.positive]
        if self.proba is not None:
            if self.proba.shape != (self.n, self.n_classes):
                raise MlconfError(
                    f"y_proba has shape {self.proba.shape}, expected ({self.n}, {self.n_classes}): "
                    f"one column per class, in the order of labels {self.labels}"
                )
            if not np.isfinite(self.proba).all():
                raise MlconfError("y_proba contains NaN or infinite values")

    def _codes(self, index: Any, values: np.ndarray, what: str) -> np.ndarray:
        """Class codes of `values`; hashing the few distinct values first keeps this fast."""
        import pandas as pd

        codes, distinct = pd.factorize(values)
        lookup = np.asarray(index.get_indexer(distinct), dtype=np.intp)
        if (codes < 0).any():
            raise MlconfError(f"{what} contains missing values", fix="drop or fill those rows")
        if (lookup < 0).any():
            raise MlconfError(
                f"{what} contains the label {distinct[lookup.argmin()]!r}, "
                f"which is not one of the classes {self.labels}",
                fix="pass every class in labels (e.g. the model's classes_)",
            )
        return lookup[codes]

    def _check_regression(self) -> None:
        try:
            self.y = self.y_true.astype(np.float64)
            self.y_hat = self.y_pred.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise MlconfError(f"regression targets and predictions must be numbers: {exc}") from exc
        if not (np.isfinite(self.y).all() and np.isfinite(self.y_hat).all()):
            raise MlconfError("y_true or y_pred contains NaN or infinite values")

    @property
    def ranked_classes(self) -> list[int]:
        """Classes whose scores are ranked: the positive one if binary, else each (one-vs-rest)."""
        return [self.positive] if self.positive >= 0 else list(range(self.n_classes))

    @cached_property
    def abs_error(self) -> np.ndarray:
        return np.abs(self.y - self.y_hat)

    @cached_property
    def abs_error_order(self) -> np.ndarray:
        return np.argsort(self.abs_error, kind="stable")

    def call(self, component: registry.Component, idx: np.ndarray | None = None) -> float:
        """Call a metric's registered function on all rows, or on the rows `idx`."""
        y_true, y_pred, proba = self.y_true, self.y_pred, self.proba
        if idx is not None:
            y_true, y_pred = y_true[idx], y_pred[idx]
            proba = None if proba is None else proba[idx]
        return float(
            component.factory(
                y_true, y_pred, proba, labels=self.labels, positive_class=self.positive_class
            )
        )
