"""Row-level findings: exact duplicates and values beyond the IQR fences."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlconf.ml.explore.columns import as_floats


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
    x = as_floats(sample.iloc[:, [names.index(n) for n in numeric]])
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
