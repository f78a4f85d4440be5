"""Reshaping numbers: signed log, bins that keep missing values, NaN-aware polynomials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import KBinsDiscretizer, PolynomialFeatures
from sklearn.utils.validation import check_is_fitted

from mlconf.components.transformers.base import (
    FrameTransformer,
    check_choice,
    dense_with_nan,
    frame_like,
    iter_columns,
    require_numbers,
)
from mlconf.components.transformers.values import filled, floats

BIN_STRATEGIES: tuple[str, ...] = ("quantile", "uniform", "kmeans")
BIN_ENCODINGS: tuple[str, ...] = ("ordinal", "onehot")


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _signed_expm1(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.expm1(np.abs(values))


class SignedLog1p(FrameTransformer):
    """sign(x) * log1p(|x|): tames skewed values, defined for zero and negatives too."""

    def fit(self, X: Any, y: Any = None) -> SignedLog1p:
        require_numbers("log", self._start_fit(X))
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        return self._apply(self._start_transform(X), _signed_log1p)

    def inverse_transform(self, X: Any) -> pd.DataFrame:
        """Undo the transform (e.g. for a log-transformed target)."""
        return self._apply(self._start_transform(X), _signed_expm1)

    def _apply(self, frame: pd.DataFrame, func: Callable[[np.ndarray], np.ndarray]) -> pd.DataFrame:
        with np.errstate(all="ignore"):
            return frame_like(
                frame, {name: func(floats(col)) for _, name, col in iter_columns(frame)}
            )


class Bins(FrameTransformer):
    """Discretize each numeric column into bins learned on its non-missing training values.

    Unlike KBinsDiscretizer alone, missing values stay missing instead of failing the fit,
    so binning does not require an imputer in front. `encode="onehot"` gives 0/1 columns
    `<col>_bin<k>` (all NaN for a missing value).
    """

    def __init__(
        self, *, n_bins: int = 5, strategy: str = "quantile", encode: str = "ordinal"
    ) -> None:
        self.n_bins = n_bins
        self.strategy = strategy
        self.encode = encode

    def _check_settings(self) -> None:
        check_choice("bins", "strategy", self.strategy, BIN_STRATEGIES)
        check_choice("bins", "encode", self.encode, BIN_ENCODINGS)

    def fit(self, X: Any, y: Any = None) -> Bins:
        frame = self._start_fit(X)
        require_numbers("bins", frame)
        self.binners_: list[KBinsDiscretizer | None] = []
        for _, _, col in iter_columns(frame):
            values = floats(col)
            known = values[~np.isnan(values)]
            binner = None
            if len(known):
                binner = KBinsDiscretizer(
                    n_bins=self.n_bins, strategy=self.strategy, encode="ordinal", random_state=0
                ).fit(known.reshape(-1, 1))
            self.binners_.append(binner)
        self.n_bins_ = [0 if b is None else int(b.n_bins_[0]) for b in self.binners_]
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        out: dict[str, np.ndarray] = {}
        for i, name, col in iter_columns(frame):
            values = floats(col)
            codes = np.full(len(values), np.nan)
            known = ~np.isnan(values)
            binner = self.binners_[i]
            if binner is not None and known.any():
                codes[known] = binner.transform(values[known].reshape(-1, 1)).ravel()
            if self.encode == "ordinal":
                out[name] = codes
                continue
            for k in range(self.n_bins_[i]):
                out[f"{name}_bin{k}"] = np.where(np.isnan(codes), np.nan, codes == k)
        return frame_like(frame, out)

    def _names_out(self, names: list[str]) -> list[str]:
        if self.encode == "ordinal":
            return names
        return [
            f"{n}_bin{k}" for n, bins in zip(names, self.n_bins_, strict=True) for k in range(bins)
        ]


class NanPolynomialFeatures(PolynomialFeatures):
    """PolynomialFeatures where a term is missing when a column in it is, instead of failing.

    Interactions run after the column sets, where calendar parts and unencoded numbers
    may still hold NaN; models that handle NaN (xgboost) then see it unchanged.
    """

    def fit(self, X: Any, y: Any = None) -> NanPolynomialFeatures:
        super().fit(filled(X, medians=False), y)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        terms = np.array(super().transform(filled(X, medians=False)), dtype="float64")
        missing = np.asarray(pd.isna(X), dtype="int64")
        if missing.any():
            uses = (np.asarray(self.powers_) > 0).astype("int64")  # (terms, inputs)
            terms[(missing @ uses.T) > 0] = np.nan
        return terms

    def __sklearn_tags__(self) -> Any:
        return dense_with_nan(super().__sklearn_tags__())
