"""A small partitioned table for the dask engine's and the cluster's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 2000
# The table's problem: a binary target with a positive class named `yes`.
PROBLEM = [
    "problem.target=target",
    "problem.positive_class=yes",
    "problem.primary_metric=roc_auc",
    "problem.success_criteria={}",
]


def partition_table(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """A binary table with a categorical column, 15 rows without a target and two exact
    duplicates of row 5."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(4)])
    frame["color"] = rng.choice(["red", "green", "blue"], rows)
    signal = x[:, 0] + 0.5 * x[:, 1] + 0.5 * rng.logistic(size=rows)
    frame["target"] = np.where(signal > 0, "yes", "no").astype(object)
    frame.loc[rng.choice(rows, 15, replace=False), "target"] = None
    frame.loc[[7, 8], :] = frame.loc[[5, 5], :].to_numpy()  # exact duplicates of row 5
    return frame


def write_parts(frame: pd.DataFrame, folder: Path, parts: int, kind: str = "parquet") -> Path:
    """The table cut into `parts` files of consecutive rows in a new folder."""
    folder.mkdir(parents=True)
    for i, piece in enumerate(np.array_split(np.arange(len(frame)), parts)):
        chunk = frame.iloc[piece]
        if kind == "parquet":
            chunk.to_parquet(folder / f"part-{i:03d}.parquet", index=False)
        else:
            chunk.to_csv(folder / f"part-{i:03d}.csv", index=False)
    return folder
