"""The saved pipeline's last step: class labels for whoever loads the file outside mlconf.

mlconf fits the final estimator on class codes (xgboost accepts nothing else) and decodes
them itself. A model file read by skops elsewhere, or exported, should answer in the
target's own labels: `LabelledClassifier` wraps the fitted code estimator and decodes.
Inside mlconf the model loader unwraps it again (`code_pipeline`), so batch scoring,
serving, monitoring and evaluation keep working on the codes they always used.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.metaestimators import available_if

from mlconf.ml.target import class_order, encode


def _inner_has(method: str) -> Any:
    def check(self: LabelledClassifier) -> bool:
        inner = getattr(self, "estimator_", None) or self.estimator
        return hasattr(inner, method)

    return check


class LabelledClassifier(ClassifierMixin, BaseEstimator):
    """A classifier of class codes that answers in labels.

    `classes_` holds the labels in code order (mlconf's order: sorted, the positive class
    last), so `predict_proba` column i is the probability of `classes_[i]`.
    """

    # What mlconf's model loader looks for to score with the codes (mlconf.store.artifacts).
    decodes_class_codes = True

    def __init__(self, estimator: Any = None, *, classes: Sequence[str] = ()) -> None:
        self.estimator = estimator
        self.classes = classes

    @classmethod
    def of(cls, fitted: Any, classes: Sequence[Any]) -> LabelledClassifier:
        """Wrap an estimator already fitted on the codes of `classes`."""
        labelled = cls(fitted, classes=[str(c) for c in classes])
        labelled.estimator_ = fitted
        labelled.classes_ = np.asarray(labelled.classes, dtype=str)
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(fitted, name):
                setattr(labelled, name, getattr(fitted, name))
        return labelled

    def fit(self, X: Any, y: Any, **fit_params: Any) -> LabelledClassifier:
        """Fit the wrapped estimator on the codes of `y`'s labels."""
        import pandas as pd

        labels = list(self.classes) or class_order(pd.Series(y), None)
        self.estimator_ = clone(self.estimator).fit(X, encode(y, labels), **fit_params)
        self.classes_ = np.asarray([str(c) for c in labels], dtype=str)
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Labels, decoded from the wrapped estimator's codes."""
        codes = np.asarray(self.estimator_.predict(X), dtype=int)
        result: np.ndarray = self.classes_[codes]
        return result

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities, column i for `classes_[i]`."""
        proba: np.ndarray = self.estimator_.predict_proba(X)
        return proba

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        scores: np.ndarray = self.estimator_.decision_function(X)
        return scores


def with_labels(pipeline: Any, classes: Sequence[Any]) -> Any:
    """A shallow copy of a fitted code pipeline whose last step answers in labels; the
    pipeline itself unchanged for regression (no classes) or when it already does."""
    if not classes:
        return pipeline
    steps = getattr(pipeline, "steps", None)
    last = steps[-1][1] if steps else pipeline
    if getattr(last, "decodes_class_codes", False):
        return pipeline
    if not steps:
        return LabelledClassifier.of(pipeline, classes)
    labelled = copy.copy(pipeline)
    labelled.steps = [*steps[:-1], (steps[-1][0], LabelledClassifier.of(last, classes))]
    return labelled
