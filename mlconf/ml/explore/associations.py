"""How each feature relates to the target and to the others: MI, Pearson, Spearman.

All are estimated on a bounded, seeded sample, so the profile stays fast on big tables.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlconf.ml.explore.columns import as_floats

if TYPE_CHECKING:
    from mlconf.config import ExploreConfig


def _codes(series: pd.Series) -> np.ndarray:
    """Integer codes of a non-numeric column; missing is its own code."""
    codes, _ = pd.factorize(series.astype(object).where(series.notna(), None), sort=False)
    return codes.astype("int64")


def _target_numbers(y: pd.Series, task: str) -> np.ndarray | None:
    """The target as numbers for correlation: floats, or 0/1 for two classes; else None."""
    if task == "classification":
        text = y.astype(object).where(y.notna(), None)
        classes = sorted(text.dropna().astype(str).unique())
        if len(classes) != 2:
            return None
        return np.where(text.isna(), np.nan, (text.astype(str) == classes[1]).astype(float))
    return as_floats(y.to_frame())[:, 0]


def associations(
    sample: pd.DataFrame,
    names: list[str],
    kinds: dict[str, str],
    features: list[str],
    y: pd.Series,
    task: str,
    config: ExploreConfig,
    seed: int,
) -> list[dict[str, Any]]:
    """Mutual information (sklearn) and Pearson/Spearman r of each feature with the target.

    All three are estimated on at most `association_rows` rows of the sample with a target.
    """
    known = y.notna().to_numpy()
    sample, y = sample[known], y[known]
    if len(sample) > config.association_rows:
        rows = np.random.default_rng(seed).choice(len(sample), config.association_rows, False)
        sample, y = sample.iloc[np.sort(rows)], y.iloc[np.sort(rows)]
    out: dict[str, dict[str, Any]] = {
        f: {"feature": f, "mutual_info": None, "pearson": None, "spearman": None} for f in features
    }
    numeric = [f for f in features if kinds[f] in ("numeric", "boolean")]
    y_num = _target_numbers(y, task)
    if numeric and y_num is not None:
        x = as_floats(sample.iloc[:, [names.index(f) for f in numeric]])
        pearson = _corr_with(x, y_num)
        ranks = pd.DataFrame(x).rank().to_numpy()
        spearman = _corr_with(ranks, pd.Series(y_num).rank().to_numpy())
        for j, f in enumerate(numeric):
            out[f]["pearson"] = pearson[j]
            out[f]["spearman"] = spearman[j]
    mi = mutual_information(sample, names, kinds, features, y, task, config, seed)
    for f, value in mi.items():
        out[f]["mutual_info"] = value
    ranked = sorted(
        out.values(),
        key=lambda a: -(a["mutual_info"] if a["mutual_info"] is not None else -1.0),
    )
    for a in ranked:
        a["correlation"] = a["pearson"]
    return ranked


def _corr_with(x: np.ndarray, y: np.ndarray) -> list[float | None]:
    """Pearson r of every column of x with y, on rows where both are present."""
    both = ~np.isnan(x) & ~np.isnan(y)[:, None]
    n = both.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        xm = np.where(both, x, 0.0)
        ym = np.where(both, y[:, None], 0.0)
        mx = xm.sum(axis=0) / n
        my = ym.sum(axis=0) / n
        dx = np.where(both, x - mx, 0.0)
        dy = np.where(both, y[:, None] - my, 0.0)
        r = (dx * dy).sum(axis=0) / np.sqrt((dx * dx).sum(axis=0) * (dy * dy).sum(axis=0))
    return [float(v) if np.isfinite(v) else None for v in r]


def mutual_information(
    sample: pd.DataFrame,
    names: list[str],
    kinds: dict[str, str],
    features: list[str],
    y: pd.Series,
    task: str,
    config: ExploreConfig,
    seed: int,
) -> dict[str, float | None]:
    """sklearn's MI estimate of each (non-constant) feature with the target, in nats."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    if task == "classification":
        target = _codes(y.astype(str))
        if len(target) < 4 or np.bincount(target).max() < 2 or len(np.unique(target)) < 2:
            return {}  # sklearn needs a class seen twice and two classes
        estimate: Any = mutual_info_classif
    else:
        target = as_floats(y.to_frame())[:, 0]
        finite = np.isfinite(target)
        with np.errstate(over="ignore", invalid="ignore"):
            flat = finite.sum() < 4 or not np.nanstd(target) > 0
        if flat:
            return {}
        sample, target = sample[finite], target[finite]
        estimate = mutual_info_regression
    usable = [f for f in features if sample.iloc[:, names.index(f)].nunique(dropna=False) > 1]
    blocks, discrete, kept = [], [], []
    for f in usable[: config.max_mi_columns]:
        column = sample.iloc[:, names.index(f)]
        if kinds[f] == "numeric":
            values = as_floats(column.to_frame())[:, 0]
            fill = np.nanmedian(values) if np.isfinite(values).any() else 0.0
            blocks.append(np.where(np.isfinite(values), values, fill))
            discrete.append(False)
        else:
            codes = _codes(column)
            if np.bincount(codes - codes.min()).max() < 2:
                continue  # every value once: nothing to estimate (and sklearn would fail)
            blocks.append(codes.astype("float64"))
            discrete.append(True)
        kept.append(f)
    if not kept:
        return {}
    try:
        mi = estimate(
            np.column_stack(blocks),
            target,
            discrete_features=np.array(discrete),
            n_neighbors=min(3, len(sample) - 1),
            random_state=seed,
        )
    except ValueError:  # a degenerate sample sklearn cannot estimate on: no values, not an error
        return {}
    return {f: float(v) for f, v in zip(kept, mi, strict=True)}


def correlation_matrix(
    sample: pd.DataFrame, names: list[str], numeric: list[str]
) -> pd.DataFrame | None:
    """Pearson r between numeric columns (pairwise complete rows); None for fewer than two."""
    if len(numeric) < 2:
        return None
    x = pd.DataFrame(as_floats(sample.iloc[:, [names.index(n) for n in numeric]]))
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        corr = x.corr()
    corr.index = corr.columns = pd.Index(numeric, dtype=object)
    return corr


def correlated_pairs(corr: pd.DataFrame | None, threshold: float) -> list[dict[str, Any]]:
    """Pairs of numeric features with |Pearson r| above the threshold, strongest first."""
    if corr is None:
        return []
    numeric = list(corr.columns)
    r = corr.to_numpy(dtype="float64")
    upper = np.triu(np.abs(np.nan_to_num(r, nan=0.0)) > threshold, k=1)
    pairs = [
        {"a": numeric[i], "b": numeric[j], "correlation": float(r[i, j])}
        for i, j in zip(*np.nonzero(upper), strict=True)
    ]
    return sorted(pairs, key=lambda p: -abs(p["correlation"]))


def heatmap(
    corr: pd.DataFrame | None, associations: list[dict[str, Any]], k: int
) -> pd.DataFrame | None:
    """The k numeric features with the highest mutual information (else the first k)."""
    if corr is None:
        return None
    order = [a["feature"] for a in associations if a["feature"] in corr.columns]
    order += [c for c in corr.columns if c not in order]
    keep = order[:k]
    return corr.loc[keep, keep]
