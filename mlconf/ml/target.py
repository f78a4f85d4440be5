"""The target as the model sees it: class order, class codes, the rows it can score, and the
training matrices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def class_order(values: Any, positive_class: Any) -> list[Any]:
    """Sorted classes with the positive one last, so binary column 1 is its probability."""
    classes = sorted({str(v) for v in values})
    if positive_class is not None:
        classes.remove(str(positive_class))
        classes.append(str(positive_class))
    return classes


def encode(y: pd.Series, classes: list[Any]) -> np.ndarray:
    """Class codes in the order of `classes` (vectorised: this runs on every row)."""
    import numpy as np
    import pandas as pd

    codes = pd.Index(classes).get_indexer(pd.Series(y).astype(str))
    if (codes < 0).any():
        raise KeyError(f"labels not among the classes {classes}")
    return codes.astype(np.int64)


@dataclass(frozen=True)
class Target:
    """The target column, the task and (for classification) the training classes.

    `labelled` is the one place that leaves out rows whose class training never saw and
    encodes the rest: evaluation, explanation, fairness, early stopping and the Dask
    engine's part reader all score rows through it.
    """

    column: str
    task: str
    classes: tuple[str, ...] = ()

    @property
    def classification(self) -> bool:
        return self.task == "classification"

    def known(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Which rows hold a class seen in training (None for regression: every row)."""
        if not self.classification:
            return None
        known: np.ndarray = frame[self.column].astype(str).isin(self.classes).to_numpy()
        return known

    def labelled(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """The rows that can be scored, and their target encoded like the training target."""
        known = self.known(frame)
        if known is None:
            return frame, frame[self.column].to_numpy(dtype=float)
        frame = frame[known]
        return frame, encode(frame[self.column], list(self.classes))


@dataclass(frozen=True)
class TrainingData:
    """The training part as the model sees it: feature columns, classes, x and encoded y.

    Made once after the split, so model selection, tuning and training fit on the same
    matrices (the Dask engine makes it from its seeded sample).
    """

    columns: list[str]
    classes: list[str]
    x: pd.DataFrame
    y: np.ndarray
