"""The plumbing every custom transformer shares: settings checks and frame handling.

Subclasses of `FrameTransformer` take and return pandas DataFrames with the input's
index and follow the scikit-learn contract, so `clone`, pipelines and `set_output` work.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from mlconf.core.dtypes import is_number
from mlconf.core.errors import MlconfError, did_you_mean


class ParameterError(MlconfError, ValueError):
    """A bad transformer setting: a ValueError for scikit-learn, a readable error for users."""


def check_choice(owner: str, name: str, value: object, allowed: Sequence[str]) -> str:
    """Return `value` if it is one of `allowed`, else raise naming the options and a guess."""
    if isinstance(value, str) and value in allowed:
        return value
    raise ParameterError(
        f"{name}={value!r} is not one of: {', '.join(allowed)}.{did_you_mean(str(value), allowed)}",
        where=owner,
        fix=f"set {name} to one of: {', '.join(allowed)}",
    )


def dense_with_nan(tags: Any) -> Any:
    """Tags for estimators that take NaN but, having to fill it, not sparse matrices."""
    tags.input_tags.allow_nan = True
    tags.input_tags.sparse = False
    return tags


def frame_like(frame: pd.DataFrame, columns: Mapping[str, Any]) -> pd.DataFrame:
    """A new frame from column values, keeping the input's index (row order and labels)."""
    return pd.DataFrame(dict(columns), index=frame.index)


def iter_columns(frame: pd.DataFrame) -> Iterator[tuple[int, str, pd.Series]]:
    """Position, name and values of each column; by position, so odd names cannot collide."""
    for i, name in enumerate(frame.columns):
        yield i, name, frame.iloc[:, i]


class FrameTransformer(TransformerMixin, BaseEstimator):
    """Shared plumbing: checks the input's columns, works on a DataFrame, keeps the index.

    Subclasses implement `_check_settings` (constructor arguments, no data: factories call
    it too, so a typo fails before any data is read), `fit` and `transform`, and
    `_names_out` when their output columns differ from their input columns.
    """

    _takes_text = False

    def _check_settings(self) -> None:
        """Validate constructor arguments; the default has none to check."""

    def _start_fit(self, X: Any) -> pd.DataFrame:
        self._check_settings()
        if isinstance(X, pd.DataFrame) and len(X) == 0:
            raise ValueError(f"Found array with 0 sample(s) while {type(self).__name__} needs 1.")
        return self._frame(X, reset=True)

    def _start_transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self)
        return self._frame(X, reset=False)

    def _frame(self, X: Any, reset: bool) -> pd.DataFrame:
        """Record or check the columns; a DataFrame is used as is (no copy, dtypes kept)."""
        if not isinstance(X, pd.DataFrame):
            # arrays get scikit-learn's checks: 2-D, dense, not complex, not empty
            X = check_array(X, dtype=None, ensure_all_finite=False)
        validate_data(self, X, reset=reset, skip_check_array=True)
        if isinstance(X, pd.DataFrame):
            return X
        return pd.DataFrame(X, columns=self._names_in(None))

    def _names_in(self, input_features: Sequence[str] | None) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if input_features is None:
            if names is not None:
                return [str(n) for n in names]
            return [f"x{i}" for i in range(self.n_features_in_)]
        given = [str(n) for n in input_features]
        if len(given) != self.n_features_in_ or (names is not None and given != list(names)):
            raise ValueError(
                f"input_features {given} do not match the {self.n_features_in_} "
                f"columns seen in fit {list(names) if names is not None else ''}"
            )
        return given

    def _names_out(self, names: list[str]) -> list[str]:
        return names

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Output column names, as scikit-learn's set_output and ColumnTransformer need."""
        check_is_fitted(self)
        return np.asarray(self._names_out(self._names_in(input_features)), dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = dense_with_nan(super().__sklearn_tags__())
        tags.input_tags.string = self._takes_text
        tags.input_tags.categorical = self._takes_text
        return tags


def require_numbers(owner: str, frame: pd.DataFrame) -> None:
    """Reject text columns where arithmetic is needed, naming them."""
    bad = [
        f"{name} ({col.dtype})" for _, name, col in iter_columns(frame) if not is_number(col.dtype)
    ]
    if bad:
        raise ParameterError(
            f"needs numeric columns, got: {', '.join(bad)}",
            where=owner,
            fix="apply it to numeric columns only (or encode the text columns first)",
        )
