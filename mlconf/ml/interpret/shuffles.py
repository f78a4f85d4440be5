"""Shuffled copies of a frame, as the model sees them: permutation importance's inputs.

Permutation importance scores the model on copies of the rows with one input column
shuffled. Sending every copy through the pipeline's transformers cost more than the
model's predictions (200,000 rows: 3.6 s of 9 s of `explain`): 50 columns times 3
shuffles of 1,000 rows is 150,000 rows to encode. But a fitted transformer usually maps
each row on its own, and each of its features comes from one input column (scaling,
imputing, one-hot levels). For such a column, shuffling it before the transformers gives
exactly the transformed rows with that column's features shuffled the same way.

So first every column is rolled by one row (row i gets row i-1's value) and sent
through the transformers once. A feature that depends on the column and varies over the
rows changes under the roll, so this finds each column's features (a feature constant
over the rows is the same under any shuffle). Each must equal the transformed original
with its rows rolled the same way. Where that holds, the column's shuffles are made by
permuting transformed rows; where it does not (a feature computed from several columns,
or from other rows), every shuffle of that column goes through the transformers, as
before. Either way the model sees the values it would have seen (tests compare them),
and the importances are the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Transform = Callable[["pd.DataFrame"], Any]


def blocks_differ(before: Any, after: Any, blocks: int) -> np.ndarray:
    """Per block of `after` (`blocks` copies of `before`'s rows, stacked): whether any value
    differs from `before` (two missing values are equal). One vectorised comparison per
    feature for every block at once; numbers are compared as numbers, the rest as objects."""
    import numpy as np
    import pandas as pd

    a = pd.Series(before).to_numpy()
    b = pd.Series(after).to_numpy()
    if a.dtype.kind == b.dtype.kind and a.dtype.kind in "iub":  # exact, never missing
        return np.asarray((b.reshape(blocks, len(a)) != a[None, :]).any(axis=1))
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        b = b.reshape(blocks, len(a))
        differ = (b != a[None, :]) & ~(np.isnan(b) & np.isnan(a)[None, :])
        return np.asarray(differ.any(axis=1))
    a = a.astype(object)
    b = b.astype(object).reshape(blocks, len(a))
    both_missing = pd.isna(a)[None, :] & pd.isna(b)
    return np.asarray(((b != a[None, :]) & ~both_missing).any(axis=1))


def feature_groups(
    transform: Transform, frame: pd.DataFrame, base: Any, max_rows: int
) -> dict[str, list[int] | None]:
    """For each column of `frame`, the positions of the features computed from it alone,
    which move with it row for row; None where its shuffles need the transformers.

    `base` is `transform(frame)`; `frame` has a fresh RangeIndex. The columns are probed in
    batches of at most `max_rows` rows.
    """
    import numpy as np

    columns, n = list(frame.columns), len(frame)
    if not _is_table(base) or n < 2:
        return {column: None for column in columns}
    roll = np.roll(np.arange(n), 1)
    changed = np.zeros((len(columns), base.shape[1]), dtype=bool)
    kept = np.ones(len(columns), dtype=bool)  # every change is the roll itself
    per_batch = max(1, max_rows // n)
    for start in range(0, len(columns), per_batch):
        batch = columns[start : start + per_batch]
        moved = transform(_copies(frame, batch, [roll]))
        if type(moved) is not type(base) or moved.shape != (n * len(batch), base.shape[1]):
            return {column: None for column in columns}
        rows = slice(start, start + len(batch))
        for j in range(base.shape[1]):
            before, after = _feature(base, j), _feature(moved, j)
            differs = blocks_differ(before, after, len(batch))
            changed[rows, j] = differs
            kept[rows] &= ~differs | ~blocks_differ(_take(before, roll), after, len(batch))
    return {
        column: [int(j) for j in np.flatnonzero(changed[i])] if kept[i] else None
        for i, column in enumerate(columns)
    }


def shuffled_inputs(
    transform: Transform,
    frame: pd.DataFrame,
    base: Any,
    groups: dict[str, list[int] | None],
    columns: Sequence[str],
    shuffles: Sequence[np.ndarray],
) -> list[Any]:
    """The model's inputs for each of `columns`' every shuffle, column by column.

    A shuffle `s` gives row `i` the column's value of row `s[i]` (as scikit-learn's
    permutation importance); `groups` is `feature_groups(transform, frame, base, ...)`.
    """
    out: list[Any] = []
    for column in columns:
        group = groups[column]
        if group is None:
            moved = transform(_copies(frame, [column], shuffles))
            out.extend(rows_in_blocks(moved, len(shuffles)))
        else:
            out.extend(_permuted(base, group, shuffle) for shuffle in shuffles)
    return out


def stack(parts: Sequence[Any]) -> Any:
    """Row blocks as one frame or array."""
    import numpy as np
    import pandas as pd

    if isinstance(parts[0], pd.DataFrame):
        return pd.concat(parts, ignore_index=True)
    if hasattr(parts[0], "tocsr"):  # a sparse matrix (a transformer's sparse output)
        import scipy.sparse

        return scipy.sparse.vstack(parts, format="csr")
    return np.concatenate([np.asarray(p) for p in parts])


def rows_in_blocks(stacked: Any, blocks: int) -> list[Any]:
    """`stacked` cut into `blocks` equal runs of rows."""
    import pandas as pd

    size = stacked.shape[0] // max(1, blocks)
    if isinstance(stacked, pd.DataFrame):
        return [
            stacked.iloc[k * size : (k + 1) * size].reset_index(drop=True) for k in range(blocks)
        ]
    return [stacked[k * size : (k + 1) * size] for k in range(blocks)]


def _copies(frame: pd.DataFrame, columns: Sequence[str], shuffles: Sequence[Any]) -> Any:
    """Copies of `frame`, one per (column, shuffle), the column shuffled; stacked."""
    import pandas as pd

    copies = []
    for column in columns:
        for shuffle in shuffles:
            copy = frame.copy()
            copy[column] = frame[column].iloc[shuffle].to_numpy()
            copies.append(copy)
    return pd.concat(copies, ignore_index=True)


def _is_table(value: Any) -> bool:
    """A frame or a 2-D array: what rows can be permuted in (not a sparse matrix)."""
    import numpy as np
    import pandas as pd

    return isinstance(value, pd.DataFrame) or (isinstance(value, np.ndarray) and value.ndim == 2)


def _feature(table: Any, j: int) -> Any:
    import pandas as pd

    return table.iloc[:, j] if isinstance(table, pd.DataFrame) else table[:, j]


def _take(feature: Any, rows: np.ndarray) -> Any:
    import pandas as pd

    if isinstance(feature, pd.Series):
        return feature.iloc[rows].reset_index(drop=True)
    return feature[rows]


def _permuted(base: Any, group: list[int], shuffle: np.ndarray) -> Any:
    """`base` with the rows of the features in `group` permuted by `shuffle`."""
    import numpy as np
    import pandas as pd

    if isinstance(base, pd.DataFrame):
        out = base.copy()
        for j in group:  # the column's own array type: its dtype stays, no index alignment
            out.isetitem(j, base.iloc[:, j].array.take(shuffle))
        return out
    out = np.array(base, copy=True)
    out[:, group] = base[np.ix_(shuffle, np.asarray(group, dtype=np.intp))]
    return out
