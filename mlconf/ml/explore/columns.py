"""Each column's kind and statistics: numeric summaries, histograms, frequent values."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlconf.core.dtypes import kind

if TYPE_CHECKING:
    from mlconf.config import ExploreConfig


KINDS = ("numeric", "boolean", "datetime", "categorical", "text")
# a string column is free text when its values are long and have several words
TEXT_MIN_LENGTH = 25
TEXT_MIN_WORDS = 3


# mlconf.core.dtypes' kind -> the profile's kind; text and other dtypes are judged by their values.
_KIND_BY_DTYPE = {
    "boolean": "boolean",
    "datetime": "datetime",
    "integer": "numeric",
    "float": "numeric",
    "number": "numeric",
    "category": "categorical",
}


def column_kind(series: pd.Series) -> str:
    """numeric, boolean, datetime, categorical or text, from the dtype and a look at values."""
    by_dtype = _KIND_BY_DTYPE.get(kind(series.dtype))
    if by_dtype is not None:
        return by_dtype
    values = series.dropna()
    if len(values) == 0:
        return "categorical"
    head = values.iloc[:2000]
    if head.map(type).isin([bool, np.bool_]).all():
        return "boolean"
    text = head.astype(str)
    if text.str.len().mean() >= TEXT_MIN_LENGTH and (
        text.str.count(r"\s+").mean() + 1 >= TEXT_MIN_WORDS
    ):
        return "text"
    return "categorical"


def as_floats(frame: pd.DataFrame) -> np.ndarray:
    """Columns as one float64 matrix, missing (NaN, None, pd.NA) and non-numbers as NaN."""
    if frame.shape[1] == 0:
        return np.empty((len(frame), 0))
    try:  # numeric dtypes convert at once
        return frame.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        numbers = frame.apply(pd.to_numeric, errors="coerce")
        return numbers.to_numpy(dtype="float64", na_value=np.nan)


def numeric_stats(
    sample: pd.DataFrame,
    names: list[str],
    numeric: list[str],
    columns: dict[str, Any],
    config: ExploreConfig,
) -> None:
    """mean, std, min, quartiles, max and a histogram of every numeric column, at once."""
    if not numeric:
        return
    values = as_floats(sample.iloc[:, [names.index(n) for n in numeric]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns give NaN
        quantiles = np.nanquantile(values, [0.0, 0.25, 0.5, 0.75, 1.0], axis=0)
        means = np.nanmean(values, axis=0)
        stds = np.nanstd(values, axis=0, ddof=1) if len(values) > 1 else np.full(len(numeric), 0.0)
    for j, name in enumerate(numeric):
        low, q1, median, q3, high = (float(q) for q in quantiles[:, j])
        columns[name]["stats"] = {
            "mean": float(means[j]),
            "std": float(stds[j]),
            "min": low,
            "q25": q1,
            "median": median,
            "q75": q3,
            "max": high,
        }
        distinct = columns[name]["distinct"]
        columns[name]["histogram"] = histogram(values[:, j], min(config.bins, max(distinct, 1)))


def histogram(values: np.ndarray, bins: int) -> dict[str, list[float]] | None:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        return {"edges": [low, high], "counts": [len(finite)]}
    try:
        counts, edges = np.histogram(finite, bins=max(1, bins))
    except ValueError:  # a range too narrow for that many bins at this magnitude
        return {"edges": [low, high], "counts": [len(finite)]}
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def top_values(series: pd.Series, k: int) -> list[dict[str, Any]]:
    """The k most frequent values (as text) with their counts."""
    counts = series.dropna().astype(str).value_counts()
    return [{"value": str(v), "count": int(c)} for v, c in counts.iloc[:k].items()]
