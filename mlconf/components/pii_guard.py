"""PiiGuard: the first step of a fitted pipeline, dropping or hashing PII columns.

Training data has been protected by the `privacy` stage already, yet serving sends raw
rows; putting the same protection first in the saved pipeline makes both see the same
values. Hashing is idempotent (a value already of the form `pii:<16 hex>` is kept), so
the already-hashed training data passes through unchanged.

The salt is read from an environment variable each time values are hashed and is never
stored on the object: a saved model holds only the variable's name.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from mlconf.core.errors import MlconfError

PREFIX = "pii:"
HEX_CHARS = 16
HASHED = rf"{PREFIX}[0-9a-f]{{{HEX_CHARS}}}"


def read_salt(env: str, columns: Sequence[str]) -> bytes:
    """The salt from the environment; a clear error naming the variable if it is unset."""
    salt = os.environ.get(env, "")
    if not salt:
        raise MlconfError(
            f"column(s) {', '.join(map(repr, columns))} are hashed for privacy, but the "
            f"environment variable {env} that holds the salt is not set",
            where=f"environment variable {env} (config key privacy.salt_env)",
            fix=f"export {env}=<a long random secret> (the same value at training, scoring "
            "and serving, or hashed values will not match); keep it out of the config",
        )
    return salt.encode("utf-8")


def hash_values(series: pd.Series, salt: bytes) -> pd.Series:
    """HMAC-sha256 of each value's text as `pii:<16 hex>`; missing and hashed values kept.

    Each distinct value is hashed once (factorize), not each row.
    """
    present = series.notna()
    text = series[present].astype(str)
    done = text.str.fullmatch(HASHED).to_numpy(dtype=bool)
    todo = text[~done]
    codes, uniques = pd.factorize(todo)
    digests = np.array(
        [
            PREFIX + hmac.new(salt, str(u).encode("utf-8"), hashlib.sha256).hexdigest()[:HEX_CHARS]
            for u in uniques
        ],
        dtype=object,
    )
    out = pd.Series(np.full(len(series), np.nan, dtype=object), index=series.index)
    values = text.to_numpy(dtype=object).copy()
    values[~done] = digests[codes]
    out[present.to_numpy()] = values
    return out


def needs_hashing(series: pd.Series) -> bool:
    text = series.dropna().astype(str)
    return bool(len(text)) and not bool(text.str.fullmatch(HASHED).all())


def protect(
    frame: pd.DataFrame, drop: Sequence[str], hash_columns: Sequence[str], salt_env: str
) -> pd.DataFrame:
    """`frame` without the `drop` columns and with the `hash_columns` hashed (where present)."""
    present_drop = [c for c in drop if c in frame.columns]
    todo = [c for c in hash_columns if c in frame.columns and needs_hashing(frame[c])]
    if not present_drop and not todo:
        return frame
    out = frame.drop(columns=present_drop) if present_drop else frame.copy(deep=False)
    if todo:
        salt = read_salt(salt_env, todo)
        for column in todo:
            out[column] = hash_values(out[column], salt).astype("str")
    return out


class PiiGuard(TransformerMixin, BaseEstimator):
    """Drop and hash the configured columns of a DataFrame; other input passes through."""

    def __init__(
        self,
        *,
        drop_columns: Sequence[str] = (),
        hash_columns: Sequence[str] = (),
        salt_env: str = "MLCONF_PII_SALT",
    ) -> None:
        self.drop_columns = drop_columns
        self.hash_columns = hash_columns
        self.salt_env = salt_env

    def fit(self, X: Any, y: Any = None) -> PiiGuard:
        names = [str(c) for c in getattr(X, "columns", [])]
        self.n_features_in_ = len(names) if names else int(np.shape(X)[1])
        if names:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.dropped_ = [c for c in self.drop_columns if c in names]
        return self

    def transform(self, X: Any) -> Any:
        if not isinstance(X, pd.DataFrame):
            return X
        return protect(X, list(self.drop_columns), list(self.hash_columns), self.salt_env)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.asarray(input_features if input_features is not None else [], dtype=object)
        return np.asarray([n for n in names if n not in set(self.drop_columns)], dtype=object)

    def set_output(self, *, transform: str | None = None) -> PiiGuard:
        return self
