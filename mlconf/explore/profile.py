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

if TYPE_CHECKING:
    from mlconf.config import ExploreConfig

KINDS = ("numeric", "boolean", "datetime", "categorical", "text")
# a string column is free text when its values are long and have several words
TEXT_MIN_LENGTH = 25
TEXT_MIN_WORDS = 3


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
    _numeric_stats(sample, names, numeric, columns, config)
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
    return clean(result), _heatmap(corr, result["associations"], config.heatmap_columns)


# --- columns ----------------------------------------------------------------------------


def column_kind(series: pd.Series) -> str:
    """numeric, boolean, datetime, categorical or text, from the dtype and a look at values."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
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


def _as_floats(frame: pd.DataFrame) -> np.ndarray:
    """Columns as one float64 matrix, missing (NaN, None, pd.NA) and non-numbers as NaN."""
    if frame.shape[1] == 0:
        return np.empty((len(frame), 0))
    try:  # numeric dtypes convert at once
        return frame.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        numbers = frame.apply(pd.to_numeric, errors="coerce")
        return numbers.to_numpy(dtype="float64", na_value=np.nan)


def _numeric_stats(
    sample: pd.DataFrame,
    names: list[str],
    numeric: list[str],
    columns: dict[str, Any],
    config: ExploreConfig,
) -> None:
    """mean, std, min, quartiles, max and a histogram of every numeric column, at once."""
    if not numeric:
        return
    values = _as_floats(sample.iloc[:, [names.index(n) for n in numeric]])
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


# --- target and associations ------------------------------------------------------------


def target_summary(y: pd.Series, task: str, config: ExploreConfig) -> dict[str, Any]:
    values = y.dropna()
    out: dict[str, Any] = {"name": str(y.name), "task": task, "missing": int(y.isna().sum())}
    if task == "classification":
        counts = values.astype(str).value_counts()
        shares = counts / max(len(values), 1)
        out["classes"] = [
            {"value": str(v), "count": int(c), "share": float(shares[v])}
            for v, c in counts.iloc[:50].items()
        ]
        out["n_classes"] = len(counts)
        out["minority_share"] = float(shares.min()) if len(shares) else None
        out["imbalance_ratio"] = float(counts.max() / counts.min()) if len(counts) else None
        out["entropy"] = float(-(shares * np.log(shares)).sum()) if len(shares) else 0.0
    else:
        numbers = _as_floats(values.to_frame())[:, 0] if len(values) else np.array([])
        finite = numbers[np.isfinite(numbers)]
        out["stats"] = (
            {
                "mean": float(finite.mean()),
                "std": float(finite.std(ddof=1)) if len(finite) > 1 else 0.0,
                "min": float(finite.min()),
                "median": float(np.median(finite)),
                "max": float(finite.max()),
                "skew": float(pd.Series(finite).skew()) if len(finite) > 2 else None,
            }
            if len(finite)
            else None
        )
        out["histogram"] = histogram(finite, min(config.bins, max(len(np.unique(finite)), 1)))
    return out


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
    return _as_floats(y.to_frame())[:, 0]


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
        x = _as_floats(sample.iloc[:, [names.index(f) for f in numeric]])
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
        target = _as_floats(y.to_frame())[:, 0]
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
            values = _as_floats(column.to_frame())[:, 0]
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
    x = pd.DataFrame(_as_floats(sample.iloc[:, [names.index(n) for n in numeric]]))
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


def _heatmap(
    corr: pd.DataFrame | None, associations: list[dict[str, Any]], k: int
) -> pd.DataFrame | None:
    """The k numeric features with the highest mutual information (else the first k)."""
    if corr is None:
        return None
    order = [a["feature"] for a in associations if a["feature"] in corr.columns]
    order += [c for c in corr.columns if c not in order]
    keep = order[:k]
    return corr.loc[keep, keep]


# --- rows ----------------------------------------------------------------------------------


def duplicate_rows(frame: pd.DataFrame) -> dict[str, Any]:
    """Rows that repeat an earlier row exactly (by a 64-bit hash of each row)."""
    if frame.shape[1] == 0 or len(frame) == 0:
        return {"rows": 0, "share": 0.0}
    try:
        hashes = pd.util.hash_pandas_object(frame, index=False)
        count = int(hashes.duplicated().sum())
    except TypeError:  # unhashable cells (lists): compare their text
        count = int(frame.astype(str).duplicated().sum())
    return {"rows": count, "share": count / len(frame)}


def outliers(
    sample: pd.DataFrame, names: list[str], numeric: list[str], factor: float
) -> dict[str, Any]:
    """Values beyond quartiles -/+ factor x IQR: per column, and rows with any."""
    out: dict[str, Any] = {"method": f"iqr x {factor}", "rows": 0, "columns": {}}
    if not numeric or len(sample) == 0:
        return out
    x = _as_floats(sample.iloc[:, [names.index(n) for n in numeric]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q1, q3 = np.nanquantile(x, [0.25, 0.75], axis=0)
    iqr = q3 - q1
    with np.errstate(invalid="ignore"):
        beyond = (x < q1 - factor * iqr) | (x > q3 + factor * iqr)
    per_column = beyond.sum(axis=0)
    out["rows"] = int(beyond.any(axis=1).sum())
    out["columns"] = {n: int(c) for n, c in zip(numeric, per_column, strict=True) if c}
    return out


# --- warnings ----------------------------------------------------------------------------


def quality_warnings(
    result: dict[str, Any], features: list[str], target: str | None, config: ExploreConfig
) -> list[dict[str, Any]]:
    """Constant, empty, sparse and id-like columns, leakage suspects, imbalance, duplicates."""
    found: list[dict[str, Any]] = []

    def add(column: str | None, kind: str, message: str) -> None:
        found.append({"column": column, "kind": kind, "message": message})

    columns = result["columns"]
    for name in features:
        col = columns[name]
        share = col["missing_share"]
        if share >= 1.0:
            add(name, "all_missing", f"column '{name}' has no values")
            continue
        if col["distinct"] <= 1:
            add(name, "constant", f"column '{name}' has a single value: it cannot help a model")
        if share > config.high_missing_share:
            add(name, "high_missing", f"column '{name}' is {share:.0%} missing")
        present = result["sampled_rows"] * (1.0 - share)
        if (
            col["kind"] in ("categorical", "text")
            and present >= 20
            and col["distinct"] >= config.id_like_share * present
        ):
            add(
                name,
                "id_like",
                f"column '{name}' has a different value in almost every row "
                f"({col['distinct']:,} distinct): an identifier, or free text, not a feature",
            )
    entropy = (result["target"] or {}).get("entropy")
    for a in result["associations"]:
        r, mi = a.get("pearson"), a.get("mutual_info")
        col = columns[a["feature"]]
        present = result["sampled_rows"] * (1.0 - col["missing_share"])
        # a plug-in MI estimate of a feature with nearly one value per row is meaningless
        many_values = col["distinct"] > 0.5 * present
        reason = None
        if r is not None and abs(r) > config.leakage_correlation:
            reason = f"|correlation| with the target is {abs(r):.3f}"
        elif (
            mi is not None
            and entropy
            and not many_values
            and mi / entropy > config.leakage_mi_share
        ):
            reason = f"it carries {mi / entropy:.0%} of the target's information"
        if reason:
            add(
                a["feature"],
                "leakage",
                f"column '{a['feature']}' almost determines the target '{target}' ({reason}): "
                "check it is known before the outcome, or drop it",
            )
    minority = (result["target"] or {}).get("minority_share")
    if minority is not None and minority < 0.05:
        add(target, "imbalance", f"the rarest class of '{target}' is {minority:.1%} of rows")
    dupes = result["duplicates"]
    if dupes["rows"]:
        add(None, "duplicates", f"{dupes['rows']:,} rows repeat an earlier row exactly")
    return found


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
