"""The last step before the model: feature names every model library accepts."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

_UNSAFE_NAME_CHARS = str.maketrans({"[": "(", "]": ")", "<": "lt"})


def safe_names(names: Any) -> list[str]:
    """Feature names every model library accepts (xgboost refuses '[', ']' and '<')."""
    out: list[str] = []
    taken: set[str] = set()
    for name in map(str, names):
        candidate = base = name.translate(_UNSAFE_NAME_CHARS)
        n = 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


class SafeFeatureNames(TransformerMixin, BaseEstimator):
    """The last step before the model: rename columns a model library would reject."""

    def fit(self, X: Any, y: Any = None) -> SafeFeatureNames:
        self.feature_names_in_ = np.asarray(list(map(str, getattr(X, "columns", []))), dtype=object)
        self.names_out_ = safe_names(self.feature_names_in_)
        return self

    def transform(self, X: Any) -> Any:
        if not hasattr(X, "columns"):
            return X
        renamed = X.copy(deep=False)
        renamed.columns = safe_names(X.columns)
        return renamed

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return np.asarray(self.names_out_, dtype=object)

    def set_output(self, *, transform: str | None = None) -> SafeFeatureNames:
        return self
