"""Column pickers for the ColumnTransformer: choose columns by dtype or by name at fit time."""

from __future__ import annotations

from typing import Any

SELECTS = ("numeric", "categorical", "datetime", "columns", "all")


class ColumnPicker:
    """A picklable callable that returns the columns of a frame one column set takes."""

    def __init__(self, select: str = "numeric", columns: Any = (), exclude: Any = ()) -> None:
        self.select = select
        self.columns = list(columns)
        self.exclude = list(exclude)

    def __call__(self, frame: Any) -> list[str]:
        names = [c for c in frame.columns if c not in self.exclude]
        if self.select == "columns":
            return [c for c in self.columns if c in frame.columns]
        if self.select == "all":
            return names
        return [c for c in names if column_kind(frame[c].dtype) == self.select]

    def __repr__(self) -> str:
        return (
            f"ColumnPicker(select={self.select!r}, columns={self.columns}, exclude={self.exclude})"
        )


def column_kind(dtype: Any) -> str:
    """numeric, categorical or datetime: the three families feature sets are built for."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


_UNSAFE = str.maketrans({"[": "(", "]": ")", "<": "lt"})


def safe_names(names: Any) -> list[str]:
    """Feature names every model library accepts (xgboost refuses '[', ']' and '<')."""
    out: list[str] = []
    taken: set[str] = set()
    for name in map(str, names):
        candidate = name.translate(_UNSAFE)
        base, n = candidate, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


class SafeFeatureNames:
    """The last step before the model: rename columns the model library would reject."""

    def __init__(self) -> None:
        pass

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}

    def set_params(self, **params: Any) -> SafeFeatureNames:
        return self

    def fit(self, X: Any, y: Any = None) -> SafeFeatureNames:
        self.feature_names_in_ = list(map(str, getattr(X, "columns", [])))
        self.names_out_ = safe_names(self.feature_names_in_)
        return self

    def transform(self, X: Any) -> Any:
        if not hasattr(X, "columns"):
            return X
        renamed = X.copy(deep=False)
        renamed.columns = safe_names(X.columns)
        return renamed

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        import numpy as np

        return np.asarray(self.names_out_, dtype=object)

    def set_output(self, *, transform: str | None = None) -> SafeFeatureNames:
        return self
