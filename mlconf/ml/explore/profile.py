"""The data profile: column kinds and statistics, target, associations, warnings.

Everything is vectorised over columns (numpy / pandas); no Python loop runs per row.
Above `max_rows` the profile is computed on a seeded random sample (recorded), and the
associations with the target (mutual information, the slowest part, and correlations)
on at most `association_rows` of that sample, MI for at most `max_mi_columns` features.
Only the missing shares and the duplicate count use every row, as both are cheap.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlconf.ml.explore.associations import (
    associations,
    correlated_pairs,
    correlation_matrix,
    heatmap,
)
from mlconf.ml.explore.columns import column_kind, numeric_stats, top_values
from mlconf.ml.explore.quality import quality_warnings
from mlconf.ml.explore.rows import duplicate_rows, outliers
from mlconf.ml.explore.target import target_summary

if TYPE_CHECKING:
    from mlconf.config import ExploreConfig


def profile(
    frame: pd.DataFrame,
    *,
    target: str | None,
    task: str,
    config: ExploreConfig,
    seed: int = 0,
    exclude: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The profile of `frame` as plain JSON-ready data (NaN becomes None)."""
    return profile_and_heatmap(
        frame, target=target, task=task, config=config, seed=seed, exclude=exclude
    )[0]


def profile_and_heatmap(
    frame: pd.DataFrame,
    *,
    target: str | None,
    task: str,
    config: ExploreConfig,
    seed: int = 0,
    exclude: tuple[str, ...] = (),
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The profile, and the correlation matrix of the numeric features most tied to the target.

    Extreme values (near the float limits) may overflow in sums and products; such a
    statistic becomes None in the profile instead of a NumPy warning.
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _profile(frame, target, task, config, seed, exclude)


def _profile(
    frame: pd.DataFrame,
    target: str | None,
    task: str,
    config: ExploreConfig,
    seed: int,
    exclude: tuple[str, ...],
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    rows = len(frame)
    sample = frame
    if rows > config.max_rows:
        sample = frame.sample(n=config.max_rows, random_state=seed)
    names = [str(c) for c in frame.columns]
    kinds = {name: column_kind(sample.iloc[:, i]) for i, name in enumerate(names)}
    missing = frame.isna().mean().to_numpy() if rows else np.zeros(len(names))
    distinct = sample.nunique(dropna=True).to_numpy()
    columns: dict[str, Any] = {}
    for i, name in enumerate(names):
        columns[name] = {
            "kind": kinds[name],
            "dtype": str(frame.dtypes.iloc[i]),
            "missing_share": float(missing[i]),
            "distinct": int(distinct[i]),
        }
    numeric = [n for n in names if kinds[n] == "numeric"]
    numeric_stats(sample, names, numeric, columns, config)
    for i, name in enumerate(names):
        if kinds[name] != "numeric":
            columns[name]["top_values"] = top_values(sample.iloc[:, i], config.top_values)
    features = [n for n in names if n != target and n not in exclude]
    numeric_features = [n for n in numeric if n in features]
    corr = correlation_matrix(sample, names, numeric_features)
    result: dict[str, Any] = {
        "rows": rows,
        "sampled": len(sample) < rows,
        "sampled_rows": len(sample),
        "columns": columns,
        "target": None,
        "associations": [],
        "correlated_pairs": correlated_pairs(corr, config.correlation_threshold),
        "duplicates": duplicate_rows(frame),
        "outliers": outliers(sample, names, numeric, config.outlier_factor),
        "warnings": [],
    }
    if target is not None and target in names:
        y = sample.iloc[:, names.index(target)]
        result["target"] = target_summary(y, task, config)
        result["associations"] = associations(sample, names, kinds, features, y, task, config, seed)
    result["warnings"] = quality_warnings(result, features, target, config)
    return clean(result), heatmap(corr, result["associations"], config.heatmap_columns)


def clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN and infinities to None, keys to str."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
