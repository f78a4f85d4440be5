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


@register("splitter", "predefined")
def predefined(
    frame: pd.DataFrame,
    y: pd.Series,
    *,
    validation_size: float,
    seed: int,
    part_column: str | None = None,
    part_labels: dict[str, list[str]] | None = None,
    shuffle: bool = True,
    stratify: bool = True,
    task: str = "classification",
    **_: Any,
) -> Parts:
    """The parts a column names (an official test set, or rows marked by hand); when it
    names no validation rows, they are drawn from train as the holdout splitter would."""
    import numpy as np

    parts = part_of_each_row(_column(frame, part_column, "part_column"), part_labels)
    found = {name: np.flatnonzero(parts == name) for name in ("train", "validation", "test")}
    if len(found["validation"]) == 0:
        train = found["train"]
        strat = y.to_numpy()[train] if (stratify and shuffle and task == "classification") else None
        kept, validation = _two_way(train, validation_size, seed + 1, shuffle, strat)
        found["train"], found["validation"] = np.sort(kept), np.sort(validation)
    return found


def part_of_each_row(column: pd.Series, labels: dict[str, list[str]] | None) -> np.ndarray:
    """train, validation or test for each value (matched without case or surrounding
    spaces); any other value stops the run, named with the labels allowed."""
    import numpy as np

    from mlconf.config import PART_LABELS

    meaning = {
        str(label).strip().lower(): part
        for part, names in (labels if labels is not None else PART_LABELS).items()
        for label in names
    }
    unknown = sorted(set(meaning.values()) - {"train", "validation", "test"})
    if unknown:
        raise MlconfError(
            f"split.part_labels names parts {unknown}; the parts are train, validation, test",
            where="config key split.part_labels",
        )
    keys = column.astype("string").str.strip().str.lower()
    parts = keys.map(meaning)
    bad = column[parts.isna()]
    if len(bad):
        import pandas as pd

        shown = sorted({"<missing>" if pd.isna(v) else str(v) for v in bad})[:10]
        raise MlconfError(
            f"column '{column.name}' has {len(bad)} values that name no part: "
            f"{', '.join(shown)}. Allowed: {', '.join(meaning)}",
            where="config key split.part_column",
            fix="relabel those rows, or add their values to split.part_labels.<part>",
        )
    return np.asarray(parts.to_numpy(), dtype=object)


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
