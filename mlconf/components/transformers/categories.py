"""Category encoders: pandas categoricals for xgboost, training shares, seeded folds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.multiclass import type_of_target

from mlconf.components.transformers.base import FrameTransformer, frame_like, iter_columns
from mlconf.components.transformers.values import as_text, category_shares, floats


class AsCategory(FrameTransformer):
    """Cast columns to pandas categoricals with the categories seen in training.

    xgboost's native categorical support reads these; values unseen in training become
    missing instead of failing, since serving data always brings new categories.
    """

    _takes_text = True

    def fit(self, X: Any, y: Any = None) -> AsCategory:
        frame = self._start_fit(X)
        self.categories_ = [category_shares(col)[0] for _, _, col in iter_columns(frame)]
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        out = {}
        for i, name, col in iter_columns(frame):
            text = as_text(col)
            known = text.where(text.isin(self.categories_[i]), np.nan)
            out[name] = known.astype(pd.CategoricalDtype(self.categories_[i]))
        return frame_like(frame, out)


class FrequencyEncoder(FrameTransformer):
    """Replace each category by its share of the training rows (unseen: 0.0).

    A compact, target-free encoding for high-cardinality columns; missing values get the
    share of missing rows in training, so missingness stays informative.
    """

    _takes_text = True

    def fit(self, X: Any, y: Any = None) -> FrequencyEncoder:
        frame = self._start_fit(X)
        learned = [category_shares(col) for _, _, col in iter_columns(frame)]
        self.categories_ = [categories for categories, _ in learned]
        self.frequencies_ = [shares for _, shares in learned]
        self.missing_frequencies_ = frame.isna().mean().to_numpy(dtype="float64")
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        out = {}
        for i, name, col in iter_columns(frame):
            text = as_text(col)
            lookup = dict(zip(self.categories_[i], self.frequencies_[i].tolist(), strict=True))
            shares = floats(text.map(lookup))
            missing = text.isna().to_numpy()
            out[name] = np.where(missing, self.missing_frequencies_[i], np.nan_to_num(shares))
        return frame_like(frame, out)


class CrossFitFolds:
    """Seeded K folds for target encoding's cross fitting, stratified for class targets.

    scikit-learn's TargetEncoder shuffles its folds without a seed unless given a splitter;
    this one makes runs repeatable while still choosing the fold type from the target,
    as TargetEncoder does with `target_type="auto"`.
    """

    def __init__(self, n_splits: int = 5, random_state: int | None = 0) -> None:
        self.n_splits = n_splits
        self.random_state = random_state

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        classes = y is not None and type_of_target(y) in ("binary", "multiclass")
        folds = StratifiedKFold if classes else KFold
        splitter = folds(n_splits=self.n_splits, shuffle=True, random_state=self.random_state)
        yield from splitter.split(X, y)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def __repr__(self) -> str:
        return f"CrossFitFolds(n_splits={self.n_splits}, random_state={self.random_state})"
