"""Column values as the transformers need them: floats, category text, filled arrays.

One conversion per need, shared by every transformer, so a category or a missing value
reads the same at fit and at serving.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array


def floats(series: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for anything missing (incl. pd.NA) or not a number."""
    numbers = pd.to_numeric(series, errors="coerce")
    return np.asarray(pd.Series(numbers).to_numpy(dtype="float64", na_value=np.nan))


def _value_text(value: object) -> str:
    """One category value as text; 3.0 becomes '3' so ints that gained a NaN still match."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_text(series: pd.Series) -> pd.Series:
    """Category values as python str (missing stays NaN), identical at fit and at serving."""
    text = series.astype(object)
    if not isinstance(series.dtype, pd.StringDtype):  # str columns need no per-value work
        text = text.map(_value_text, na_action="ignore")
    return text.where(series.notna(), np.nan)


def category_shares(series: pd.Series) -> tuple[list[str], np.ndarray]:
    """Sorted categories seen in `series` and each one's share of all rows (missing included)."""
    counts = as_text(series).value_counts(dropna=True)
    categories = sorted(str(c) for c in counts.index)
    shares = np.array([counts[c] for c in categories], dtype="float64") / max(len(series), 1)
    return categories, shares


def filled(X: Any, medians: bool) -> Any:
    """X with missing values filled (column medians, or 0), for estimators that refuse NaN.

    Callers either put NaN back afterwards or only use X to score columns.
    """
    if isinstance(X, pd.DataFrame):
        fill = X.median(numeric_only=True) if medians else 0.0
        return X.fillna(fill).fillna(0.0)
    # arrays get scikit-learn's checks: 2-D, dense, real numbers
    values = check_array(X, dtype="float64", ensure_all_finite="allow-nan", copy=True)
    missing = np.isnan(values)
    if medians and missing.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
            values = np.where(missing, np.nanmedian(values, axis=0), values)
    return np.where(np.isnan(values), 0.0, values)
