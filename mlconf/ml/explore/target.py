"""The target column's summary: class balance for classification, spread for regression."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlconf.ml.explore.columns import as_floats, histogram

if TYPE_CHECKING:
    from mlconf.config import ExploreConfig


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
        numbers = as_floats(values.to_frame())[:, 0] if len(values) else np.array([])
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
