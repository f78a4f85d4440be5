"""Global views of a fitted pipeline on original columns: permutation importance, partial
dependence and ICE curves (scikit-learn's inspection module on the whole pipeline)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def metric_scorer(
    metric: str, task: str, labels: list[Any]
) -> tuple[Callable[[Any, Any, Any], float], bool]:
    """(score(y_true, y_pred, y_proba) -> value, negated if lower is better; needs proba?)."""
    from mlconf.core import component_registry as registry

    component = registry.get("metric", metric)
    sign = 1.0 if component.meta.get("greater_is_better", True) else -1.0
    needs_proba = task == "classification" and component.meta.get("needs") == "proba"
    positive = labels[-1] if labels else None

    def scorer(y_true: Any, y_pred: Any, y_proba: Any) -> float:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(
                component.factory(y_true, y_pred, y_proba, labels=labels, positive_class=positive)
            )
        return sign * value if math.isfinite(value) else math.nan

    return scorer, needs_proba


MAX_VALUES = 4_000_000


def permutation_importance(
    pipeline: Any,
    x: pd.DataFrame,
    y: Any,
    *,
    metric: str,
    task: str,
    labels: list[Any],
    n_repeats: int,
    seed: int,
    max_batch: int = 200_000,
) -> list[dict[str, Any]]:
    """How much the metric drops when one original column is shuffled, most important first.

    The whole pipeline scores the shuffled frame, so the one-hot columns of a shuffled
    input column move together: importance belongs to input columns by construction.
    The shuffles are those of `sklearn.inspection.permutation_importance` with
    `random_state=seed` (tests check the results agree), but all shuffled copies go
    through the pipeline in a few large predict calls instead of one per shuffle.
    """
    import numpy as np
    import pandas as pd

    from mlconf.ml.interpret.contributions import split_model

    scorer, needs_proba = metric_scorer(metric, task, labels)
    features, model = split_model(pipeline)
    y = np.asarray(y)

    def scores(frame: pd.DataFrame, blocks: int) -> np.ndarray:
        inputs = frame if features is None else features.transform(frame)
        proba = model.predict_proba(inputs) if needs_proba else None
        pred = proba.argmax(axis=1) if proba is not None else np.asarray(model.predict(inputs))
        n = len(x)
        return np.asarray(
            [
                scorer(
                    y,
                    pred[b * n : (b + 1) * n],
                    None if proba is None else proba[b * n : (b + 1) * n],
                )
                for b in range(blocks)
            ]
        )

    baseline = float(scores(x, 1)[0])
    # As sklearn: one seed drawn from random_state, then every column reuses it.
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    shuffles = []
    state = np.random.RandomState(column_seed)
    order, current = np.arange(len(x)), np.arange(len(x))
    for _ in range(n_repeats):
        state.shuffle(order)
        current = current[order]  # sklearn shuffles the already shuffled column again
        shuffles.append(current)
    columns = list(x.columns)
    per_column = _columns_per_batch(features, x, n_repeats, max_batch)
    drops: dict[str, np.ndarray] = {}
    frame = x.reset_index(drop=True)
    for start in range(0, len(columns), per_column):
        chunk = columns[start : start + per_column]
        copies = []
        for column in chunk:
            for shuffle in shuffles:
                copy = frame.copy()
                copy[column] = frame[column].iloc[shuffle].to_numpy()
                copies.append(copy)
        values = scores(pd.concat(copies, ignore_index=True), len(copies))
        for k, column in enumerate(chunk):
            drops[column] = baseline - values[k * n_repeats : (k + 1) * n_repeats]
    rows = [
        {"feature": str(c), "mean": float(np.mean(drops[c])), "std": float(np.std(drops[c]))}
        for c in columns
    ]
    return sorted(rows, key=lambda r: -r["mean"] if math.isfinite(r["mean"]) else math.inf)


def _columns_per_batch(features: Any, x: pd.DataFrame, n_repeats: int, max_batch: int) -> int:
    """How many columns' shuffled copies go to the model at once. A batch holds at most
    MAX_VALUES encoded numbers (32 MB of float64): one of 200,000 rows x 300 encoded
    features cost more in fresh memory, paid page by page, than its fewer predict calls
    saved (benchmarks/permutation_importance.py)."""
    encoded = x.head(1) if features is None else features.transform(x.head(1))
    width = max(x.shape[1], encoded.shape[1] if len(getattr(encoded, "shape", ())) == 2 else 1)
    batch_rows = min(max_batch, max(len(x) * n_repeats, MAX_VALUES // width))
    return max(1, batch_rows // max(1, len(x) * n_repeats))


def grid_for(series: pd.Series, resolution: int) -> tuple[list[Any], bool]:
    """Values to evaluate partial dependence at: quantiles (numeric) or the commonest levels."""
    import numpy as np
    import pandas as pd

    from mlconf.components._columns import column_kind

    values = series.dropna()
    if column_kind(series.dtype) == "numeric":
        numbers = values.to_numpy(dtype=float)
        if numbers.size == 0:
            return [], False
        grid = np.unique(np.quantile(numbers, np.linspace(0.05, 0.95, resolution)))
        if pd.api.types.is_integer_dtype(series.dtype):  # numpy int or pandas Int64
            grid = np.unique(np.round(grid)).astype(np.int64)
        return grid.tolist(), False
    return list(values.value_counts().index[:resolution]), True


def partial_dependence(
    pipeline: Any,
    x: pd.DataFrame,
    column: str,
    *,
    task: str,
    resolution: int,
    ice_rows: int,
    seed: int,
) -> dict[str, Any] | None:
    """Average and individual (ICE) curves of the model's output over one column's values.

    The brute-force method of `sklearn.inspection.partial_dependence` (set the column to
    each grid value on every row, predict, average), batched into one predict call
    instead of one per grid value; tests check both agree. Categorical and integer
    columns work, and missing values in the column do not enter the grid.

    Output: the positive-class probability (binary), one curve per class (multiclass),
    or the prediction (regression). None when the column has fewer than two values.
    """
    import numpy as np
    import pandas as pd

    from mlconf.components._columns import column_kind
    from mlconf.ml.interpret.contributions import model_outputs

    if column_kind(x[column].dtype) == "datetime":
        return None
    grid, categorical = grid_for(x[column], resolution)
    if len(grid) < 2:
        return None
    sample = x if len(x) <= ice_rows else x.sample(ice_rows, random_state=seed)
    n, g = len(sample), len(grid)
    stacked = sample.iloc[np.tile(np.arange(n), g)].reset_index(drop=True)
    values = pd.Series(np.repeat(np.asarray(grid, dtype=object), n))
    stacked[column] = values.astype(sample[column].dtype) if not categorical else values
    if isinstance(sample[column].dtype, pd.CategoricalDtype):
        stacked[column] = stacked[column].astype(sample[column].dtype)
    outputs = model_outputs(pipeline, stacked, task)  # (g * n, outputs)
    if task == "classification" and outputs.shape[1] == 2:
        outputs = outputs[:, 1:]
    individual = outputs.reshape(g, n, -1).transpose(2, 1, 0)  # outputs x rows x grid
    return {
        "feature": column,
        "categorical": categorical,
        "grid": [_plain(v) for v in grid],
        "average": individual.mean(axis=1).tolist(),
        "individual": individual,
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
