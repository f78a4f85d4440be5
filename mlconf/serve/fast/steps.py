"""Fitted feature steps as array operations: each compiler returns a function from the
branch's input (a float matrix, or an object matrix for text) to its output, or raises
`CannotCompileError` naming what it cannot reproduce exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Step = Callable[[np.ndarray], np.ndarray]


class CannotCompileError(Exception):
    """A step the compiled scorer does not reproduce; the service keeps the full pipeline."""


def kind_of(step: Any) -> str:
    return f"{type(step).__module__}.{type(step).__name__}"


def _missing_is_nan(step: Any) -> None:
    missing = step.missing_values
    if not (isinstance(missing, float) and np.isnan(missing)) and missing is not None:
        raise CannotCompileError(f"{kind_of(step)} with missing_values={missing!r}")
    if getattr(step, "add_indicator", False):
        raise CannotCompileError(f"{kind_of(step)} with add_indicator=True")


def numeric_imputer(step: Any) -> Step:
    """SimpleImputer on numbers: NaN becomes the fitted statistic of its column."""
    _missing_is_nan(step)
    fill = np.asarray(step.statistics_, dtype=np.float64)
    if np.isnan(fill).any():
        raise CannotCompileError("SimpleImputer with a column that was empty in training")

    def run(x: np.ndarray) -> np.ndarray:
        holes = np.isnan(x)
        if holes.any():
            x = np.where(holes, fill, x)
        return x

    return run


def _center_scale(center: np.ndarray | None, scale: np.ndarray | None) -> Step:
    """(x - center) / scale, each part only when fitted: as the scalers compute it."""

    def run(x: np.ndarray) -> np.ndarray:
        if center is not None:
            x = x - center
        if scale is not None:
            x = x / scale
        return x

    return run


def standard_scaler(step: Any) -> Step:
    return _center_scale(
        step.mean_ if step.with_mean else None, step.scale_ if step.with_std else None
    )


def minmax_scaler(step: Any) -> Step:
    scale, low = step.scale_, step.min_
    lo, hi = step.feature_range

    def run(x: np.ndarray) -> np.ndarray:
        x = x * scale + low
        return np.clip(x, lo, hi) if step.clip else x

    return run


def robust_scaler(step: Any) -> Step:
    return _center_scale(
        step.center_ if step.with_centering else None, step.scale_ if step.with_scaling else None
    )


NUMERIC: dict[str, Callable[[Any], Step]] = {
    "sklearn.impute._base.SimpleImputer": numeric_imputer,
    "sklearn.preprocessing._data.StandardScaler": standard_scaler,
    "sklearn.preprocessing._data.MinMaxScaler": minmax_scaler,
    "sklearn.preprocessing._data.RobustScaler": robust_scaler,
}


def _text_categories(step: Any) -> list[list[str]]:
    cats = [list(c) for c in step.categories_]
    if not all(isinstance(v, str) for c in cats for v in c):
        raise CannotCompileError(f"{kind_of(step)} with categories that are not all text")
    return cats


def text_imputer(step: Any) -> Step:
    """SimpleImputer on text: a missing value (None) becomes the fitted constant."""
    _missing_is_nan(step)
    fill = list(step.statistics_)
    if not all(isinstance(v, str) for v in fill):
        raise CannotCompileError("SimpleImputer on text with a fill value that is not text")

    def run(x: np.ndarray) -> np.ndarray:
        out = x.copy()
        for j, value in enumerate(fill):
            column = out[:, j]
            for i in range(len(column)):
                if column[i] is None:
                    column[i] = value
        return out

    return run


def onehot(step: Any) -> Step:
    """OneHotEncoder without dropped or infrequent categories: unknown -> all zeros."""
    if step.drop is not None or getattr(step, "drop_idx_", None) is not None:
        raise CannotCompileError("OneHotEncoder with drop")
    infrequent = getattr(step, "infrequent_categories_", None)
    if infrequent is not None and any(c is not None for c in infrequent):
        raise CannotCompileError("OneHotEncoder with infrequent categories")
    if step.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise CannotCompileError(f"OneHotEncoder with handle_unknown={step.handle_unknown!r}")
    lookups, offsets, width = [], [], 0
    for cats in _text_categories(step):
        lookups.append({v: i for i, v in enumerate(cats)})
        offsets.append(width)
        width += len(cats)

    def run(x: np.ndarray) -> np.ndarray:
        out = np.zeros((x.shape[0], width), dtype=np.float64)
        for j, lookup in enumerate(lookups):
            base = offsets[j]
            for i, value in enumerate(x[:, j]):
                code = lookup.get(value)
                if code is not None:
                    out[i, base + code] = 1.0
                elif value is None:
                    raise CannotCompileError("a missing value reached OneHotEncoder")
        return out

    return run


def ordinal(step: Any) -> Step:
    """OrdinalEncoder: the fitted code of each category; unknown -> unknown_value."""
    if step.handle_unknown != "use_encoded_value":
        raise CannotCompileError(f"OrdinalEncoder with handle_unknown={step.handle_unknown!r}")
    if getattr(step, "_infrequent_enabled", False):
        raise CannotCompileError("OrdinalEncoder with infrequent categories")
    unknown = float(step.unknown_value)
    missing = float(step.encoded_missing_value)
    lookups = [{v: float(i) for i, v in enumerate(c)} for c in _text_categories(step)]

    def run(x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, dtype=np.float64)
        for j, lookup in enumerate(lookups):
            for i, value in enumerate(x[:, j]):
                out[i, j] = missing if value is None else lookup.get(value, unknown)
        return out

    return run


TEXT: dict[str, Callable[[Any], Step]] = {
    "sklearn.impute._base.SimpleImputer": text_imputer,
    "sklearn.preprocessing._encoders.OneHotEncoder": onehot,
    "sklearn.preprocessing._encoders.OrdinalEncoder": ordinal,
}
