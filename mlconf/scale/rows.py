"""Per-row decisions that need no other row: seeded uniform draws from a row's key, the split
rule on them, and a bounded sample (bottom-k of the draws), so that the split and the
sample are the same whatever the partitioning and never need the whole table."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PART_NAMES = ("train", "validation", "test")
SPLIT_SALT = 0
SAMPLE_SALT = 1
_GOLDEN = 0x9E3779B97F4A7C15


def unit_draws(keys: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """A uniform number in [0, 1) per key (splitmix64 of key, seed and salt): the same key,
    seed and salt always give the same number."""
    import numpy as np

    mask = (1 << 64) - 1
    offset = np.uint64(((seed * 2 + 1) * _GOLDEN + salt * 0xD1B54A32D192ED03) & mask)
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) + offset
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def split_keys(frame: pd.DataFrame, group_column: str | None) -> np.ndarray:
    """The key a row's part is drawn from: its row number, or the hash of its group's value
    (so that a group never straddles two parts)."""
    import numpy as np
    import pandas as pd

    if group_column is None:
        return frame.index.to_numpy().astype(np.uint64)
    values = frame[group_column].astype(str)
    return pd.util.hash_pandas_object(values, index=False).to_numpy()


def assign_parts(draws: np.ndarray, test_size: float, validation_size: float) -> np.ndarray:
    """0 train, 1 validation, 2 test: test first with `test_size`, then validation takes
    `validation_size` of the rest (the shares of the holdout splitter)."""
    import numpy as np

    validation_edge = test_size + (1.0 - test_size) * validation_size
    return np.where(draws < test_size, 2, np.where(draws < validation_edge, 1, 0)).astype(np.int8)


class BottomK:
    """A seeded uniform sample of at most `k` rows from a stream of partitions: the rows with
    the `k` smallest draws, kept in row order. Memory: `k` rows."""

    def __init__(self, k: int, seed: int) -> None:
        self.k = k
        self.seed = seed
        self._frame: pd.DataFrame | None = None
        self._draws: np.ndarray | None = None

    def add(self, frame: pd.DataFrame) -> None:
        import numpy as np
        import pandas as pd

        if self.k <= 0 or len(frame) == 0:
            return
        draws = unit_draws(frame.index.to_numpy().astype(np.uint64), self.seed, SAMPLE_SALT)
        if self._draws is not None and len(self._draws) >= self.k:
            limit = self._draws.max()
            keep = draws < limit
            frame, draws = frame[keep], draws[keep]
        if self._frame is None or self._draws is None:
            merged, all_draws = frame, draws
        else:
            merged = pd.concat([self._frame, frame])
            all_draws = np.concatenate([self._draws, draws])
        if len(all_draws) > self.k:
            chosen = np.sort(np.argpartition(all_draws, self.k - 1)[: self.k])
            merged, all_draws = merged.iloc[chosen], all_draws[chosen]
        self._frame, self._draws = merged, all_draws

    def frame(self) -> pd.DataFrame | None:
        if self._frame is None:
            return None
        return self._frame.sort_index()
