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
    matrix = _matrix(base)
    changed = np.zeros((len(columns), base.shape[1]), dtype=bool)
    kept = np.ones(len(columns), dtype=bool)  # every change is the roll itself
    per_batch = max(1, max_rows // n)
    for start in range(0, len(columns), per_batch):
        batch = columns[start : start + per_batch]
        moved = transform(_copies(frame, batch, [roll]))
        if type(moved) is not type(base) or moved.shape != (n * len(batch), base.shape[1]):
            return {column: None for column in columns}
        rows = slice(start, start + len(batch))
        moved_matrix = _matrix(moved)
        if matrix is not None and moved_matrix is not None:
            changed[rows] = differs = _differing_features(matrix, moved_matrix, len(batch))
            rolled = _differing_features(matrix[roll], moved_matrix, len(batch))
            kept[rows] &= ~(differs & rolled).any(axis=1)
            continue
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
    buffer: dict[str, Any] | None = None,
) -> Any:
    """The model's input for each of `columns`' every shuffle, column by column, stacked.

    A shuffle `s` gives row `i` the column's value of row `s[i]` (as scikit-learn's
    permutation importance); `groups` is `feature_groups(transform, frame, base, ...)`.
    A frame of one numeric dtype (the usual encoded features) is filled in as one array,
    without a frame per shuffle; given a `buffer` (a dict kept between calls), the array's
    memory is reused: fresh memory is paid for page by page.
    """
    matrix = _matrix(base)
    if matrix is not None:
        filled = _filled(transform, frame, matrix, groups, columns, shuffles, buffer)
        if filled is not None:
            return _like(base, filled)
    parts: list[Any] = []
    for column in columns:
        group = groups[column]
        if group is None:
            moved = transform(_copies(frame, [column], shuffles))
            parts.extend(rows_in_blocks(moved, len(shuffles)))
        else:
            parts.extend(_permuted(base, group, shuffle) for shuffle in shuffles)
    return stack(parts)


def _filled(
    transform: Transform,
    frame: pd.DataFrame,
    matrix: np.ndarray,
    groups: dict[str, list[int] | None],
    columns: Sequence[str],
    shuffles: Sequence[np.ndarray],
    buffer: dict[str, Any] | None,
) -> np.ndarray | None:
    """`shuffled_inputs` as one array; None if a transformed block is not of `matrix`'s
    dtype and shape (then the caller stacks frames)."""
    import numpy as np

    n, each = len(matrix), len(matrix) * len(shuffles)
    shape = (each * len(columns), matrix.shape[1])
    held = (buffer or {}).get("array")
    if (
        held is None
        or held.dtype != matrix.dtype
        or held.shape[0] < shape[0]
        or held.shape[1] != shape[1]
    ):
        held = np.empty(shape, dtype=matrix.dtype)
        if buffer is not None:
            buffer["array"] = held
    out = held[: shape[0]]
    for k, column in enumerate(columns):
        group = groups[column]
        rows = out[k * each : (k + 1) * each]
        if group is None:
            moved = _matrix(transform(_copies(frame, [column], shuffles)))
            if moved is None or moved.dtype != matrix.dtype or moved.shape != rows.shape:
                return None
            rows[:] = moved
            continue
        features = np.asarray(group, dtype=np.intp)
        for r, shuffle in enumerate(shuffles):
            block = rows[r * n : (r + 1) * n]
            block[:] = matrix
            block[:, features] = matrix[np.ix_(shuffle, features)]
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


def _matrix(table: Any) -> np.ndarray | None:
    """A 2-D numeric array, or a frame whose columns all have one numeric NumPy dtype, as
    one array; None for anything else (mixed or extension dtypes, sparse matrices)."""
    import numpy as np
    import pandas as pd

    if isinstance(table, np.ndarray):
        return table if table.ndim == 2 and table.dtype.kind in "fiub" else None
    if not isinstance(table, pd.DataFrame) or table.shape[1] == 0:
        return None
    dtypes = set(table.dtypes)
    if len(dtypes) != 1:
        return None
    (dtype,) = dtypes
    if not isinstance(dtype, np.dtype) or dtype.kind not in "fiub":
        return None
    return table.to_numpy()


def _like(base: Any, values: np.ndarray) -> Any:
    """`values` in `base`'s form: a frame with its columns, or the array itself."""
    import pandas as pd

    if isinstance(base, pd.DataFrame):
        return pd.DataFrame(values, columns=base.columns, copy=False)
    return values


def _differing_features(matrix: np.ndarray, moved: np.ndarray, blocks: int) -> np.ndarray:
    """Per block of `moved` and feature: whether any value differs from `matrix`'s (two
    missing values are equal); shape (blocks, features)."""
    import numpy as np

    stacked = moved.reshape(blocks, len(matrix), matrix.shape[1])
    differs = stacked != matrix[None]
    if matrix.dtype.kind == "f" or stacked.dtype.kind == "f":
        differs &= ~(np.isnan(stacked) & np.isnan(matrix)[None])
    return np.asarray(differs.any(axis=1))


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
