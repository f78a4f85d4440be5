"""Outlier fences (IQR or z-score): clip or flag in a pipeline, or mask rows to set aside."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlconf.components.transformers.base import (
    FrameTransformer,
    ParameterError,
    check_choice,
)
from mlconf.components.transformers.values import floats
from mlconf.core.dtypes import is_number
from mlconf.core.errors import did_you_mean

OUTLIER_METHODS: tuple[str, ...] = ("iqr", "zscore")
OUTLIER_ACTIONS: tuple[str, ...] = ("clip", "flag")


def _outlier_columns(frame: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    """The columns to check: the named ones (which must exist and be numeric) or all numeric."""
    if columns is None:
        return [str(c) for c in frame.columns if is_number(frame[c].dtype)]
    names = [columns] if isinstance(columns, str) else [str(c) for c in columns]
    for name in names:
        if name not in frame.columns:
            raise ParameterError(
                f"unknown column {name!r} in columns.{did_you_mean(name, map(str, frame.columns))}",
                where="outliers",
                fix="list existing numeric columns, or leave columns unset to check all",
            )
        if not is_number(frame[name].dtype):
            raise ParameterError(
                f"column {name!r} is not numeric (dtype {frame[name].dtype})",
                where="outliers",
                fix="list only numeric columns",
            )
    return names


def _fences(
    frame: pd.DataFrame,
    method: str,
    factor: float,
    threshold: float,
    columns: Sequence[str] | None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The checked columns' values as floats, and each column's lower and upper fence."""
    check_choice("outliers", "method", method, OUTLIER_METHODS)
    names = _outlier_columns(frame, columns)
    values = pd.DataFrame({n: floats(frame[n]) for n in names}, index=frame.index)
    if method == "iqr":
        q1 = values.quantile(0.25).to_numpy(dtype="float64")
        q3 = values.quantile(0.75).to_numpy(dtype="float64")
        spread = q3 - q1
        return values, q1 - factor * spread, q3 + factor * spread
    mean = values.mean().to_numpy(dtype="float64")
    std = values.std().to_numpy(dtype="float64")
    return values, mean - threshold * std, mean + threshold * std


def _outside(values: pd.DataFrame, lower: np.ndarray, upper: np.ndarray) -> pd.DataFrame:
    """True where a value lies beyond its column's fences (missing values never do)."""
    return (values.lt(lower, axis=1) | values.gt(upper, axis=1)).astype(bool)


def outlier_mask(
    frame: pd.DataFrame,
    method: str = "iqr",
    factor: float = 1.5,
    threshold: float = 3.0,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Which values are outliers by fences computed on `frame` itself.

    Returns a bool frame with `frame`'s index and one column per checked (numeric)
    column, for quarantining rows before training: `frame[~mask.any(axis=1)]`.
    """
    values, lower, upper = _fences(frame, method, factor, threshold, columns)
    return _outside(values, lower, upper)


class OutlierClipper(FrameTransformer):
    """Clip numeric columns to fences learned in training, or flag values beyond them.

    Fences are IQR (q1 - factor*iqr .. q3 + factor*iqr) or z-score (mean +- threshold*std).
    Non-numeric columns pass through untouched; `action="flag"` keeps values and adds a
    0/1 column `<col>_outlier` per checked column.
    """

    _takes_text = True

    def __init__(
        self,
        *,
        method: str = "iqr",
        factor: float = 1.5,
        threshold: float = 3.0,
        columns: Sequence[str] | None = None,
        action: str = "clip",
    ) -> None:
        self.method = method
        self.factor = factor
        self.threshold = threshold
        self.columns = columns
        self.action = action

    def _check_settings(self) -> None:
        check_choice("outliers", "method", self.method, OUTLIER_METHODS)
        check_choice("outliers", "action", self.action, OUTLIER_ACTIONS)

    def fit(self, X: Any, y: Any = None) -> OutlierClipper:
        frame = self._start_fit(X)
        values, lower, upper = _fences(
            frame, self.method, self.factor, self.threshold, self.columns
        )
        self.columns_ = [str(c) for c in values.columns]
        self.lower_ = lower
        self.upper_ = upper
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        values = pd.DataFrame({n: floats(frame[n]) for n in self.columns_}, index=frame.index)
        out = frame.copy()
        if self.action == "clip":
            for i, name in enumerate(self.columns_):
                out[name] = values[name].clip(self.lower_[i], self.upper_[i])
            return out
        flags = _outside(values, self.lower_, self.upper_).astype("int64")
        for name in self.columns_:
            out[f"{name}_outlier"] = flags[name]
        return out

    def _names_out(self, names: list[str]) -> list[str]:
        if self.action == "flag":
            return names + [f"{n}_outlier" for n in self.columns_]
        return names
