"""Splitters: divide row positions into train, validation and test parts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.core.component_registry import register
from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Parts = dict[str, "np.ndarray"]


def _two_way(
    positions: np.ndarray,
    size: float,
    seed: int,
    shuffle: bool,
    stratify: Any,
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    if size <= 0:
        return positions, positions[:0]
    try:
        first, second = train_test_split(
            positions, test_size=size, random_state=seed, shuffle=shuffle, stratify=stratify
        )
    except ValueError as exc:
        raise MlconfError(
            f"cannot split {len(positions)} rows with size {size}: {exc}",
            where="config group split",
            fix="use fewer or larger parts, set split.stratify=false, or supply more rows",
        ) from exc
    return first, second


@register("splitter", "holdout")
def holdout(
    frame: pd.DataFrame,
    y: pd.Series,
    *,
    test_size: float,
    validation_size: float,
    seed: int,
    shuffle: bool = True,
    stratify: bool = True,
    task: str = "classification",
    **_: Any,
) -> Parts:
    """Random train/validation/test parts, stratified by class for classification."""
    import numpy as np

    positions = np.arange(len(frame))
    strat = y.to_numpy() if (stratify and shuffle and task == "classification") else None
    rest, test = _two_way(positions, test_size, seed, shuffle, strat)
    strat_rest = strat[rest] if strat is not None else None
    train, validation = _two_way(rest, validation_size, seed + 1, shuffle, strat_rest)
    return {"train": np.sort(train), "validation": np.sort(validation), "test": np.sort(test)}


@register("splitter", "group")
def group(
    frame: pd.DataFrame,
    y: pd.Series,
    *,
    test_size: float,
    validation_size: float,
    seed: int,
    group_column: str | None = None,
    **_: Any,
) -> Parts:
    """Whole groups (customers, patients) go to one part only."""
    import numpy as np
    from sklearn.model_selection import GroupShuffleSplit

    groups = _column(frame, group_column, "group_column").astype(str).to_numpy()
    positions = np.arange(len(frame))

    def split(pos: np.ndarray, size: float, rs: int) -> tuple[np.ndarray, np.ndarray]:
        if size <= 0:
            return pos, pos[:0]
        if len(set(groups[pos])) < 2:
            raise MlconfError(
                f"column '{group_column}' has fewer than 2 groups to split",
                where="config key split.group_column",
                fix="group on a column with many distinct values",
            )
        gss = GroupShuffleSplit(n_splits=1, test_size=size, random_state=rs)
        a, b = next(gss.split(pos, groups=groups[pos]))
        return pos[a], pos[b]

    rest, test = split(positions, test_size, seed)
    train, validation = split(rest, validation_size, seed + 1)
    return {"train": np.sort(train), "validation": np.sort(validation), "test": np.sort(test)}


@register("splitter", "time")
def time(
    frame: pd.DataFrame,
    y: pd.Series,
    *,
    test_size: float,
    validation_size: float,
    time_column: str | None = None,
    **_: Any,
) -> Parts:
    """Oldest rows train, newer ones validate, the newest test: no future in training."""
    import numpy as np
    import pandas as pd

    stamps = pd.to_datetime(_column(frame, time_column, "time_column"), errors="coerce")
    if stamps.isna().any():
        bad = int(stamps.isna().sum())
        raise MlconfError(
            f"column '{time_column}' has {bad} values that are missing or not dates",
            where="config key split.time_column",
            fix="clean the column, or quarantine such rows with a schema rule (nullable: false)",
        )
    order = np.argsort(stamps.to_numpy(), kind="stable")
    n = len(order)
    n_test = round(n * test_size)
    n_val = round((n - n_test) * validation_size)
    n_train = n - n_test - n_val
    return {
        "train": np.sort(order[:n_train]),
        "validation": np.sort(order[n_train : n_train + n_val]),
        "test": np.sort(order[n_train + n_val :]),
    }


def _column(frame: pd.DataFrame, name: str | None, key: str) -> pd.Series:
    if not name:
        raise MlconfError(
            f"split.{key} is not set",
            where=f"config key split.{key}",
            fix=f"name the column on the command line: split.{key}=<column>",
        )
    if name not in frame.columns:
        from mlconf.core.errors import did_you_mean

        raise MlconfError(
            f"split.{key} '{name}' is not a column.{did_you_mean(str(name), frame.columns)}",
            where=f"config key split.{key}",
            fix=f"set split.{key} to one of the data's columns",
        )
    return frame[name]
