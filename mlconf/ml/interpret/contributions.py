"""Per-row contributions of the original input columns to a model's output.

Two methods, both additive: for every row, the contributions plus the bias equal the
output being explained (`_output`).

- `tree`: exact TreeSHAP computed by xgboost itself (`pred_contribs=True`) on the
  features the model sees, in margin units (log-odds for binary classification, the
  class margin for multiclass, the prediction for regression).
- `sampled`: Shapley values estimated by sampling feature orders (Strumbelj and
  Kononenko, 2014) against a background sample, for any model, on the original
  columns directly, in probability units (classification) or prediction units.

Mapping rule (tree method): the pipeline may turn one input column into several
features (one-hot levels, date parts) or several columns into one (derived
expressions, interactions). Which input columns each feature depends on is found by
probing: each input column in turn is shuffled over a sample of rows and the features
that change are its features. A feature's contribution goes to the input column it
depends on; a feature computed from k columns gives each 1/k of it. A feature that no
probe changes (constant in the sample) is matched by name (`<set>__<column>...`) or
else reported in the `_other` column, so the sum is always kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.ml.framing import final_estimator

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlconf.store.artifacts import TrainedModel

BIAS = "_bias"
OUTPUT = "_output"
CLASS = "_class"
OTHER = "_other"
PROBE_ROWS = 64
METHODS = ("auto", "tree", "sampled")


def is_xgboost(pipeline: Any) -> bool:
    model = final_estimator(pipeline)
    return hasattr(model, "get_booster")


def split_model(pipeline: Any) -> tuple[Any, Any]:
    """(the steps before the model or None, the model) of a pipeline or a bare model."""
    if hasattr(pipeline, "steps") and len(pipeline.steps) > 1:
        return pipeline[:-1], pipeline[-1]
    if hasattr(pipeline, "steps"):
        return None, pipeline[-1]
    return None, pipeline


def _transform(pipeline: Any, rows: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    step, _ = split_model(pipeline)
    out = rows if step is None else step.transform(rows)
    if not isinstance(out, pd.DataFrame):
        out = pd.DataFrame(out)
    return out


def _changed(before: pd.Series, after: pd.Series, blocks: int) -> np.ndarray:
    """Per block of `after` (`blocks` copies of `before`'s rows, stacked): whether any value
    differs from `before` (two missing values are equal). One comparison per feature for all
    probed columns at once: per (column, feature) pair it cost 2 s at 50 columns."""
    import numpy as np
    import pandas as pd

    a = before.astype(object).to_numpy()
    b = after.astype(object).to_numpy().reshape(blocks, len(a))
    both_missing = pd.isna(a)[None, :] & pd.isna(b)
    return np.asarray(((b != a[None, :]) & ~both_missing).any(axis=1))


def feature_sources(
    pipeline: Any, sample: pd.DataFrame, columns: list[str]
) -> dict[str, list[str]]:
    """For each feature the model sees, the input columns it is computed from (module doc)."""
    import numpy as np
    import pandas as pd

    sample = sample[columns].reset_index(drop=True)
    if len(sample) > PROBE_ROWS:
        sample = sample.sample(PROBE_ROWS, random_state=0).reset_index(drop=True)
    base = _transform(pipeline, sample)
    features = [str(c) for c in base.columns]
    sources: dict[str, list[str]] = {f: [] for f in features}
    n = len(sample)
    if n > 1:
        shift = np.roll(np.arange(n), 1)
        probes = []
        for column in columns:
            probe = sample.copy()
            probe[column] = sample[column].iloc[shift].to_numpy()
            probes.append(probe)
        moved = _transform(pipeline, pd.concat(probes, ignore_index=True))
        for j, feature in enumerate(features):
            changed = _changed(base.iloc[:, j], moved.iloc[:, j], len(columns))
            sources[feature].extend(c for c, hit in zip(columns, changed, strict=True) if hit)
    for feature, found in sources.items():
        if not found:
            sources[feature] = _by_name(feature, columns)
    return sources


def _by_name(feature: str, columns: list[str]) -> list[str]:
    """The longest input column name the feature's name (after `<set>__`) starts with."""
    from mlconf.components.transformers.feature_names import safe_names

    stem = feature.split("__", 1)[-1]
    matches = [
        c
        for c, safe in zip(columns, safe_names(columns), strict=True)
        if stem == safe or stem.startswith(f"{safe}_")
    ]
    return [max(matches, key=len)] if matches else []


def weight_matrix(
    features: list[str], sources: dict[str, list[str]], columns: list[str]
) -> tuple[np.ndarray, list[str]]:
    """(features x output columns) weights; each row sums to 1 so totals are kept."""
    import numpy as np

    unmapped = any(not sources.get(f) for f in features)
    out = [*columns, OTHER] if unmapped else list(columns)
    position = {c: i for i, c in enumerate(out)}
    weights = np.zeros((len(features), len(out)))
    for i, feature in enumerate(features):
        found = sources.get(feature) or [OTHER]
        for column in found:
            weights[i, position[column]] += 1.0 / len(found)
    return weights, out


def tree_contributions(
    pipeline: Any, rows: pd.DataFrame, sources: dict[str, list[str]], columns: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Exact TreeSHAP by xgboost, summed per input column.

    Returns contributions (rows x [classes x] columns), bias (rows [x classes]) and the
    output column names (the input columns, plus `_other` if some feature is unmapped).
    """
    import numpy as np
    import xgboost as xgb

    model = final_estimator(pipeline)
    x = _transform(pipeline, rows[columns])
    matrix = xgb.DMatrix(x, missing=getattr(model, "missing", np.nan), enable_categorical=True)
    raw = model.get_booster().predict(
        matrix, pred_contribs=True, iteration_range=_iteration_range(model)
    )
    weights, out = weight_matrix([str(c) for c in x.columns], sources, columns)
    contributions = raw[..., :-1] @ weights
    return contributions, raw[..., -1], out


def _iteration_range(model: Any) -> tuple[int, int]:
    """The trees `predict` uses: up to the best iteration when early stopping chose one."""
    try:
        best = model.best_iteration
    except AttributeError:
        return (0, 0)
    return (0, int(best) + 1) if best is not None else (0, 0)


def model_outputs(pipeline: Any, frame: pd.DataFrame, task: str) -> np.ndarray:
    """What the sampled method explains: class probabilities, or the prediction (rows x 1)."""
    import numpy as np

    if task == "classification":
        if not hasattr(pipeline, "predict_proba"):
            raise MlconfError(
                "the model gives no class probabilities, which sampled contributions explain",
                fix="use a model with predict_proba (e.g. logistic, random_forest, xgboost)",
            )
        return np.asarray(pipeline.predict_proba(frame), dtype=float)
    return np.asarray(pipeline.predict(frame), dtype=float).reshape(-1, 1)


def sampled_contributions(
    pipeline: Any,
    rows: pd.DataFrame,
    background: pd.DataFrame,
    columns: list[str],
    task: str,
    *,
    samples: int = 32,
    seed: int = 0,
    max_batch: int = 200_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Shapley values by sampling feature orders, for any model (module doc).

    Each sample takes a random order of the columns and one background row, then
    switches the columns from the background row's values to the explained row's
    values in that order; a column's contribution is the change of the output when it
    is switched. Orders come in antithetic pairs (an order and its reverse), and every
    row uses the same background rows, so the bias (the mean output over them) is the
    same for all rows. Contributions plus bias equal the row's output exactly.

    Returns contributions (rows x outputs x columns) and bias (outputs,).
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    pairs = max(1, samples // 2)
    n_samples = 2 * pairs
    background = background[columns].reset_index(drop=True)
    if len(background) == 0:
        raise MlconfError("sampled contributions need at least one background row")
    picks = rng.choice(len(background), size=pairs, replace=len(background) < pairs)
    back_idx = np.repeat(picks, 2)  # each order and its reverse use one background row
    bias = model_outputs(pipeline, background.iloc[picks], task).mean(axis=0)
    rows = rows[columns].reset_index(drop=True)
    d = len(columns)
    n_outputs = len(bias)
    contributions = np.zeros((len(rows), n_outputs, d))
    per_row = n_samples * (d + 1)
    chunk = max(1, max_batch // per_row)
    combined = {c: pd.concat([rows[c], background[c]], ignore_index=True) for c in columns}
    for start in range(0, len(rows), chunk):
        stop = min(start + chunk, len(rows))
        m = stop - start
        orders = np.argsort(rng.random((m, pairs, d)), axis=2)
        orders = np.stack([orders, orders[..., ::-1]], axis=2).reshape(m, n_samples, d)
        rank = np.argsort(orders, axis=2)  # rank[i, s, j]: when column j is switched
        steps = np.arange(d + 1)
        # take[i, s, t, j]: at step t column j already holds the explained row's value
        take = rank[:, :, None, :] < steps[None, None, :, None]
        take = take.reshape(-1, d)
        row_idx = np.repeat(np.arange(start, stop), n_samples * (d + 1))
        bg_idx = len(rows) + np.tile(np.repeat(back_idx, d + 1), m)
        hybrid = pd.DataFrame(
            {
                c: combined[c].iloc[np.where(take[:, j], row_idx, bg_idx)].to_numpy()
                for j, c in enumerate(columns)
            }
        )
        for c in columns:
            if isinstance(combined[c].dtype, pd.CategoricalDtype):
                hybrid[c] = hybrid[c].astype(combined[c].dtype)
        out = model_outputs(pipeline, hybrid, task).reshape(m, n_samples, d + 1, n_outputs)
        delta = np.diff(out, axis=2)  # (m, samples, d, outputs): step t -> t+1 switches order[t]
        gained = np.zeros((m, n_samples, d, n_outputs))
        np.put_along_axis(gained, orders[..., None], delta, axis=2)
        contributions[start:stop] = gained.mean(axis=1).transpose(0, 2, 1)
    return contributions, bias


def explain_rows(
    pipeline: Any,
    rows: pd.DataFrame,
    *,
    task: str,
    columns: list[str],
    classes: list[Any],
    background: pd.DataFrame | None = None,
    sources: dict[str, list[str]] | None = None,
    method: str = "auto",
    explained_class: Any = None,
    samples: int = 32,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-row contributions per input column, with `_bias` and `_output` (and `_class`).

    Classification: a binary model is explained for its positive class (the last of
    `classes`), a multiclass model for each row's predicted class unless
    `explained_class` names one.
    """
    import numpy as np
    import pandas as pd

    if method not in METHODS:
        raise MlconfError(f"unknown method '{method}'", fix=f"use one of: {', '.join(METHODS)}")
    if method == "auto":
        method = "tree" if is_xgboost(pipeline) else "sampled"
    if method == "tree" and not is_xgboost(pipeline):
        raise MlconfError(
            "exact tree contributions need an xgboost model",
            fix="use method='sampled' (any model) or train with model=xgboost",
        )
    rows = rows[columns]
    reference = background if background is not None and len(background) else rows
    n = len(rows)
    class_idx = _class_index(pipeline, rows, task, classes, explained_class)
    if method == "tree":
        sources = sources or feature_sources(pipeline, reference, columns)
        contrib, bias, names = tree_contributions(pipeline, rows, sources, columns)
        if contrib.ndim == 3:  # multiclass: rows x classes x columns
            contrib = contrib[np.arange(n), class_idx]
            bias = bias[np.arange(n), class_idx]
        units = "margin"
    else:
        values, mean = sampled_contributions(
            pipeline, rows, reference, columns, task, samples=samples, seed=seed
        )
        out_idx = class_idx if task == "classification" else np.zeros(n, dtype=int)
        contrib = values[np.arange(n), out_idx]
        bias = mean[out_idx]
        names = list(columns)
        units = "probability" if task == "classification" else "prediction"
    frame = pd.DataFrame(contrib, columns=names, index=rows.index)
    frame[BIAS] = bias
    frame[OUTPUT] = frame[names].sum(axis=1) + frame[BIAS]
    if task == "classification":
        frame[CLASS] = np.asarray(classes, dtype=object)[class_idx] if classes else class_idx
    frame.attrs.update({"method": method, "units": units})
    return frame


def _class_index(
    pipeline: Any, rows: pd.DataFrame, task: str, classes: list[Any], explained_class: Any
) -> np.ndarray:
    import numpy as np

    n = len(rows)
    if task != "classification":
        return np.zeros(n, dtype=int)
    if explained_class is not None:
        names = [str(c) for c in classes]
        if str(explained_class) not in names:
            raise MlconfError(
                f"class '{explained_class}' is not one of the model's classes {classes}",
                fix="pass one of those classes, or None for the predicted class",
            )
        return np.full(n, names.index(str(explained_class)), dtype=int)
    if len(classes) <= 2:
        return np.full(n, max(len(classes) - 1, 0), dtype=int)
    return np.asarray(pipeline.predict(rows), dtype=int)


def explain_model(
    model: TrainedModel,
    rows: pd.DataFrame,
    *,
    method: str = "auto",
    explained_class: Any = None,
    samples: int = 32,
    seed: int = 0,
) -> pd.DataFrame:
    """Contributions for a loaded model: `mlconf.explain` and serving's /explain."""

    checked = model._check_columns(rows)
    saved = model.manifest.get("explain") or {}
    return explain_rows(
        model.pipeline,
        checked,
        task=model.task,
        columns=list(model.input_columns),
        classes=list(model.classes),
        background=model.background,
        sources=saved.get("feature_sources"),
        method=method,
        explained_class=explained_class,
        samples=samples,
        seed=seed,
    )
